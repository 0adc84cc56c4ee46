package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/firedrill/firedrill/internal/clock"
)

// CanaryWriter is what one kind of canary does with its markers; the life cycle around it
// (pacing, sequence numbers, start, stop, the counts a measurement reports) is CanaryLoop's.
type CanaryWriter interface {
	// WriteFirst prepares what the canary needs (a table, a connection) and writes marker 1.
	WriteFirst(ctx context.Context) (CanaryMark, error)
	// Write writes marker seq and returns it as the primary acknowledged it. It bounds its
	// own call; ctx is cancelled by Stop.
	Write(ctx context.Context, seq int64) (CanaryMark, error)
	// Close releases what WriteFirst and Write held, once no write follows: after a failed
	// start, or when the loop ends.
	Close()
}

// CanaryLoopConfig configures a CanaryLoop.
type CanaryLoopConfig struct {
	// Label names the canary in errors: "canary of service payments". Required.
	Label string
	// Interval is the time between two writes. Required, positive.
	Interval time.Duration
	// Clock paces the writes. Defaults to the real clock.
	Clock clock.Clock
	// Logger is told when writes start failing and when they resume. Defaults to discarding.
	Logger *slog.Logger
}

// CanaryLoop writes a canary's markers, 1, 2, 3, ... one per interval from Start to Stop. A
// sequence number advances only once its marker is acknowledged, so the acknowledged markers
// are exactly 1..last.Seq. A failed write is counted and the same number is written again at
// the next tick.
type CanaryLoop struct {
	cfg CanaryLoopConfig
	w   CanaryWriter

	mu          sync.Mutex
	started     bool
	stopped     bool
	startErr    error
	first, last CanaryMark
	writes      int64
	writeErrors int64
	lastErr     string
	cancel      context.CancelFunc
	done        chan struct{}
}

// NewCanaryLoop returns the loop that writes w's markers.
func NewCanaryLoop(cfg CanaryLoopConfig, w CanaryWriter) (*CanaryLoop, error) {
	switch {
	case cfg.Label == "":
		return nil, errors.New("canary loop: Label is required")
	case cfg.Interval <= 0:
		return nil, fmt.Errorf("%s: interval must be positive, got %s", cfg.Label, cfg.Interval)
	case w == nil:
		return nil, fmt.Errorf("%s: no writer given", cfg.Label)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &CanaryLoop{cfg: cfg, w: w}, nil
}

// CanaryStats is what a stopped loop wrote: what a measurement reports beside its figure.
type CanaryStats struct {
	First, Last CanaryMark
	// Writes counts the acknowledged markers, WriteErrors the failed attempts; LastError is
	// the last failure's message ("" when none failed).
	Writes, WriteErrors int64
	LastError           string
}

// Start writes marker 1 (WriteFirst) and then one marker per interval until Stop. ctx bounds
// the first write only.
func (l *CanaryLoop) Start(ctx context.Context) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return fmt.Errorf("%s: already started", l.cfg.Label)
	}
	l.started = true
	l.mu.Unlock()
	first, err := l.w.WriteFirst(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && l.stopped {
		err = fmt.Errorf("%s: stopped while starting", l.cfg.Label)
	}
	if err != nil {
		l.w.Close()
		l.startErr = err
		return err
	}
	l.first, l.last, l.writes = first, first, 1
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel, l.done = cancel, make(chan struct{})
	go l.loop(loopCtx)
	return nil
}

func (l *CanaryLoop) loop(ctx context.Context) {
	defer close(l.done)
	defer l.w.Close()
	clk := l.cfg.Clock
	next := clk.Now()
	failing := false
	for {
		next = next.Add(l.cfg.Interval)
		if now := clk.Now(); next.Before(now) {
			next = now // behind: write at once, skip the missed ticks
		}
		timer := clk.NewTimer(next.Sub(clk.Now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C():
		}
		l.mu.Lock()
		seq := l.last.Seq + 1
		l.mu.Unlock()
		mark, err := l.w.Write(ctx, seq)
		if ctx.Err() != nil {
			return // Stop interrupted the write: it is not acknowledged and not an error
		}
		l.mu.Lock()
		if err != nil {
			l.writeErrors++
			l.lastErr = err.Error()
		} else {
			l.writes++
			l.last = mark
		}
		l.mu.Unlock()
		switch {
		case err != nil && !failing:
			l.cfg.Logger.Warn("canary write failed", "err", err)
		case err == nil && failing:
			l.cfg.Logger.Info("canary writes resumed")
		}
		failing = err != nil
	}
}

// Progress returns the first and last acknowledged markers (Seq 0 before Start).
func (l *CanaryLoop) Progress() (first, last CanaryMark) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first, l.last
}

// WriteErrors returns how many writes failed since Start.
func (l *CanaryLoop) WriteErrors() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writeErrors
}

// Stop ends the writing, waits for it and returns the last acknowledged marker. It may be
// called more than once.
func (l *CanaryLoop) Stop() (CanaryMark, error) {
	l.mu.Lock()
	switch {
	case !l.started:
		l.mu.Unlock()
		return CanaryMark{}, fmt.Errorf("%s: stopped before it was started", l.cfg.Label)
	case l.startErr != nil:
		l.stopped = true
		err := l.startErr
		l.mu.Unlock()
		return CanaryMark{}, fmt.Errorf("%s never started: %w", l.cfg.Label, err)
	}
	l.stopped = true
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	_, last := l.Progress()
	return last, nil
}

// Stopped returns what the loop wrote, once it was stopped after a successful start: what a
// Measure reports. Before Stop, or when Start failed, it says so as an error.
func (l *CanaryLoop) Stopped() (CanaryStats, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case !l.stopped:
		return CanaryStats{}, fmt.Errorf("%s: measure before stop", l.cfg.Label)
	case l.startErr != nil:
		return CanaryStats{}, fmt.Errorf("%s never started: %w", l.cfg.Label, l.startErr)
	}
	return CanaryStats{First: l.first, Last: l.last, Writes: l.writes, WriteErrors: l.writeErrors, LastError: l.lastErr}, nil
}
