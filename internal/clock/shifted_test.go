package clock_test

import (
	"testing"
	"time"

	"github.com/firedrill/firedrill/internal/clock"
)

func TestShiftedReadsInThePastWithRealDurations(t *testing.T) {
	t.Parallel()
	year := -365 * 24 * time.Hour
	var c clock.Clock = clock.NewShifted(year)
	before := time.Now()
	got := c.Now()
	if d := got.Sub(before.Add(year)); d < 0 || d > time.Minute {
		t.Fatalf("Now() = %v, want about %v", got, before.Add(year))
	}
	// The monotonic reading is kept: a duration measured on the shifted clock is the real one.
	time.Sleep(20 * time.Millisecond)
	if d := c.Now().Sub(got); d < 20*time.Millisecond || d > time.Second {
		t.Errorf("measured %v over a 20ms sleep", d)
	}
}

func TestShiftedMoveTo(t *testing.T) {
	t.Parallel()
	c := clock.NewShifted(0)
	at := time.Date(2026, 3, 15, 2, 0, 0, 0, time.UTC)
	c.MoveTo(at)
	if d := c.Now().Sub(at); d < 0 || d > time.Second {
		t.Errorf("after MoveTo(%v), Now() = %v", at, c.Now())
	}
	if off := c.Offset(); off >= 0 {
		t.Errorf("Offset() = %v after moving into the past, want negative", off)
	}
	tm := c.NewTimer(time.Millisecond)
	<-tm.C()
}
