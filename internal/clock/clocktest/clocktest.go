// Package clocktest is a fake clock.Clock for tests: time moves only when the test says so,
// and timers, tickers and AfterFuncs fire when it passes their deadline, in deadline order.
// Only tests import it.
//
// Advance and Set are deterministic: when they return, every timer that came due has its
// value in its channel, every AfterFunc that came due has been called (synchronously, in
// Advance's goroutine), and every ticker that came due has one tick on its way to its receiver
// (a receiver sees at most one tick per Advance, as a slow receiver of a time.Ticker would).
// TicksDelivered tells when those ticks have been received.
package clocktest

import (
	"sync"
	"time"

	"github.com/firedrill/firedrill/internal/clock"
)

// Clock is a manually driven clock. The zero value is not usable; use New.
type Clock struct {
	mu  sync.Mutex
	now time.Time
	// events are the armed timers, AfterFuncs and tickers; seq orders those due at once.
	events []*event
	seq    uint64
	// armed are woken whenever a timer or ticker is armed, so a test can wait for a component
	// to arm its next timer before advancing.
	armed []chan struct{}
	// inFlight counts ticks that came due and are not yet received; delivered are woken when
	// it drops to zero.
	inFlight  int
	delivered []chan struct{}
}

var _ clock.Clock = (*Clock)(nil)

// New returns a clock reading start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// event is one armed deadline: a timer's (timer set) or a ticker's next tick (ticker set).
type event struct {
	at     time.Time
	seq    uint64
	timer  *timer
	ticker *ticker
}

// Now implements clock.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer implements clock.Clock. A timer with d <= 0 has fired when NewTimer returns.
func (c *Clock) NewTimer(d time.Duration) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{c: c, ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	t.ev = c.armLocked(&event{at: c.now.Add(d), timer: t})
	return t
}

// AfterFunc implements clock.Clock: f is called from the Advance or Set that passes now+d.
// With d <= 0, f is called at once in its own goroutine, as time.AfterFunc does.
func (c *Clock) AfterFunc(d time.Duration, f func()) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{c: c, fn: f}
	if d <= 0 {
		go f()
		return t
	}
	t.ev = c.armLocked(&event{at: c.now.Add(d), timer: t})
	return t
}

// NewTicker implements clock.Clock. It panics if d <= 0, as time.NewTicker does.
func (c *Clock) NewTicker(d time.Duration) clock.Ticker {
	if d <= 0 {
		panic("clocktest: non-positive interval for NewTicker")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tk := &ticker{c: c, period: d, ch: make(chan time.Time), stop: make(chan struct{})}
	tk.ev = c.armLocked(&event{at: c.now.Add(d), ticker: tk})
	return tk
}

// armLocked adds e to the armed events and wakes TimerArmed's waiters.
func (c *Clock) armLocked(e *event) *event {
	c.seq++
	e.seq = c.seq
	c.events = append(c.events, e)
	for _, w := range c.armed {
		close(w)
	}
	c.armed = nil
	return e
}

// removeLocked disarms e.
func (c *Clock) removeLocked(e *event) {
	for i, x := range c.events {
		if x == e {
			c.events = append(c.events[:i], c.events[i+1:]...)
			return
		}
	}
}

// nextDueLocked returns the earliest armed event due at or before t, or nil.
func (c *Clock) nextDueLocked(t time.Time) *event {
	var next *event
	for _, e := range c.events {
		if e.at.After(t) {
			continue
		}
		if next == nil || e.at.Before(next.at) || (e.at.Equal(next.at) && e.seq < next.seq) {
			next = e
		}
	}
	return next
}

// Advance moves the clock forward by d, firing everything that comes due, in order.
func (c *Clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Set moves the clock to t (which may be in the past: a clock step), then fires what is due
// at t, earliest deadline first: Now reads t throughout.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	for {
		e := c.nextDueLocked(t)
		if e == nil {
			break
		}
		if tk := e.ticker; tk != nil {
			tk.tickLocked(e.at)
			// The ticks between this one and t are missed, as by a receiver that lags.
			e.at = e.at.Add((t.Sub(e.at)/tk.period + 1) * tk.period)
			continue
		}
		tm := e.timer
		c.removeLocked(e)
		tm.ev = nil
		if tm.fn == nil {
			tm.ch <- e.at
			continue
		}
		// f may use the clock: call it unlocked.
		c.mu.Unlock()
		tm.fn()
		c.mu.Lock()
	}
	c.mu.Unlock()
}

// Pending returns how many timers and AfterFuncs are armed and not yet fired (tickers are
// not counted).
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, e := range c.events {
		if e.timer != nil {
			n++
		}
	}
	return n
}

// TimerArmed returns a channel closed the next time any timer, AfterFunc or ticker is
// created, or a ticker is reset.
func (c *Clock) TimerArmed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	c.armed = append(c.armed, ch)
	return ch
}

// TicksDelivered returns a channel closed once every tick that has come due has been received
// (or dropped by stopping its ticker); already closed when none is in flight. A loop that
// handles one tick at a time has finished with tick N once it has received tick N+1, so a test
// knows a pass is over by advancing one more period and waiting here.
func (c *Clock) TicksDelivered() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	if c.inFlight == 0 {
		close(ch)
		return ch
	}
	c.delivered = append(c.delivered, ch)
	return ch
}

// tickDoneLocked records that a tick in flight was received or dropped.
func (c *Clock) tickDoneLocked() {
	c.inFlight--
	if c.inFlight > 0 {
		return
	}
	for _, w := range c.delivered {
		close(w)
	}
	c.delivered = nil
}

// timer is a fake one-shot timer: a channel timer (ch set) or an AfterFunc (fn set).
type timer struct {
	c  *Clock
	ev *event // nil once fired or stopped
	ch chan time.Time
	fn func()
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.ev == nil {
		return false
	}
	t.c.removeLocked(t.ev)
	t.ev = nil
	return true
}

// ticker is a fake ticker. Its channel is unbuffered: a goroutine hands each tick over, so the
// clock knows when it was received (TicksDelivered), and Stop withdraws a tick not yet taken
// (one that a receiver is taking at that very moment may still arrive, as from the buffer of
// a time.Ticker before Go 1.23).
type ticker struct {
	c      *Clock
	ev     *event // nil when stopped
	period time.Duration
	ch     chan time.Time
	// stop is closed to withdraw the tick being handed over (inFlight set).
	stop     chan struct{}
	inFlight bool
}

func (tk *ticker) C() <-chan time.Time { return tk.ch }

func (tk *ticker) Stop() {
	tk.c.mu.Lock()
	defer tk.c.mu.Unlock()
	tk.stopLocked()
}

func (tk *ticker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clocktest: non-positive interval for Ticker.Reset")
	}
	tk.c.mu.Lock()
	defer tk.c.mu.Unlock()
	tk.stopLocked()
	tk.period = d
	tk.ev = tk.c.armLocked(&event{at: tk.c.now.Add(d), ticker: tk})
}

func (tk *ticker) stopLocked() {
	if tk.ev != nil {
		tk.c.removeLocked(tk.ev)
		tk.ev = nil
	}
	if tk.inFlight {
		close(tk.stop)
		tk.stop = make(chan struct{})
		tk.inFlight = false
		tk.c.tickDoneLocked()
	}
}

// tickLocked sends the tick at to the receiver, unless the previous one is still on its way
// (then this one is missed).
func (tk *ticker) tickLocked(at time.Time) {
	if tk.inFlight {
		return
	}
	tk.inFlight = true
	tk.c.inFlight++
	stop := tk.stop
	go func() {
		// A tick withdrawn before this goroutine ran must not reach a receiver waiting by then.
		select {
		case <-stop:
			return
		default:
		}
		select {
		case tk.ch <- at:
		case <-stop:
			return // stopLocked accounted for it
		}
		tk.c.mu.Lock()
		defer tk.c.mu.Unlock()
		if tk.stop == stop && tk.inFlight {
			tk.inFlight = false
			tk.c.tickDoneLocked()
		}
	}()
}
