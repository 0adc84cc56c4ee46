package clocktest_test

import (
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
