package pause_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/pause"
)

func request(d time.Duration, clk clock.Clock) *actions.Request {
	step := &drills.Step{Name: "let-dns-expire", Action: drills.ActionWait, Params: map[string]any{"duration": d}}
	return &actions.Request{RunID: "run", Plan: &drills.Plan{}, Instance: drills.StepInstance{Step: step, Key: step.Name}, Clock: clk}
}

// manualClock's timers fire only when the test says so; Now stands still until advanced.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers chan *manualTimer
}

type manualTimer struct {
	d       time.Duration
	c       chan time.Time
	stopped chan struct{}
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *manualClock) NewTimer(d time.Duration) clock.Timer {
	t := &manualTimer{d: d, c: make(chan time.Time, 1), stopped: make(chan struct{}, 1)}
	c.timers <- t
	return t
}

// The wait action uses one timer; tickers and AfterFuncs are not part of its contract.
func (c *manualClock) NewTicker(time.Duration) clock.Ticker { panic("pause: unexpected NewTicker") }
func (c *manualClock) AfterFunc(time.Duration, func()) clock.Timer {
	panic("pause: unexpected AfterFunc")
}

func (c *manualClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

func (t *manualTimer) C() <-chan time.Time { return t.c }
func (t *manualTimer) Stop() bool          { t.stopped <- struct{}{}; return true }

func TestSpecMatchesThePlanLanguage(t *testing.T) {
	t.Parallel()
	for _, a := range pause.Actions() {
		want, ok := drills.LookupAction(a.Spec().Name)
		if !ok || !reflect.DeepEqual(a.Spec(), want) {
			t.Errorf("Spec() = %+v, want %+v", a.Spec(), want)
		}
	}
}

func TestWaitCompletes(t *testing.T) {
	t.Parallel()
	res, err := pause.Actions()[0].Run(context.Background(), request(20*time.Millisecond, clock.Real{}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Evidence["requested_ms"] != int64(20) {
		t.Errorf("requested_ms = %v, want 20", res.Evidence["requested_ms"])
	}
	if waited, _ := res.Evidence["waited_ms"].(int64); waited < 20 {
		t.Errorf("waited_ms = %v, want at least 20", res.Evidence["waited_ms"])
	}
}

func TestWaitUsesTheInjectedClock(t *testing.T) {
	t.Parallel()
	clk := &manualClock{now: time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC), timers: make(chan *manualTimer, 1)}
	done := make(chan error, 1)
	var res *actions.Result
	go func() {
		var err error
		res, err = pause.Actions()[0].Run(context.Background(), request(10*time.Minute, clk))
		done <- err
	}()
	timer := <-clk.timers
	if timer.d != 10*time.Minute {
		t.Errorf("timer for %s, want 10m", timer.d)
	}
	timer.c <- clk.advance(10 * time.Minute)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Evidence["waited_ms"] != (10 * time.Minute).Milliseconds() {
		t.Errorf("waited_ms = %v, want %d", res.Evidence["waited_ms"], (10 * time.Minute).Milliseconds())
	}
}

func TestWaitHonoursCancellation(t *testing.T) {
	t.Parallel()
	clk := &manualClock{now: time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC), timers: make(chan *manualTimer, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var res *actions.Result
	go func() {
		var err error
		res, err = pause.Actions()[0].Run(ctx, request(time.Hour, clk))
		done <- err
	}()
	timer := <-clk.timers
	clk.advance(90 * time.Second)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run error = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context was canceled")
	}
	<-timer.stopped
	if res.Evidence["waited_ms"] != int64(90_000) || res.Evidence["requested_ms"] != int64(3_600_000) {
		t.Errorf("evidence = %v; want requested 1h, waited 90s", res.Evidence)
	}
}
