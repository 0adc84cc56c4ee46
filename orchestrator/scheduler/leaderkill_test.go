package scheduler_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestLeaderKilledBeforeAFireNeverLosesIt: three replicas share a PostgreSQL database and a
// fake clock, each passing every second. Twelve times, the replica holding the scheduler lease
// dies 1 to 5 s before a fire (it stops passing and never releases its lease, as after
// kill -9) and a fresh replica replaces it. The fire comes due while the lease is orphaned;
// the replica that takes the lease over once it lapses runs it late, and every fire runs
// exactly once: the missed-fire policy is for times when no replica was alive.
func TestLeaderKilledBeforeAFireNeverLosesIt(t *testing.T) {
	t.Parallel()
	cfg, src := estate(t, `
schedule "every-minute" {
  plan = "plans/failover.hcl"
  cron = "* * * * *"
  time_zone = "UTC"
  missed = "skip"
}
`)
	start := time.Date(2027, 3, 1, 0, 0, 30, 0, time.UTC)
	clk := clocktest.New(start)
	dsn := storetest.NewDatabase(t)
	st := openStore(t, dsn, clk, true)
	ctx := context.Background()
	next := 0
	spawn := func() *scheduler.Scheduler {
		next++
		s := newScheduler(t, scheduler.Config{
			Store: openStore(t, dsn, clk, false), Estate: cfg, EstateSource: src, Clock: clk,
			Owner: fmt.Sprintf("replica-%d", next), LeaseFor: 15 * time.Second, Tick: time.Second,
		})
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		s.Stop() // Start synced the schedules; the test passes by hand from here.
		return s
	}
	live := map[string]*scheduler.Scheduler{}
	for range 3 {
		s := spawn()
		live[fmt.Sprintf("replica-%d", next)] = s
	}
	passAll := func() {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var errs []error
		for _, s := range live {
			wg.Go(func() {
				if err := s.Tick(ctx); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			t.Fatalf("%s: %v", clk.Now().Format(time.TimeOnly), err)
		}
	}

	const kills = 12
	killed := 0
	firstFire := start.Add(30 * time.Second) // 00:01:00
	lastFire := firstFire.Add((kills + 1) * time.Minute)
	for now := start; !now.After(lastFire.Add(30 * time.Second)); now = now.Add(time.Second) {
		clk.Set(now)
		passAll()
		// k seconds before the fire of minute killed+2, kill the lease holder.
		if killed < kills {
			fire := firstFire.Add(time.Duration(killed+1) * time.Minute)
			k := time.Duration(1+killed%5) * time.Second
			if now.Equal(fire.Add(-k)) {
				l, err := st.LeaseGet(ctx, scheduler.LeaseName)
				if err != nil {
					t.Fatal(err)
				}
				if live[l.Owner] == nil || !l.HeldAt(now) {
					t.Fatalf("%s: the lease (%+v) is not held by a live replica", now.Format(time.TimeOnly), l)
				}
				delete(live, l.Owner) // kill -9: no more passes, no release
				s := spawn()
				live[fmt.Sprintf("replica-%d", next)] = s
				killed++
			}
		}
	}
	if killed != kills {
		t.Fatalf("%d kills, want %d", killed, kills)
	}

	fs := fires(t, st, "every-minute")
	seen := map[time.Time]int{}
	for _, f := range fs {
		seen[f.FireTime]++
		if f.Decision != store.FireRun || f.RunID == "" {
			t.Errorf("fire %s = %s (%s), decided by %s; want run", f.FireTime.Format(time.TimeOnly), f.Decision, f.Reason, f.DecidedBy)
		}
	}
	for f := firstFire; !f.After(lastFire); f = f.Add(time.Minute) {
		if seen[f] != 1 {
			t.Errorf("fire %s decided %d times, want once", f.Format(time.TimeOnly), seen[f])
		}
	}
	runs := map[time.Time]int{}
	for _, r := range listRuns(t, st) {
		if r.FireTime != nil {
			runs[*r.FireTime]++
		}
	}
	for f := firstFire; !f.After(lastFire); f = f.Add(time.Minute) {
		if runs[f] != 1 {
			t.Errorf("fire %s has %d runs, want exactly 1", f.Format(time.TimeOnly), runs[f])
		}
	}
}
