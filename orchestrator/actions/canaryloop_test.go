package actions_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// scriptedWriter acknowledges every marker at the fake clock's time, except that the writes
// listed in fail fail once; it reports each Write's seq on calls.
type scriptedWriter struct {
	clk      *clocktest.Clock
	firstErr error
	fail     map[int64]bool
	calls    chan int64
	closed   atomic.Int32
}

func (w *scriptedWriter) WriteFirst(context.Context) (actions.CanaryMark, error) {
	if w.firstErr != nil {
		return actions.CanaryMark{}, w.firstErr
	}
	return actions.CanaryMark{Seq: 1, At: w.clk.Now()}, nil
}

func (w *scriptedWriter) Write(_ context.Context, seq int64) (actions.CanaryMark, error) {
	defer func() { w.calls <- seq }()
	if w.fail[seq] {
		delete(w.fail, seq)
		return actions.CanaryMark{}, errors.New("primary down")
	}
	return actions.CanaryMark{Seq: seq, At: w.clk.Now()}, nil
}

func (w *scriptedWriter) Close() { w.closed.Add(1) }

// tick advances the clock once the loop armed its timer, and returns the seq it wrote.
func tick(t *testing.T, clk *clocktest.Clock, w *scriptedWriter, interval time.Duration) int64 {
	t.Helper()
	for clk.Pending() == 0 {
		<-time.After(time.Millisecond)
	}
	clk.Advance(interval)
	return <-w.calls
}

// TestCanaryLoopWritesInSequenceAndRetriesAFailedMarker: a failed write is counted and the
// same seq is written at the next tick, so the acknowledged markers stay 1..last; Stop ends
// the loop and releases the writer once; the stats are what was written.
func TestCanaryLoopWritesInSequenceAndRetriesAFailedMarker(t *testing.T) {
	t.Parallel()
	const interval = 100 * time.Millisecond
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	w := &scriptedWriter{clk: clk, fail: map[int64]bool{2: true}, calls: make(chan int64)}
	l, err := actions.NewCanaryLoop(actions.CanaryLoopConfig{Label: "canary of service auth", Interval: interval, Clock: clk}, w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Stopped(); err == nil {
		t.Error("Stopped before Stop gave no error")
	}
	if err := l.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(t.Context()); err == nil {
		t.Error("a second Start gave no error")
	}
	var seqs []int64
	for range 3 {
		seqs = append(seqs, tick(t, clk, w, interval))
	}
	if want := []int64{2, 2, 3}; len(seqs) != 3 || seqs[0] != want[0] || seqs[1] != want[1] || seqs[2] != want[2] {
		t.Errorf("writes = %v, want %v: a failed marker is written again", seqs, want)
	}
	last, err := l.Stop()
	if err != nil || last.Seq != 3 {
		t.Fatalf("Stop = %v, %v; want seq 3", last, err)
	}
	if again, err := l.Stop(); err != nil || again != last {
		t.Errorf("second Stop = %v, %v; want %v", again, err, last)
	}
	if n := w.closed.Load(); n != 1 {
		t.Errorf("writer closed %d times, want once", n)
	}
	stats, err := l.Stopped()
	if err != nil {
		t.Fatal(err)
	}
	if stats.First.Seq != 1 || stats.Last.Seq != 3 || stats.Writes != 3 || stats.WriteErrors != 1 || stats.LastError != "primary down" {
		t.Errorf("stats = %+v, want seq 1..3, 3 writes, 1 error (primary down)", stats)
	}
	if l.WriteErrors() != 1 {
		t.Errorf("WriteErrors = %d, want 1", l.WriteErrors())
	}
}

// TestCanaryLoopThatCannotStart: a failed first write fails Start, releases the writer, and
// every later call says the canary never started.
func TestCanaryLoopThatCannotStart(t *testing.T) {
	t.Parallel()
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	down := errors.New("connection refused")
	w := &scriptedWriter{clk: clk, firstErr: down, calls: make(chan int64)}
	l, err := actions.NewCanaryLoop(actions.CanaryLoopConfig{Label: "canary of service auth", Interval: time.Second, Clock: clk}, w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Stop(); err == nil {
		t.Error("Stop before Start gave no error")
	}
	if err := l.Start(t.Context()); !errors.Is(err, down) {
		t.Fatalf("Start = %v, want the first write's error", err)
	}
	if n := w.closed.Load(); n != 1 {
		t.Errorf("writer closed %d times after the failed start, want once", n)
	}
	if _, err := l.Stop(); !errors.Is(err, down) {
		t.Errorf("Stop = %v, want never started: %v", err, down)
	}
	if _, err := l.Stopped(); !errors.Is(err, down) {
		t.Errorf("Stopped = %v, want never started: %v", err, down)
	}
	if _, last := l.Progress(); last.Seq != 0 {
		t.Errorf("progress of a canary that never started = %v, want seq 0", last)
	}
}

func TestNewCanaryLoopValidates(t *testing.T) {
	t.Parallel()
	w := &scriptedWriter{}
	for _, tc := range []struct {
		name string
		cfg  actions.CanaryLoopConfig
		w    actions.CanaryWriter
	}{
		{"no label", actions.CanaryLoopConfig{Interval: time.Second}, w},
		{"zero interval", actions.CanaryLoopConfig{Label: "c"}, w},
		{"no writer", actions.CanaryLoopConfig{Label: "c", Interval: time.Second}, nil},
	} {
		if _, err := actions.NewCanaryLoop(tc.cfg, tc.w); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
