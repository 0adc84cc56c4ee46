package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/password"
	"github.com/firedrill/firedrill/internal/sitesim"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// demoUser is a person of the demo bank.
type demoUser struct {
	name  string
	roles []string
}

// demoUsers are the admin, then one person per role a newcomer may want to see the console
// as, and a second SRE: a run's approvals need people other than its requester.
var demoUsers = []demoUser{
	{"admin", []string{drills.RoleAdmin}},
	{"sre-kim", []string{drills.RoleSRE}},
	{"sre-park", []string{drills.RoleSRE}},
	{"compliance-lee", []string{drills.RoleCompliance}},
	{"auditor-choi", []string{drills.RoleAuditor}},
}

// Who does what in the history.
const (
	demoAdmin      = "admin"
	demoRequester  = "sre-kim"
	demoSecondSRE  = "sre-park"
	demoCompliance = "compliance-lee"
)

// demoDrill is one drill of the history: at a time, fired by a schedule of the estate or
// asked for by the SRE, with the fault injected into the simulated sites before it, if any.
type demoDrill struct {
	at       time.Time
	schedule string
	comment  string
	fault    func(*sitesim.Sim)
}

// authDoesNotStartOnYatap makes auth's allocations fail on the DR site: payments and
// remittance, which depend on it, cannot come up there either.
func authDoesNotStartOnYatap(sim *sitesim.Sim) { sim.Site("yatap").FailJob("auth", true) }

// demoManualMonths are the months ago of the drills the SRE asks for, at 02:00 on the 14th
// (clear of the estate's month-end and market-hours blackouts); one within demoFireGap of a
// scheduled fire is left out: the schedule drills then.
var demoManualMonths = []int{11, 8, 5, 2}

const demoFireGap = 25 * 24 * time.Hour

// demoRetestAfter is how long after the failed drill the SRE retests its findings.
const demoRetestAfter = 28 * 24 * time.Hour

// demoDrills are the history's drills between start and end, oldest first: the fires of the
// estate's schedules and the SRE's quarterly ones. The second fails on a dependency; a
// retest follows it four weeks later.
func demoDrills(estate *drills.Estate, loc *time.Location, start, end time.Time) []demoDrill {
	var out []demoDrill
	for _, sch := range estate.Schedules {
		for _, f := range estate.Fires(sch, start, end) {
			if f.Blackout == "" {
				out = append(out, demoDrill{at: f.At, schedule: sch.Name})
			}
		}
	}
	fired := slices.Clone(out)
	for _, m := range demoManualMonths {
		at := time.Date(end.In(loc).Year(), end.In(loc).Month()-time.Month(m), 14, 2, 0, 0, 0, loc)
		if at.Before(start) || !at.Before(end) || slices.ContainsFunc(fired, func(f demoDrill) bool { return f.at.Sub(at).Abs() < demoFireGap }) {
			continue
		}
		out = append(out, demoDrill{at: at, comment: "quarterly site-loss drill"})
	}
	slices.SortFunc(out, func(a, b demoDrill) int { return a.at.Compare(b.at) })
	if len(out) < 2 {
		return out
	}
	out[1].fault = authDoesNotStartOnYatap
	if retest := out[1].at.Add(demoRetestAfter); retest.Before(end) {
		out = slices.Insert(out, 2, demoDrill{at: retest, comment: "retest of the failed drill's findings: auth's DR job fixed"})
	}
	return out
}

// demoLocation is where the demo bank's day begins: its drills are dated in Seoul time.
const demoLocation = "Asia/Seoul"

// demoHistory produces serve --demo's year of history: every record through the operations
// (control) and the engine (the runner, against simulated sites), on a clock shifted to the
// date each step stands for, moved only forward so the audit chain stays in order.
type demoHistory struct {
	a       *app
	w       *demoWorld
	clk     *clock.Shifted
	st      *store.Store
	ctl     *control.Control
	plan    *drills.Plan
	loc     *time.Location
	now     time.Time
	reports *control.Reports
	// sched decides the estate's schedules' fires on the shifted clock; fired is what its
	// last pass fired.
	sched *scheduler.Scheduler
	fired []*store.Run
	// failedRun is the drill that failed on a dependency.
	failedRun string
	// passwords are the history's own, random and replaced before the console serves.
	passwords map[string]string
}

// recordDemoHistory writes the history into the database at url, then gives every demo user
// a new password for the console (the history's own are thrown away) and returns them.
func (a *app) recordDemoHistory(ctx context.Context, w *demoWorld, url string, ro reportOptions) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, demoDeadline)
	defer cancel()
	loc, err := time.LoadLocation(demoLocation)
	if err != nil {
		return nil, err
	}
	plan, diags := drills.ParsePlan(w.planSource, "plans/site-loss.hcl")
	if diags.HasErrors() {
		return nil, diags
	}
	h := &demoHistory{a: a, w: w, clk: clock.NewShifted(0), plan: plan, loc: loc, now: clock.Real{}.Now(), passwords: map[string]string{}}
	// The bank installed firedrill on the first of the month a year ago, migrations first.
	start := time.Date(h.now.In(loc).Year(), h.now.In(loc).Month()-12, 1, 10, 0, 0, 0, loc)
	h.clk.MoveTo(start)
	h.st, err = a.openStoreOn(ctx, h.clk, url, true)
	if err != nil {
		return nil, err
	}
	defer h.st.Close()
	if h.reports, err = a.reports(ctx, h.st, ro); err != nil {
		return nil, err
	}
	h.ctl, err = control.New(control.Config{
		Store: h.st, Clock: h.clk, Logger: a.logger, Reports: h.reports,
		Estate: &control.Estate{Path: w.estate.path, Estate: w.estate.cfg, Source: w.estate.src},
		// The history's passwords are replaced before anyone can use them: cheap hashes.
		PasswordParams: &password.Params{Memory: 8 * 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
	})
	if err != nil {
		return nil, err
	}
	h.sched, err = scheduler.New(scheduler.Config{
		Store: h.st, Estate: w.estate.cfg, EstateSource: w.estate.src, EstateFile: w.estate.path,
		LoadPlan: schedulePlanLoader(w.estate.path), Clock: h.clk, Logger: a.logger, Owner: "serve-demo-history",
		OnFire: func(_ context.Context, run *store.Run) { h.fired = append(h.fired, run) },
	})
	if err != nil {
		return nil, err
	}
	if err := h.setUp(ctx, start); err != nil {
		return nil, err
	}
	list := demoDrills(w.estate.cfg, loc, start.Add(time.Hour), h.now.AddDate(0, 0, -3))
	for i, d := range list {
		if err := h.drill(ctx, i+1, len(list), d); err != nil {
			return nil, err
		}
		if d.fault != nil {
			if err := h.fixFindings(ctx, d.at.AddDate(0, 0, 10)); err != nil {
				return nil, err
			}
		}
	}
	if err := h.publishReport(ctx, start); err != nil {
		return nil, err
	}
	return h.consolePasswords(ctx)
}

// moveTo sets the clock to t, never back: the audit chain's order is the clock's.
func (h *demoHistory) moveTo(t time.Time) {
	if now := h.clk.Now(); t.Before(now) {
		t = now
	}
	h.clk.MoveTo(t)
}

func (h *demoHistory) progress(format string, args ...any) {
	fmt.Fprintf(h.a.stderr, "demo history: "+format+"\n", args...)
}

// setUp is the bank installing firedrill a year ago: the first admin, then the people.
func (h *demoHistory) setUp(ctx context.Context, at time.Time) error {
	h.moveTo(at)
	tok, err := h.ctl.Bootstrap(ctx, &control.BootstrapParams{Name: demoAdmin, By: localActor()})
	if err != nil {
		if control.CategoryOf(err) == control.CategoryConflict {
			return errDemoDatabaseUsed
		}
		return fmt.Errorf("demo history: bootstrap: %w", err)
	}
	admin, err := h.ctl.Authenticate(ctx, tok.Secret, drills.ViaCLI)
	if err != nil {
		return fmt.Errorf("demo history: %w", err)
	}
	for _, u := range demoUsers {
		if u.name != demoAdmin {
			if _, err := h.ctl.UserCreate(ctx, admin, &control.UserCreateParams{Name: u.name, Roles: u.roles}); err != nil {
				return fmt.Errorf("demo history: create user %s: %w", u.name, err)
			}
		}
		h.passwords[u.name] = demoPassword()
		if _, err := h.ctl.PasswordSet(ctx, admin, &control.PasswordSetParams{User: u.name, Password: h.passwords[u.name]}); err != nil {
			return fmt.Errorf("demo history: password of %s: %w", u.name, err)
		}
	}
	// The bootstrap token has done its work.
	if _, err := h.ctl.TokenRevoke(ctx, admin, tok.ID); err != nil {
		return fmt.Errorf("demo history: revoke the bootstrap token: %w", err)
	}
	// The first serving replica learns the estate's schedules: their fires count from now.
	if err := h.sched.Tick(ctx); err != nil {
		return fmt.Errorf("demo history: schedules: %w", err)
	}
	h.progress("%s: firedrill installed, %d people, %d schedules", at.Format(time.DateOnly), len(demoUsers), len(h.w.estate.cfg.Schedules))
	return nil
}

// as signs user in to the console at the clock's time and passes the session's caller to f;
// the session ends after.
func (h *demoHistory) as(ctx context.Context, user string, f func(*control.Caller) error) error {
	s, err := h.ctl.SignInPassword(ctx, &control.PasswordSignInParams{User: user, Password: h.passwords[user], ClientAddr: "127.0.0.1"})
	if err != nil {
		return fmt.Errorf("demo history: sign in as %s: %w", user, err)
	}
	defer func() { _ = h.ctl.SignOut(context.WithoutCancel(ctx), s.Secret) }()
	caller, _, err := h.ctl.SessionAuthenticate(ctx, s.Secret)
	if err != nil {
		return fmt.Errorf("demo history: session of %s: %w", user, err)
	}
	return f(caller)
}

// drill is one drill as the bank runs it. The SRE asks for it the evening before, or the
// estate's schedule fires it; an SRE who did not ask for it and the compliance officer
// approve it; then the engine executes it against fresh simulated sites with the clock at
// that date.
func (h *demoHistory) drill(ctx context.Context, n, of int, d demoDrill) error {
	var runID string
	var requestedBy drills.Actor
	approvers := []string{demoSecondSRE, demoCompliance}
	execAt := d.at
	if d.schedule != "" {
		// The scheduler decides the fire a second after its time, as a serving replica would.
		h.moveTo(d.at.Add(time.Second))
		h.fired = nil
		if err := h.sched.Tick(ctx); err != nil {
			return fmt.Errorf("demo history: schedule %s: %w", d.schedule, err)
		}
		if len(h.fired) != 1 {
			return fmt.Errorf("demo history: schedule %s fired %d runs at %s, want 1", d.schedule, len(h.fired), d.at)
		}
		runID, requestedBy = h.fired[0].ID, h.fired[0].RequestedBy
		approvers = []string{demoRequester, demoCompliance}
		execAt = d.at.Add(30 * time.Minute)
	} else {
		h.moveTo(d.at.Add(-6 * time.Hour))
		if err := h.as(ctx, demoRequester, func(c *control.Caller) error {
			run, err := h.ctl.RunSubmit(ctx, c, &control.RunSubmitParams{PlanFile: "plans/site-loss.hcl", PlanSource: string(h.w.planSource), Comment: d.comment})
			if err == nil {
				runID, requestedBy = run.ID, run.RequestedBy
			}
			return err
		}); err != nil {
			return fmt.Errorf("demo history: submit drill %d: %w", n, err)
		}
	}
	for i, who := range approvers {
		step := execAt.Sub(h.clk.Now()) / time.Duration(len(approvers)+1)
		h.moveTo(h.clk.Now().Add(step))
		if err := h.as(ctx, who, func(c *control.Caller) error {
			_, err := h.ctl.RunApprove(ctx, c, &control.ApprovalDecideParams{RunID: runID, Comment: "approved for " + execAt.In(h.loc).Format("2 Jan 15:04 MST")})
			return err
		}); err != nil {
			return fmt.Errorf("demo history: approval %d of drill %d: %w", i+1, n, err)
		}
	}

	h.moveTo(execAt)
	sim, err := h.w.startSim(ctx, h.a, h.w.estate.cfg, h.clk)
	if err != nil {
		return err
	}
	defer sim.Close()
	if d.fault != nil {
		d.fault(sim)
	}
	eng, err := h.a.newEngineOn(h.clk, h.st, h.w.secrets())
	if err != nil {
		return err
	}
	defer eng.Close()
	out, err := eng.runner.Execute(ctx, runID, &orchestrator.Drill{
		Estate: h.w.estate.cfg, EstateSource: h.w.estate.src, Plan: h.plan, PlanSource: h.w.planSource, RequestedBy: requestedBy,
	})
	if err != nil {
		return fmt.Errorf("demo history: execute drill %d: %w", n, err)
	}
	verdict := "passed"
	if !out.Passed() {
		verdict = "failed: " + out.Reason
	}
	by := "asked for by " + demoRequester
	if d.schedule != "" {
		by = "fired by schedule " + d.schedule
	}
	h.progress("%s: drill %d of %d (%s) %s", execAt.In(h.loc).Format("2006-01-02 15:04 MST"), n, of, by, verdict)
	if d.fault != nil {
		h.failedRun = runID
	}
	return nil
}

// fixFindings is the SRE recording, days after the failed drill, the root cause of what it
// revealed and that it is fixed; the next passing drill retests and closes the findings.
func (h *demoHistory) fixFindings(ctx context.Context, at time.Time) error {
	h.moveTo(at)
	return h.as(ctx, demoRequester, func(c *control.Caller) error {
		list, err := h.ctl.FindingList(ctx, c, &control.FindingListParams{Statuses: []drills.FindingStatus{drills.FindingOpen}})
		if err != nil {
			return fmt.Errorf("demo history: list findings: %w", err)
		}
		cause, fixed := "auth's DR job on Yatap pointed at an image tag missing from Yatap's registry: its allocations failed, and payments and remittance, which need auth, could not start", string(drills.FindingFixed)
		for _, f := range list.Findings {
			// Each service's team owns its finding; the failed step is auth's team's.
			owner := h.w.estate.cfg.Service("auth").Owner
			if svc := h.w.estate.cfg.Service(f.Service); svc != nil && svc.Owner != "" {
				owner = svc.Owner
			}
			if _, err := h.ctl.FindingUpdate(ctx, c, &control.FindingUpdateParams{
				ID: f.ID, Owner: &owner, RootCause: &cause, Status: &fixed, Comment: "image mirrored to Yatap's registry; retest at the next drill",
			}); err != nil {
				return fmt.Errorf("demo history: update finding %s: %w", f.ID, err)
			}
		}
		if _, err := h.ctl.RunNoteAdd(ctx, c, &control.RunNoteParams{RunID: h.failedRun, Kind: "lesson",
			Text: "payments and remittance depend on auth: with auth's allocations failing on Yatap, neither could be restored there. A DR path is only as good as its dependencies'."}); err != nil {
			return fmt.Errorf("demo history: lesson of run %s: %w", h.failedRun, err)
		}
		h.progress("%s: %d findings of the failed drill fixed, awaiting retest", at.In(h.loc).Format(time.DateOnly), len(list.Findings))
		return nil
	})
}

// publishReport is the compliance officer exporting the period's report under the Korean
// profile, and publishing it the next day.
func (h *demoHistory) publishReport(ctx context.Context, start time.Time) error {
	end := h.now.In(h.loc).AddDate(0, 0, -2)
	period := start.Format(time.DateOnly) + ".." + end.Format(time.DateOnly)
	h.moveTo(time.Date(end.Year(), end.Month(), end.Day(), 11, 0, 0, 0, h.loc))
	var id string
	if err := h.as(ctx, demoCompliance, func(c *control.Caller) error {
		r, err := h.ctl.ReportExport(ctx, c, &control.ReportExportParams{Profile: "kr-efsr", Period: period})
		if err != nil {
			return fmt.Errorf("demo history: export the report: %w", err)
		}
		id = r.ID
		return nil
	}); err != nil {
		return err
	}
	h.moveTo(time.Date(end.Year(), end.Month(), end.Day()+1, 10, 0, 0, 0, h.loc))
	if err := h.as(ctx, demoCompliance, func(c *control.Caller) error {
		_, err := h.ctl.ReportPublish(ctx, c, id)
		return err
	}); err != nil {
		return fmt.Errorf("demo history: publish the report: %w", err)
	}
	h.progress("report %s (kr-efsr, %s) exported and published", id, period)
	return nil
}

// consolePasswords is the admin, now, giving every demo user a new random password, hashed
// with the real argon2id parameters; the admin's own last, since it ends the admin's sessions.
func (h *demoHistory) consolePasswords(ctx context.Context) (map[string]string, error) {
	h.clk.SetOffset(0)
	ctl, err := control.New(control.Config{Store: h.st, Clock: h.clk, Logger: h.a.logger,
		Estate: &control.Estate{Path: h.w.estate.path, Estate: h.w.estate.cfg, Source: h.w.estate.src}})
	if err != nil {
		return nil, err
	}
	s, err := ctl.SignInPassword(ctx, &control.PasswordSignInParams{User: demoAdmin, Password: h.passwords[demoAdmin], ClientAddr: "127.0.0.1"})
	if err != nil {
		return nil, fmt.Errorf("demo: sign in as %s: %w", demoAdmin, err)
	}
	admin, _, err := ctl.SessionAuthenticate(ctx, s.Secret)
	if err != nil {
		return nil, fmt.Errorf("demo: session of %s: %w", demoAdmin, err)
	}
	passwords := map[string]string{}
	for i := len(demoUsers) - 1; i >= 0; i-- {
		u := demoUsers[i]
		passwords[u.name] = demoPassword()
		if _, err := ctl.PasswordSet(ctx, admin, &control.PasswordSetParams{User: u.name, Password: passwords[u.name]}); err != nil {
			return nil, fmt.Errorf("demo: password of %s: %w", u.name, err)
		}
	}
	return passwords, nil
}
