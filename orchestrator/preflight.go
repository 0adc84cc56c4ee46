package orchestrator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// EventPreflight is the timeline entry listing every pre-flight check and its result.
const EventPreflight = "preflight"

// preflightTimeout bounds all pre-flight checks together.
const preflightTimeout = 2 * time.Minute

// preflight checks, before anything is touched, that the drill may and can run: no freeze,
// not inside a blackout of the run's schedule, every site of the plan reachable, the DR site
// with capacity, replication lag under the RPOs, and every stop condition of the plan
// measurable by this runner. It records every check in a preflight event and returns the
// reason to block the run, or "" when all passed.
func (x *execution) preflight(ctx context.Context, run *store.Run) string {
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	now := x.r.cfg.Clock.Now()
	var checks []actions.PreflightCheck

	freeze := actions.PreflightCheck{Check: "freeze"}
	switch f, on, err := x.r.cfg.Store.FreezeActive(ctx); {
	case err != nil:
		freeze.Detail = "could not read the freeze: " + err.Error()
	case on:
		freeze.Detail = fmt.Sprintf("a freeze is on, set by %s at %s: %s", f.SetBy.String(), f.SetAt.UTC().Format(time.RFC3339), f.Reason)
	default:
		freeze.OK, freeze.Detail = true, "no freeze"
	}
	checks = append(checks, freeze)

	if run.ScheduleName != "" {
		bl := actions.PreflightCheck{Check: "blackout", Subject: run.ScheduleName}
		if s := x.d.Estate.Schedule(run.ScheduleName); s == nil {
			bl.Detail = fmt.Sprintf("schedule %q is not in the estate: its blackouts cannot be checked", run.ScheduleName)
		} else if name, in := x.d.Estate.BlackoutAt(s, now); in {
			bl.Detail = fmt.Sprintf("inside blackout %q of schedule %s", name, s.Name)
		} else {
			bl.OK, bl.Detail = true, "outside every blackout of the schedule"
		}
		checks = append(checks, bl)
	}

	if sc := x.d.Plan.StopWhen; sc != nil && sc.MaxReplicationLag > 0 && x.r.cfg.Lag == nil {
		checks = append(checks, actions.PreflightCheck{Check: "stop_condition", Subject: condReplicationLag,
			Detail: "the plan sets max_replication_lag but this runner cannot measure replication lag"})
	}

	req := &actions.PreflightRequest{RunID: x.runID, Config: x.d.Estate, Plan: x.d.Plan, Clock: x.r.cfg.Clock, Logger: x.log}
	var siteChecks []actions.PreflightCheck
	for _, p := range x.r.cfg.Preflight {
		siteChecks = append(siteChecks, p.Preflight(ctx, req)...)
	}
	// Once site checks are configured, every site the plan uses must have been checked. A
	// runner built without any (tests of the engine alone) records that it did not check.
	for _, name := range x.d.Plan.Sites() {
		if len(x.r.cfg.Preflight) == 0 {
			siteChecks = append(siteChecks, actions.PreflightCheck{Check: "reachable", Site: name, OK: true,
				Detail: "not checked: this runner has no pre-flight checks for sites"})
			continue
		}
		if site := x.d.Estate.Site(name); site == nil || site.Nomad == nil {
			continue
		}
		if !slices.ContainsFunc(siteChecks, func(c actions.PreflightCheck) bool { return c.Site == name && c.Check == "reachable" }) {
			siteChecks = append(siteChecks, actions.PreflightCheck{Check: "reachable", Site: name,
				Detail: "this runner has no pre-flight check for the site's Nomad cluster"})
		}
	}
	checks = append(checks, siteChecks...)

	var failed []string
	data := make([]map[string]any, 0, len(checks))
	for _, c := range checks {
		data = append(data, map[string]any{"check": c.Check, "site": c.Site, "subject": c.Subject, "ok": c.OK, "detail": c.Detail})
		if !c.OK {
			failed = append(failed, checkLabel(c)+": "+c.Detail)
		}
	}
	msg := fmt.Sprintf("%d checks passed", len(checks))
	if len(failed) > 0 {
		msg = fmt.Sprintf("%d of %d checks failed", len(failed), len(checks))
	}
	x.event(ctx, EventPreflight, msg, map[string]any{"checks": data, "passed": len(failed) == 0})
	if len(failed) == 0 {
		x.log.InfoContext(ctx, "pre-flight passed", "checks", len(checks))
		return ""
	}
	return "pre-flight failed: " + strings.Join(failed, "; ")
}

// checkLabel names a check in a reason: "yatap capacity", "ledger replication_lag on yatap".
func checkLabel(c actions.PreflightCheck) string {
	l := c.Check
	if c.Subject != "" {
		l = c.Subject + " " + l
	}
	if c.Site != "" {
		l = c.Site + " " + l
	}
	return l
}
