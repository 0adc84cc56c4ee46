package scheduler_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// estate parses testdata/estate.hcl with extra (schedule blocks) appended.
func estate(t testing.TB, extra string) (*drills.Estate, []byte) {
	t.Helper()
	base, err := os.ReadFile("testdata/estate.hcl")
	if err != nil {
		t.Fatal(err)
	}
	src := append(base, []byte("\n"+extra)...)
	cfg, diags := drills.ParseEstate(src, "testdata/estate.hcl")
	if diags.HasErrors() {
		t.Fatalf("ParseEstate: %v", diags)
	}
	return cfg, src
}

func loadPlan(path string) (*drills.Plan, []byte, error) {
	full := filepath.Join("testdata", path)
	src, err := os.ReadFile(full)
	if err != nil {
		return nil, nil, err
	}
	p, diags := drills.ParsePlan(src, full)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	return p, src, nil
}

// openStore opens (and migrates, when migrate) dsn with the fake clock.
func openStore(t testing.TB, dsn string, clk *clocktest.Clock, migrate bool) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{DatabaseURL: dsn, Clock: clk})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if migrate {
		if _, err := s.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp: %v", err)
		}
	}
	return s
}

func sqliteStore(t testing.TB, clk *clocktest.Clock) *store.Store {
	t.Helper()
	return openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "scheduler.db"), clk, true)
}

func newScheduler(t testing.TB, cfg scheduler.Config) *scheduler.Scheduler {
	t.Helper()
	if cfg.LoadPlan == nil {
		cfg.LoadPlan = loadPlan
	}
	if cfg.Owner == "" {
		cfg.Owner = "replica-1"
	}
	s, err := scheduler.New(cfg)
	if err != nil {
		t.Fatalf("scheduler.New: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func tick(t testing.TB, s *scheduler.Scheduler) {
	t.Helper()
	if err := s.Tick(context.Background()); err != nil {
		t.Fatalf("Tick: %v", err)
	}
}

func fires(t testing.TB, st *store.Store, name string) []*store.FireRecord {
	t.Helper()
	fs, err := st.ScheduleFireList(context.Background(), &store.ScheduleFireListParams{Schedule: name})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func decisions(fs []*store.FireRecord) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Decision
	}
	return out
}

// TestDSTYear drives a year of two America/New_York schedules through the engine and store, an
// hour at a time and a minute at a time around both DST changes: every fire is decided once, at
// its local time (02:30 on the spring-forward day fires at 03:30 EDT; 01:30 on the fall-back
// day fires once, at its first occurrence), and no run is created inside a blackout: those
// fires are recorded skipped_blackout with the blackout's name.
func TestDSTYear(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cfg, src := estate(t, `
schedule "gap" {
  plan      = "plans/failover.hcl"
  cron      = "30 2 * * *"
  time_zone = "America/New_York"
  blackouts = ["holidays", "month-end"]
}
schedule "overlap" {
  plan      = "plans/failover.hcl"
  cron      = "30 1 * * *"
  time_zone = "America/New_York"
  blackouts = ["holidays"]
}
`)
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, ny)
	end := time.Date(2028, 1, 1, 0, 0, 0, 0, ny)
	clk := clocktest.New(start)
	st := sqliteStore(t, clk)
	var mu sync.Mutex
	var fired []*store.Run
	s := newScheduler(t, scheduler.Config{
		Store: st, Estate: cfg, EstateSource: src, Clock: clk,
		Tick: time.Hour, LeaseFor: 3 * time.Hour, MissedGrace: 2 * time.Hour,
		OnFire: func(_ context.Context, r *store.Run) { mu.Lock(); fired = append(fired, r); mu.Unlock() },
	})
	tick(t, s)
	for now := start; now.Before(end); {
		// A minute at a time on the days the clocks change, else an hour.
		step := time.Hour
		if d := now.In(ny); d.Month() == time.March && d.Day() == 14 || d.Month() == time.November && d.Day() == 7 {
			step = time.Minute
		}
		now = now.Add(step)
		clk.Set(now)
		tick(t, s)
	}

	type want struct {
		at       time.Time
		blackout string
	}
	expect := func(hour int, blackouts func(time.Time) string, special map[string]time.Time) []want {
		var out []want
		for d := start; d.Before(end); d = d.AddDate(0, 0, 1) {
			at := time.Date(d.Year(), d.Month(), d.Day(), hour, 30, 0, 0, ny)
			if s, ok := special[d.Format(time.DateOnly)]; ok {
				at = s
			}
			out = append(out, want{at: at.UTC(), blackout: blackouts(d)})
		}
		return out
	}
	holiday := func(d time.Time) string {
		if ds := d.Format(time.DateOnly); ds == "2027-07-04" || ds == "2027-12-25" {
			return "holidays"
		}
		return ""
	}
	monthEnd := func(d time.Time) string {
		if h := holiday(d); h != "" {
			return h
		}
		if d.AddDate(0, 0, 1).Day() == 1 {
			return "month-end"
		}
		return ""
	}
	edt := time.FixedZone("EDT", -4*3600)
	cases := []struct {
		schedule string
		want     []want
	}{
		// 2027-03-14 02:30 does not exist in New York: it fires at 03:30 EDT.
		{"gap", expect(2, monthEnd, map[string]time.Time{"2027-03-14": time.Date(2027, 3, 14, 3, 30, 0, 0, edt)})},
		// 2027-11-07 01:30 happens twice: it fires once, at 01:30 EDT.
		{"overlap", expect(1, holiday, map[string]time.Time{"2027-11-07": time.Date(2027, 11, 7, 1, 30, 0, 0, edt)})},
	}
	runs := 0
	for _, c := range cases {
		got := fires(t, st, c.schedule)
		if len(got) != len(c.want) {
			t.Errorf("%s: %d fires decided, want %d (one per day)", c.schedule, len(got), len(c.want))
		}
		for i := 0; i < min(len(got), len(c.want)); i++ {
			g, w := got[i], c.want[i]
			if !g.FireTime.Equal(w.at) {
				t.Errorf("%s fire %d at %s (%s local), want %s (%s local)", c.schedule, i, g.FireTime, g.FireTime.In(ny), w.at, w.at.In(ny))
				break
			}
			switch {
			case w.blackout != "" && (g.Decision != store.FireSkippedBlackout || g.Reason != w.blackout || g.RunID != ""):
				t.Errorf("%s fire at %s = %s (%q), want skipped_blackout (%s)", c.schedule, g.FireTime.In(ny), g.Decision, g.Reason, w.blackout)
			case w.blackout == "" && (g.Decision != store.FireRun || g.RunID == ""):
				t.Errorf("%s fire at %s = %s (%q), want a run", c.schedule, g.FireTime.In(ny), g.Decision, g.Reason)
			}
			if g.Decision == store.FireRun {
				runs++
			}
		}
	}
	all := listRuns(t, st)
	if len(all) != runs || len(fired) != runs {
		t.Errorf("%d runs stored and %d announced, want %d", len(all), len(fired), runs)
	}
	for _, r := range all {
		if r.FireTime == nil || r.State != drills.RunPending || r.RequestedBy != (drills.Actor{Kind: drills.ActorSchedule, Name: r.ScheduleName}) {
			t.Errorf("run %+v: want pending, triggered by its schedule", r)
			continue
		}
		if name, in := cfg.BlackoutAt(cfg.Schedule(r.ScheduleName), *r.FireTime); in {
			t.Errorf("run %s of %s fired at %s inside blackout %s", r.ID, r.ScheduleName, r.FireTime.In(ny), name)
		}
	}
}

// TestReplicasFireOnce runs three schedulers, each with its own connection pool, against one
// PostgreSQL database and a shared fake clock: 1,000 minutely fires are each decided once and
// create one run, while the lease moves from a stopped holder to another replica.
func TestReplicasFireOnce(t *testing.T) {
	t.Parallel()
	cfg, src := estate(t, `
schedule "every-minute" {
  plan = "plans/failover.hcl"
  cron = "* * * * *"
  time_zone = "UTC"
}
`)
	start := time.Date(2027, 1, 1, 0, 0, 30, 0, time.UTC)
	clk := clocktest.New(start)
	dsn := storetest.NewDatabase(t)
	stores := []*store.Store{openStore(t, dsn, clk, true), openStore(t, dsn, clk, false), openStore(t, dsn, clk, false)}
	var scheds []*scheduler.Scheduler
	for i, st := range stores {
		scheds = append(scheds, newScheduler(t, scheduler.Config{
			Store: st, Estate: cfg, EstateSource: src, Clock: clk, Owner: fmt.Sprintf("replica-%d", i+1),
			LeaseFor: 5 * time.Minute,
		}))
	}
	ctx := context.Background()
	for _, s := range scheds {
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		s.Stop() // Start synced the schedules; the test ticks by hand from here.
	}
	// Stop released nothing (no pass ran): the scheduler lease is free.
	live := map[int]bool{0: true, 1: true, 2: true}
	stopped := -1
	const n = 1000
	for i := 1; i <= n; i++ {
		clk.Set(start.Add(-30*time.Second + time.Duration(i)*time.Minute))
		var wg sync.WaitGroup
		errs := make([]error, len(scheds))
		for r := range live {
			wg.Go(func() { errs[r] = scheds[r].Tick(ctx) })
		}
		wg.Wait()
		for r, err := range errs {
			if err != nil {
				t.Fatalf("step %d: replica %d: %v", i, r+1, err)
			}
		}
		if i == n/2 {
			l, err := stores[0].LeaseGet(ctx, scheduler.LeaseName)
			if err != nil {
				t.Fatal(err)
			}
			for r := range scheds {
				if l.Owner == fmt.Sprintf("replica-%d", r+1) {
					stopped = r
				}
			}
			if stopped < 0 {
				t.Fatalf("lease owner %q is none of the replicas", l.Owner)
			}
			scheds[stopped].Stop()
			delete(live, stopped)
		}
	}
	st := stores[0]
	fs := fires(t, st, "every-minute")
	if len(fs) != n {
		t.Errorf("%d fires decided, want %d", len(fs), n)
	}
	byOwner := map[string]int{}
	seen := map[time.Time]bool{}
	for _, f := range fs {
		if seen[f.FireTime] {
			t.Errorf("fire %s decided twice", f.FireTime)
		}
		seen[f.FireTime] = true
		if f.Decision != store.FireRun || f.RunID == "" {
			t.Errorf("fire %s = %s (%s), want run", f.FireTime, f.Decision, f.Reason)
		}
		byOwner[f.DecidedBy]++
	}
	for i := 1; i <= n; i++ {
		if m := start.Add(-30*time.Second + time.Duration(i)*time.Minute).UTC(); !seen[m] {
			t.Errorf("minute %s never fired", m)
		}
	}
	if len(byOwner) < 2 {
		t.Errorf("fires decided by %v: the lease never moved", byOwner)
	}
	runs, err := listRuns(t, st), error(nil)
	if err != nil {
		t.Fatal(err)
	}
	runTimes := map[time.Time]bool{}
	for _, r := range runs {
		if r.ScheduleName == "every-minute" && r.FireTime != nil {
			runTimes[*r.FireTime] = true
		}
	}
	if len(runs) != n || len(runTimes) != n {
		t.Errorf("%d runs for %d distinct fire times, want %d and %d", len(runs), len(runTimes), n, n)
	}
	l, err := st.LeaseGet(ctx, scheduler.LeaseName)
	if err != nil {
		t.Fatal(err)
	}
	if l.Epoch < 2 || l.Owner == fmt.Sprintf("replica-%d", stopped+1) {
		t.Errorf("lease = %+v: want it taken over from replica-%d", l, stopped+1)
	}
	t.Logf("fires by replica: %v", byOwner)
}

const hourly = `
schedule "skip" {
  plan   = "plans/failover.hcl"
  cron   = "0 * * * *"
  time_zone = "UTC"
  missed = "skip"
}
schedule "once" {
  plan   = "plans/failover.hcl"
  cron   = "0 * * * *"
  time_zone = "UTC"
  missed = "run_once"
}
`

// TestMissedFiresAfterDowntime: five hourly fires pass while no replica runs; skip records
// them all as missed, run_once runs the latest and supersedes the others; the next fire on
// time runs for both.
func TestMissedFiresAfterDowntime(t *testing.T) {
	t.Parallel()
	cfg, src := estate(t, hourly)
	start := time.Date(2027, 1, 4, 9, 30, 0, 0, time.UTC)
	clk := clocktest.New(start)
	st := sqliteStore(t, clk)
	m := metrics.New()
	s := newScheduler(t, scheduler.Config{Store: st, Estate: cfg, EstateSource: src, Clock: clk, Metrics: m})
	tick(t, s)
	clk.Set(start.Add(5*time.Hour + 10*time.Minute)) // down from 09:30 to 14:40: 10:00..14:00 missed
	tick(t, s)
	clk.Set(time.Date(2027, 1, 4, 15, 0, 0, 0, time.UTC))
	tick(t, s)
	want := map[string][]string{
		"skip": {"skipped_missed", "skipped_missed", "skipped_missed", "skipped_missed", "skipped_missed", "run"},
		"once": {"superseded", "superseded", "superseded", "superseded", "run", "run"},
	}
	for name, w := range want {
		got := fires(t, st, name)
		if fmt.Sprint(decisions(got)) != fmt.Sprint(w) {
			t.Errorf("%s decisions = %v, want %v", name, decisions(got), w)
		}
		if len(got) == 6 && !got[5].FireTime.Equal(time.Date(2027, 1, 4, 15, 0, 0, 0, time.UTC)) {
			t.Errorf("%s last fire at %s, want 15:00", name, got[5].FireTime)
		}
	}
	if got := fires(t, st, "once"); len(got) == 6 && !got[4].FireTime.Equal(time.Date(2027, 1, 4, 14, 0, 0, 0, time.UTC)) {
		t.Errorf("run_once ran the missed fire at %s, want the latest (14:00)", got[4].FireTime)
	}
	// Three runs were created: the missed 14:00 one 40 minutes late, both 15:00 ones on time.
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range families {
		if f.GetName() == metrics.NameScheduleLag {
			found = true
			h := f.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() != 3 || h.GetSampleSum() != (40*time.Minute).Seconds() {
				t.Errorf("%s: %d fires, %vs in all; want 3 and 2400s", metrics.NameScheduleLag, h.GetSampleCount(), h.GetSampleSum())
			}
		}
	}
	if !found {
		t.Errorf("no %s series", metrics.NameScheduleLag)
	}
}

// TestPausedAndClockStepBack: a paused schedule's fires are recorded skipped_paused; after
// resuming it fires again; a clock stepped backwards re-fires nothing.
func TestPausedAndClockStepBack(t *testing.T) {
	t.Parallel()
	cfg, src := estate(t, hourly)
	ctx := context.Background()
	start := time.Date(2027, 1, 4, 9, 30, 0, 0, time.UTC)
	clk := clocktest.New(start)
	st := sqliteStore(t, clk)
	s := newScheduler(t, scheduler.Config{Store: st, Estate: cfg, EstateSource: src, Clock: clk})
	tick(t, s)
	if _, err := st.SchedulePause(ctx, &store.SchedulePauseParams{Name: "skip", By: drills.Actor{Kind: drills.ActorUser, Name: "alice", Via: drills.ViaAPI}, Reason: "DR site maintenance"}); err != nil {
		t.Fatal(err)
	}
	at := func(h int) time.Time { return time.Date(2027, 1, 4, h, 0, 0, 0, time.UTC) }
	clk.Set(at(10))
	tick(t, s)
	clk.Set(at(11))
	tick(t, s)
	if _, err := st.ScheduleResume(ctx, &store.SchedulePauseParams{Name: "skip", By: drills.Actor{Kind: drills.ActorUser, Name: "bob", Via: drills.ViaAPI}}); err != nil {
		t.Fatal(err)
	}
	clk.Set(at(12))
	tick(t, s)
	// The clock steps back an hour and a half, then returns.
	clk.Set(at(12).Add(-90 * time.Minute))
	tick(t, s)
	clk.Set(at(12))
	tick(t, s)
	clk.Set(at(13))
	tick(t, s)
	got := fires(t, st, "skip")
	if w := []string{"skipped_paused", "skipped_paused", "run", "run"}; fmt.Sprint(decisions(got)) != fmt.Sprint(w) {
		t.Fatalf("decisions = %v, want %v", decisions(got), w)
	}
	if got[0].Reason != "paused by alice (via api): DR site maintenance" {
		t.Errorf("paused fire reason = %q", got[0].Reason)
	}
	if n := len(fires(t, st, "once")); n != 4 {
		t.Errorf("the other schedule decided %d fires, want 4 (10:00 to 13:00)", n)
	}
	runs, err := listRuns(t, st), error(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 6 {
		t.Errorf("%d runs, want 6", len(runs))
	}
}

// TestApprovalPolicy: a schedule with an approval policy creates its run awaiting approval,
// with the policy and a deadline at fire + start_within; the run references the stored plan
// and estate, so a worker can execute it from the store alone.
func TestApprovalPolicy(t *testing.T) {
	t.Parallel()
	cfg, src := estate(t, `
schedule "approved" {
  plan         = "plans/failover.hcl"
  cron         = "0 2 * * *"
  time_zone    = "Asia/Seoul"
  start_within = "3h"
  approval { roles = ["sre", "compliance"] }
}
`)
	ctx := context.Background()
	start := time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
	clk := clocktest.New(start)
	st := sqliteStore(t, clk)
	s := newScheduler(t, scheduler.Config{Store: st, Estate: cfg, EstateSource: src, Clock: clk})
	tick(t, s)
	fire := time.Date(2027, 1, 5, 2, 0, 0, 0, time.FixedZone("KST", 9*3600))
	clk.Set(fire)
	tick(t, s)
	runs, err := listRuns(t, st), error(nil)
	if err != nil || len(runs) != 1 {
		t.Fatalf("RunList = %d runs, %v; want 1", len(runs), err)
	}
	r := runs[0]
	if r.State != drills.RunAwaitingApproval || !reflect.DeepEqual(r.ApprovalRoles, []string{"sre", "compliance"}) ||
		r.ApprovalDeadline == nil || !r.ApprovalDeadline.Equal(fire.Add(3*time.Hour)) {
		t.Errorf("run = %+v, want awaiting approval until %s", r, fire.Add(3*time.Hour))
	}
	plan, err := st.PlanGet(ctx, r.PlanID)
	if err != nil || plan.Name != "auth-failover" || r.FromSite != "sangam" || r.ToSite != "yatap" {
		t.Errorf("run's plan = %+v, %v", plan, err)
	}
	if r.EstateSHA256 != cfg.SHA256 {
		t.Errorf("run's estate = %s, want %s", r.EstateSHA256, cfg.SHA256)
	}
	sched, err := st.ScheduleGet(ctx, "approved")
	if err != nil {
		t.Fatal(err)
	}
	if sched.NextFireTime == nil || !sched.NextFireTime.Equal(fire.AddDate(0, 0, 1)) {
		t.Errorf("next fire = %v, want %s", sched.NextFireTime, fire.AddDate(0, 0, 1).UTC())
	}
}

// TestStartStop: the background loop wakes at the fire time on the fake clock, fires, and
// Stop is idempotent and releases the lease.
func TestStartStop(t *testing.T) {
	t.Parallel()
	cfg, src := estate(t, `
schedule "every-minute" {
  plan = "plans/failover.hcl"
  cron = "* * * * *"
  time_zone = "UTC"
}
`)
	ctx := context.Background()
	start := time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
	clk := clocktest.New(start)
	st := sqliteStore(t, clk)
	fired := make(chan *store.Run, 1)
	s := newScheduler(t, scheduler.Config{
		Store: st, Estate: cfg, EstateSource: src, Clock: clk, Tick: time.Minute, LeaseFor: 5 * time.Minute,
		OnFire: func(_ context.Context, r *store.Run) { fired <- r },
	})
	armed := clk.TimerArmed()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-armed
	clk.Advance(time.Minute)
	r := <-fired
	if !r.FireTime.Equal(start.Add(time.Minute)) {
		t.Errorf("fired %s, want %s", r.FireTime, start.Add(time.Minute))
	}
	s.Stop()
	s.Stop()
	l, err := st.LeaseGet(ctx, scheduler.LeaseName)
	if err != nil {
		t.Fatal(err)
	}
	if l.HeldAt(clk.Now()) {
		t.Errorf("lease %+v still held after Stop", l)
	}
	if err := s.Start(ctx); err == nil {
		t.Error("Start after Stop succeeded")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	cfg, src := estate(t, "")
	clk := clocktest.New(time.Now())
	st := sqliteStore(t, clk)
	good := scheduler.Config{Store: st, Estate: cfg, EstateSource: src, LoadPlan: loadPlan, Owner: "r"}
	tests := []struct {
		name string
		edit func(c *scheduler.Config)
	}{
		{"no store", func(c *scheduler.Config) { c.Store = nil }},
		{"no estate", func(c *scheduler.Config) { c.Estate = nil }},
		{"no owner", func(c *scheduler.Config) { c.Owner = "" }},
		{"no plan loader", func(c *scheduler.Config) { c.LoadPlan = nil }},
		{"other source", func(c *scheduler.Config) { c.EstateSource = []byte("x") }},
		{"lease shorter than tick", func(c *scheduler.Config) { c.LeaseFor = time.Second; c.Tick = 2 * time.Second }},
	}
	for _, tt := range tests {
		c := good
		tt.edit(&c)
		if _, err := scheduler.New(c); err == nil {
			t.Errorf("New(%s) succeeded", tt.name)
		}
	}
	if _, err := scheduler.New(good); err != nil {
		t.Errorf("New(good) = %v", err)
	}
}

// listRuns returns every stored run, newest first.
func listRuns(t *testing.T, st *store.Store) []*store.Run {
	t.Helper()
	page, err := st.RunList(context.Background(), &store.RunListParams{Limit: store.MaxRunListLimit})
	if err != nil {
		t.Fatal(err)
	}
	return page.Runs
}

// TestFiresFollowTheEstateApprovalPolicy: a schedule without a policy of its own fires runs
// that follow the estate's default policy (or the plan's), as a person's request would, with
// the policy's window as the deadline.
func TestFiresFollowTheEstateApprovalPolicy(t *testing.T) {
	t.Parallel()
	cfg, src := estate(t, `
schedule "nightly" {
  plan      = "plans/failover.hcl"
  cron      = "0 2 * * *"
  time_zone = "Asia/Seoul"
}
`)
	cfg.DefaultApproval = drills.ApprovalPolicy{Roles: []string{drills.RoleSRE, drills.RoleCompliance}, Within: 6 * time.Hour}
	start := time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
	clk := clocktest.New(start)
	st := sqliteStore(t, clk)
	s := newScheduler(t, scheduler.Config{Store: st, Estate: cfg, EstateSource: src, Clock: clk})
	tick(t, s)
	fire := time.Date(2027, 1, 5, 2, 0, 0, 0, time.FixedZone("KST", 9*3600))
	clk.Set(fire)
	tick(t, s)
	runs := listRuns(t, st)
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	r := runs[0]
	if r.State != drills.RunAwaitingApproval || !reflect.DeepEqual(r.ApprovalRoles, []string{"sre", "compliance"}) ||
		r.ApprovalDeadline == nil || !r.ApprovalDeadline.Equal(fire.Add(6*time.Hour)) ||
		r.RequestedBy != (drills.Actor{Kind: drills.ActorSchedule, Name: "nightly"}) {
		t.Errorf("run = %+v, want awaiting the estate's approval until %s, requested by the schedule", r, fire.Add(6*time.Hour))
	}
}
