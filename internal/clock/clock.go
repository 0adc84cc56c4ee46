// Package clock gives firedrill an injectable notion of time, so that schedules, timeouts and
// measurements can be driven by a fake clock in tests. Only cmd and tests choose the clock;
// everything else receives one.
package clock

import "time"

// Clock is the time source every component uses instead of the time package.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer from a Clock.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// Real is the wall clock. Its readings keep the monotonic component, so durations
// computed with Sub are immune to wall-clock steps.
type Real struct{}

// Now returns the current time.
func (Real) Now() time.Time { return time.Now() }

// NewTimer returns a real timer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }
