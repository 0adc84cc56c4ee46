// Package clock gives firedrill an injectable notion of time, so that schedules, timeouts,
// housekeeping loops and measurements can be driven by a fake clock in tests (the shape of
// Tailscale's tstime.Clock). Only cmd and tests choose the clock; everything else receives one.
package clock

import "time"

// Clock is the time source every component uses instead of the time package.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
	// NewTicker returns a ticker that fires every d, as time.NewTicker: a receiver that falls
	// behind misses ticks rather than queueing them. d must be positive.
	NewTicker(d time.Duration) Ticker
	// AfterFunc calls f once after d, as time.AfterFunc. The returned Timer's C is nil; its
	// Stop prevents the call if it has not happened yet.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a one-shot timer from a Clock.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// Ticker delivers ticks at a fixed period until stopped.
type Ticker interface {
	C() <-chan time.Time
	// Stop turns the ticker off. It does not close C.
	Stop()
	// Reset stops the ticker and restarts it with period d, the next tick d from now. d must
	// be positive.
	Reset(d time.Duration)
}

// Real is the wall clock. Its readings keep the monotonic component, so durations
// computed with Sub are immune to wall-clock steps.
type Real struct{}

// Now returns the current time.
func (Real) Now() time.Time { return time.Now() }

// NewTimer returns a real timer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// NewTicker returns a real ticker.
func (Real) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

// AfterFunc calls f in its own goroutine after d.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time   { return r.t.C }
func (r realTicker) Stop()                 { r.t.Stop() }
func (r realTicker) Reset(d time.Duration) { r.t.Reset(d) }
