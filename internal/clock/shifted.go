package clock

import (
	"sync/atomic"
	"time"
)

// Shifted is the wall clock moved by an offset: firedrill serve --demo records a year of
// drills that really run now (real HTTP, real checks, real durations) at the dates they
// stand for. Its readings keep the monotonic component, so durations measured on it are the
// real ones; timers and tickers are the wall clock's. Move the offset only between pieces of
// work, and only forward if the records must stay in order.
type Shifted struct {
	offset atomic.Int64 // nanoseconds
}

// NewShifted returns a clock reading offset from the wall clock (negative: in the past).
func NewShifted(offset time.Duration) *Shifted {
	s := &Shifted{}
	s.offset.Store(int64(offset))
	return s
}

// SetOffset moves the clock to read offset from the wall clock.
func (s *Shifted) SetOffset(offset time.Duration) { s.offset.Store(int64(offset)) }

// MoveTo sets the offset so that the clock reads t now.
func (s *Shifted) MoveTo(t time.Time) { s.SetOffset(time.Until(t)) }

// Offset is how far the clock reads from the wall clock.
func (s *Shifted) Offset() time.Duration { return time.Duration(s.offset.Load()) }

// Now returns the wall clock's time moved by the offset.
func (s *Shifted) Now() time.Time { return time.Now().Add(s.Offset()) }

// NewTimer returns a real timer: a duration is the same on the shifted clock.
func (s *Shifted) NewTimer(d time.Duration) Timer { return Real{}.NewTimer(d) }

// NewTicker returns a real ticker.
func (s *Shifted) NewTicker(d time.Duration) Ticker { return Real{}.NewTicker(d) }

// AfterFunc calls f in its own goroutine after d.
func (s *Shifted) AfterFunc(d time.Duration, f func()) Timer { return Real{}.AfterFunc(d, f) }
