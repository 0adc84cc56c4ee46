package clocktest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/internal/clock/clocktest"
)

func TestTimersFireWhenTheClockPassesThem(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 8, 1, 0, 0, 0, time.UTC)
	c := clocktest.New(start)
	early, late, stopped := c.NewTimer(time.Minute), c.NewTimer(time.Hour), c.NewTimer(2*time.Minute)
	if !stopped.Stop() {
		t.Error("Stop of an armed timer = false")
	}
	c.Advance(90 * time.Second)
	select {
	case at := <-early.C():
		if !at.Equal(start.Add(time.Minute)) {
			t.Errorf("early fired at %v", at)
		}
	default:
		t.Fatal("early did not fire")
	}
	select {
	case <-late.C():
		t.Fatal("late fired early")
	case <-stopped.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	if c.Pending() != 1 {
		t.Errorf("Pending = %d, want 1", c.Pending())
	}
	armed := c.TimerArmed()
	c.NewTimer(time.Second)
	<-armed
	c.Advance(time.Hour)
	<-late.C()
}

// noTickInFlight fails the test if a tick came due and waits for its receiver.
func noTickInFlight(t *testing.T, c *clocktest.Clock) {
	t.Helper()
	select {
	case <-c.TicksDelivered():
	default:
		t.Fatal("a tick is in flight; want none")
	}
}

func TestTickersTickOncePerAdvanceAndMissWhatTheyLag(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 8, 1, 0, 0, 0, time.UTC)
	c := clocktest.New(start)
	armed := c.TimerArmed()
	tk := c.NewTicker(time.Minute)
	defer tk.Stop()
	<-armed

	c.Advance(time.Minute)
	if at := <-tk.C(); !at.Equal(start.Add(time.Minute)) {
		t.Errorf("first tick at %v, want %v", at, start.Add(time.Minute))
	}
	<-c.TicksDelivered()
	c.Advance(30 * time.Second)
	noTickInFlight(t, c)

	// Ten periods pass at once: the receiver gets the first tick due, the rest are missed,
	// and the ticker keeps its phase.
	c.Advance(10 * time.Minute)
	if at := <-tk.C(); !at.Equal(start.Add(2 * time.Minute)) {
		t.Errorf("tick after a long advance at %v, want %v", at, start.Add(2*time.Minute))
	}
	<-c.TicksDelivered()
	c.Advance(29 * time.Second)
	noTickInFlight(t, c)
	c.Advance(time.Second)
	if at := <-tk.C(); !at.Equal(start.Add(12 * time.Minute)) {
		t.Errorf("tick at %v, want %v", at, start.Add(12*time.Minute))
	}
}

func TestTickerStopWithdrawsItsTickAndResetChangesThePeriod(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 8, 1, 0, 0, 0, time.UTC)
	c := clocktest.New(start)
	tk := c.NewTicker(time.Minute)
	c.Advance(time.Minute)
	tk.Stop()
	<-c.TicksDelivered() // the tick nobody took is withdrawn
	c.Advance(time.Hour)
	noTickInFlight(t, c)

	tk.Reset(time.Hour)
	c.Advance(59 * time.Minute)
	noTickInFlight(t, c)
	c.Advance(time.Minute)
	if at, want := <-tk.C(), start.Add(2*time.Hour+time.Minute); !at.Equal(want) {
		t.Errorf("tick after Reset at %v, want %v", at, want)
	}
	tk.Stop()
}

func TestTickerPanicsOnANonPositivePeriod(t *testing.T) {
	t.Parallel()
	c := clocktest.New(time.Date(2026, 3, 8, 1, 0, 0, 0, time.UTC))
	for _, f := range []func(){
		func() { c.NewTicker(0) },
		func() { c.NewTicker(time.Second).Reset(-time.Second) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic for a non-positive period")
				}
			}()
			f()
		}()
	}
}

func TestAfterFuncsRunInDeadlineOrderWithinAdvance(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 8, 1, 0, 0, 0, time.UTC)
	c := clocktest.New(start)
	var order []string
	c.AfterFunc(2*time.Minute, func() { order = append(order, "two") })
	c.AfterFunc(time.Minute, func() {
		order = append(order, "one")
		// f may use the clock: this one re-arms for later.
		c.AfterFunc(time.Minute, func() { order = append(order, "re-armed") })
	})
	stopped := c.AfterFunc(90*time.Second, func() { order = append(order, "stopped") })
	if !stopped.Stop() {
		t.Error("Stop of an armed AfterFunc = false")
	}
	if stopped.C() != nil {
		t.Error("an AfterFunc timer's C is not nil")
	}
	if c.Pending() != 2 {
		t.Errorf("Pending = %d, want 2", c.Pending())
	}
	c.Advance(5 * time.Minute)
	if got, want := strings.Join(order, ","), "one,two"; got != want {
		t.Errorf("after Advance, ran %s, want %s", got, want)
	}
	c.Advance(time.Minute)
	if got, want := strings.Join(order, ","), "one,two,re-armed"; got != want {
		t.Errorf("ran %s, want %s", got, want)
	}
	if stopped.Stop() {
		t.Error("a second Stop = true")
	}

	ran := make(chan struct{})
	c.AfterFunc(0, func() { close(ran) })
	<-ran
}
