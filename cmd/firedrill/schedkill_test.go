package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestKill9SchedulerLeaderBeforeFires runs three firedrill serve replicas firing a minutely
// schedule and, ten times, kills the one holding the scheduler lease with SIGKILL 1 to 5 s
// before a fire, starting a fresh replica in its place. Every fire must run exactly once:
// the fire comes due while the dead leader's lease is orphaned, and the replica that takes the
// lease over runs it late instead of settling it as missed.
func TestKill9SchedulerLeaderBeforeFires(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for 11 minutely fires: skipped under -short")
	}
	t.Parallel()
	const kills = 10
	ctx, cancel := context.WithTimeout(context.Background(), (kills+4)*time.Minute)
	defer cancel()
	dir := t.TempDir()
	estatePath, env := simEstate(t, ctx, dir)
	plan, err := os.ReadFile("../../examples/plans/site-loss.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "plans"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plans", "site-loss.hcl"), plan, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(estatePath)
	if err != nil {
		t.Fatal(err)
	}
	src = append(src, []byte(`
schedule "minutely" {
  plan      = "plans/site-loss.hcl"
  cron      = "* * * * *"
  time_zone = "UTC"
  missed    = "skip"
}
`)...)
	if err := os.WriteFile(estatePath, src, 0o644); err != nil {
		t.Fatal(err)
	}
	dsn := storetest.NewDatabase(t)
	env = append(env, "FIREDRILL_DATABASE_URL="+dsn, "FIREDRILL_CONFIG="+estatePath, "FIREDRILL_POLL=200ms", "FIREDRILL_LOG_LEVEL=info")

	procs := map[int]*serveProc{}
	start := func() {
		p := startServe(t, ctx, env)
		procs[p.cmd.Process.Pid] = p
	}
	start()
	st := openWhenMigrated(t, ctx, dsn, procs[firstPid(procs)])
	start()
	start()
	leader := func() (*store.Lease, int) {
		l, err := st.LeaseGet(ctx, scheduler.LeaseName)
		if err != nil {
			return nil, 0
		}
		parts := strings.Split(l.Owner, "/")
		if len(parts) != 3 {
			return l, 0
		}
		pid, _ := strconv.Atoi(parts[1])
		return l, pid
	}
	waitFor(t, 60*time.Second, func() bool {
		l, pid := leader()
		return l != nil && l.HeldAt(time.Now()) && procs[pid] != nil
	})

	var killedFires []time.Time
	for i := range kills {
		fire := time.Now().Add(7 * time.Second).Truncate(time.Minute).Add(time.Minute)
		k := time.Duration(1+i%5) * time.Second
		time.Sleep(time.Until(fire.Add(-k)))
		l, pid := leader()
		p := procs[pid]
		if p == nil || !l.HeldAt(time.Now()) {
			t.Fatalf("kill %d: the scheduler lease (%+v) is not held by a live replica", i+1, l)
		}
		p.kill9()
		delete(procs, pid)
		start()
		killedFires = append(killedFires, fire.UTC())
		t.Logf("kill %d: leader pid %d killed %s before the fire at %s", i+1, pid, k, fire.UTC().Format(time.TimeOnly))
	}
	last := killedFires[len(killedFires)-1]
	// The lease of the last one killed lapses (15s) and the next leader decides.
	waitFor(t, 60*time.Second, func() bool {
		fs, err := st.ScheduleFireList(ctx, &store.ScheduleFireListParams{Schedule: "minutely"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.FireTime.Equal(last) {
				return true
			}
		}
		return false
	})

	fs, err := st.ScheduleFireList(ctx, &store.ScheduleFireListParams{Schedule: "minutely"})
	if err != nil {
		t.Fatal(err)
	}
	decided := map[time.Time]int{}
	for _, f := range fs {
		decided[f.FireTime.UTC()]++
		if f.Decision != store.FireRun || f.RunID == "" {
			t.Errorf("fire %s = %s (%s) by %s; want run", f.FireTime.Format(time.TimeOnly), f.Decision, f.Reason, f.DecidedBy)
		}
	}
	runs, err := listRuns(ctx, st, &store.RunListParams{Limit: store.MaxRunListLimit})
	if err != nil {
		t.Fatal(err)
	}
	runsAt := map[time.Time]int{}
	for _, r := range runs {
		if r.ScheduleName == "minutely" && r.FireTime != nil {
			runsAt[r.FireTime.UTC()]++
		}
	}
	for _, f := range killedFires {
		if decided[f] != 1 || runsAt[f] != 1 {
			t.Errorf("fire %s after a leader kill: decided %d times, %d runs; want exactly one run", f.Format(time.TimeOnly), decided[f], runsAt[f])
		}
	}
	for f, n := range runsAt {
		if n != 1 {
			t.Errorf("fire %s has %d runs", f.Format(time.TimeOnly), n)
		}
	}
}

func firstPid(procs map[int]*serveProc) int {
	for pid := range procs {
		return pid
	}
	return 0
}
