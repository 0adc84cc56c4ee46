package httpaction

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Prober runs plan probes over HTTP.
type Prober struct{ cfg Config }

// NewProber returns a Prober; cfg's zero fields take the same defaults as Actions.
func NewProber(cfg Config) *Prober {
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	return &Prober{cfg: cfg}
}

// StartProbe implements actions.Prober.
func (p *Prober) StartProbe(ctx context.Context, pr *drills.Probe, site *drills.Site, clk clock.Clock) (actions.RunningProbe, error) {
	url := pr.URL
	if site != nil {
		url = ExpandURL(url, site)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rp := &runningProbe{p: p, pr: pr, url: url, clk: clk, cancel: cancel, done: make(chan struct{})}
	rp.sum = actions.ProbeSummary{Name: pr.Name, URL: url, Interval: pr.Interval}
	go rp.loop(ctx)
	return rp, nil
}

type runningProbe struct {
	p      *Prober
	pr     *drills.Probe
	url    string
	clk    clock.Clock
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu        sync.Mutex
	sum       actions.ProbeSummary
	downSince time.Time
}

func (r *runningProbe) loop(ctx context.Context) {
	defer close(r.done)
	for {
		err := r.poll(ctx)
		if ctx.Err() != nil {
			return
		}
		r.record(r.clk.Now(), err)
		t := r.clk.NewTimer(r.pr.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

func (r *runningProbe) poll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.p.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "firedrill-probe")
	resp, err := r.p.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyBytes))
	resp.Body.Close()
	if resp.StatusCode != r.pr.ExpectStatus {
		return fmt.Errorf("status %d, want %d", resp.StatusCode, r.pr.ExpectStatus)
	}
	return nil
}

func (r *runningProbe) record(at time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.Polls++
	if err == nil {
		if !r.downSince.IsZero() {
			r.sum.LongestOutage = max(r.sum.LongestOutage, at.Sub(r.downSince))
			r.downSince = time.Time{}
		}
		return
	}
	r.sum.Failures++
	r.sum.LastError = err.Error()
	if r.sum.FirstFailure.IsZero() {
		r.sum.FirstFailure = at
	}
	r.sum.LastFailure = at
	if r.downSince.IsZero() {
		r.downSince = at
	}
	r.sum.LongestOutage = max(r.sum.LongestOutage, at.Sub(r.downSince))
}

// Stop implements actions.RunningProbe.
func (r *runningProbe) Stop() actions.ProbeSummary {
	r.once.Do(func() {
		r.cancel()
		<-r.done
		// One last look, so the summary ends with the state the drill left users in rather
		// than with whatever the last tick happened to see.
		err := r.poll(context.Background())
		r.record(r.clk.Now(), err)
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sum
}
