package clock_test

import (
	"testing"
	"time"

	"github.com/firedrill/firedrill/internal/clock"
)

func TestRealTickerTicksUntilStopped(t *testing.T) {
	t.Parallel()
	var c clock.Clock = clock.Real{}
	tk := c.NewTicker(time.Millisecond)
	first := <-tk.C()
	second := <-tk.C()
	if !second.After(first) {
		t.Errorf("second tick %v is not after the first %v", second, first)
	}
	tk.Reset(time.Hour)
	tk.Stop()
}

func TestRealAfterFuncRunsOnceUnlessStopped(t *testing.T) {
	t.Parallel()
	var c clock.Clock = clock.Real{}
	ran := make(chan struct{})
	tm := c.AfterFunc(time.Millisecond, func() { close(ran) })
	<-ran
	if tm.Stop() {
		t.Error("Stop after f ran = true")
	}
	if tm.C() != nil {
		t.Error("an AfterFunc timer's C is not nil")
	}
	never := c.AfterFunc(time.Hour, func() { t.Error("a stopped AfterFunc ran") })
	if !never.Stop() {
		t.Error("Stop of an armed AfterFunc = false")
	}
}
