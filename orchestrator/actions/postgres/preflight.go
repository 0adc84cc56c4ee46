package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Preflight implements actions.Preflighter: for every database that a plan service's canary
// writes to and that both the plan's from site (the primary) and its to site (the standby)
// declare, one "replication_lag" check that the standby streams and lags less than the RPO
// of those services. An RPO of zero requires the standby to have replayed everything.
func (p *Postgres) Preflight(ctx context.Context, req *actions.PreflightRequest) []actions.PreflightCheck {
	from, to := req.Config.Site(req.Plan.From), req.Config.Site(req.Plan.To)
	if from == nil || to == nil {
		return nil
	}
	// The tightest RPO of the services that write to each database.
	limit := map[string]time.Duration{}
	users := map[string][]string{}
	var order []string
	for _, name := range req.Plan.Services {
		svc := req.Config.Service(name)
		if svc == nil || svc.Canary == nil {
			continue
		}
		db := svc.Canary.Database
		if from.Database(db) == nil || to.Database(db) == nil {
			continue
		}
		if cur, seen := limit[db]; !seen || svc.RPO < cur {
			limit[db] = svc.RPO
		}
		if !slices.Contains(order, db) {
			order = append(order, db)
		}
		users[db] = append(users[db], name)
	}
	var out []actions.PreflightCheck
	for _, db := range order {
		rpo := limit[db]
		check := actions.PreflightCheck{Check: "replication_lag", Site: to.Name, Subject: db}
		// A zero RPO tolerates no lag at all: the shortest limit the check knows.
		maxLag := max(rpo, time.Nanosecond)
		res, err := p.checkReplication(ctx, req, to, db, map[string]any{"max_lag": maxLag})
		lag := "unknown"
		if res != nil {
			if ms, ok := res.Evidence["lag_ms"].(int64); ok {
				lag = (time.Duration(ms) * time.Millisecond).String()
			}
		}
		if err != nil {
			check.Detail = fmt.Sprintf("%v (RPO %s of %v)", err, rpo, users[db])
		} else {
			check.OK = true
			check.Detail = fmt.Sprintf("lag %s, under the RPO %s of %v", lag, rpo, users[db])
		}
		out = append(out, check)
	}
	return append(out, p.fencePreflight(ctx, req)...)
}

// fencePreflight proves, for every postgres.fence and postgres.unfence step of the plan (its
// rollback and cleanup too), that the site's database is a primary and that the step's
// credentials may do what the step will: ALTER SYSTEM on default_transaction_read_only,
// pg_reload_conf, and (when it terminates sessions) pg_terminate_backend; and that no role or
// database setting would defeat the fence. One "fence_privileges" check per site and database.
func (p *Postgres) fencePreflight(ctx context.Context, req *actions.PreflightRequest) []actions.PreflightCheck {
	type key struct{ site, db string }
	terminates := map[key]bool{}
	var order []key
	for _, steps := range [][]*drills.Step{req.Plan.Steps, req.Plan.Rollback, req.Plan.Cleanup} {
		for _, s := range steps {
			if s.Action != ActionFence && s.Action != ActionUnfence {
				continue
			}
			k := key{s.Site, s.String("database")}
			if _, seen := terminates[k]; !seen {
				order = append(order, k)
				terminates[k] = false
			}
			if _, set := s.Params["terminate_sessions"]; s.Action == ActionFence && (!set || s.Bool("terminate_sessions")) {
				terminates[k] = true
			}
		}
	}
	var out []actions.PreflightCheck
	for _, k := range order {
		check := actions.PreflightCheck{Check: "fence_privileges", Site: k.site, Subject: k.db}
		detail, err := p.fenceCapable(ctx, req.Config.Site(k.site), k.db, terminates[k])
		check.OK, check.Detail = err == nil, detail
		if err != nil {
			check.Detail = err.Error()
		}
		out = append(out, check)
	}
	return out
}

// fenceCapable checks one database for fencePreflight. It only reads.
func (p *Postgres) fenceCapable(ctx context.Context, site *drills.Site, db string, terminate bool) (string, error) {
	t, err := p.target(site, db)
	if err != nil {
		return "", err
	}
	conn, err := p.connect(ctx, t)
	if err != nil {
		return "", err
	}
	defer p.closeConn(ctx, conn)
	st, err := p.readOnlyState(ctx, t, conn)
	if err != nil {
		return "", err
	}
	if st.inRecovery {
		return "", fmt.Errorf("%s is in recovery: postgres.fence and postgres.unfence need the primary", t)
	}
	overrides, err := p.readOnlyOverrides(ctx, t, conn)
	if err != nil {
		return "", err
	}
	if len(overrides) > 0 {
		return "", fmt.Errorf("%s: %w: role or database settings turn default_transaction_read_only off (%s)", t, ErrFenceDoesNotHold, strings.Join(overrides, "; "))
	}
	if st.superuser {
		return fmt.Sprintf("%s is a primary; %s is a superuser: may ALTER SYSTEM, reload and terminate sessions", t, st.user), nil
	}
	callCtx, cancel := context.WithTimeout(ctx, p.cfg.CallTimeout)
	defer cancel()
	var version int
	var reload, signal bool
	if err := conn.QueryRow(callCtx, `SELECT current_setting('server_version_num')::int,
		has_function_privilege('pg_reload_conf()', 'EXECUTE'), pg_has_role('pg_signal_backend', 'MEMBER')`).Scan(&version, &reload, &signal); err != nil {
		return "", fmt.Errorf("read the privileges of %s on %s: %w", st.user, t, t.safe(err))
	}
	alter := false
	if version >= 150000 {
		if err := conn.QueryRow(callCtx, `SELECT has_parameter_privilege('default_transaction_read_only', 'ALTER SYSTEM')`).Scan(&alter); err != nil {
			return "", fmt.Errorf("read the privileges of %s on %s: %w", st.user, t, t.safe(err))
		}
	}
	var missing []string
	if !alter {
		missing = append(missing, "ALTER SYSTEM on default_transaction_read_only (superuser, or from PostgreSQL 15 GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only)")
	}
	if !reload {
		missing = append(missing, "EXECUTE on pg_reload_conf()")
	}
	if terminate && !signal {
		missing = append(missing, "pg_terminate_backend of other sessions (superuser, or membership of pg_signal_backend)")
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%s: the user %s may not %s", t, st.user, strings.Join(missing, "; "))
	}
	detail := fmt.Sprintf("%s is a primary; %s may ALTER SYSTEM on default_transaction_read_only and reload", t, st.user)
	if terminate {
		detail += "; it may terminate sessions, except those of superusers"
	}
	return detail, nil
}

// ReplicationLag implements actions.LagReader with the measurement of
// postgres.check_replication: the standby's replay lag in time behind the primary.
func (p *Postgres) ReplicationLag(ctx context.Context, primary, dr *drills.Site, database string) (time.Duration, error) {
	req := &actions.PreflightRequest{
		Config: &drills.Estate{Sites: []*drills.Site{primary, dr}},
		Plan:   &drills.Plan{From: primary.Name, To: dr.Name},
	}
	res, err := p.checkReplication(ctx, req, dr, database, map[string]any{"require_streaming": false})
	if err != nil {
		return 0, err
	}
	ms, ok := res.Evidence["lag_ms"].(int64)
	if !ok {
		return 0, fmt.Errorf("replication lag of %s on %s: unknown (no transaction replayed since the standby started)", database, dr.Name)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// checkReplication runs the postgres.check_replication logic outside a plan step.
func (p *Postgres) checkReplication(ctx context.Context, req *actions.PreflightRequest, standby *drills.Site, database string, params map[string]any) (*actions.Result, error) {
	params["database"] = database
	step := &drills.Step{Name: "preflight", Action: ActionCheckReplication, Site: standby.Name, Params: params}
	return (&CheckReplication{p: p}).Run(ctx, &actions.Request{
		RunID: req.RunID, Config: req.Config, Plan: req.Plan,
		Instance: drills.StepInstance{Step: step, Key: "preflight:replication_lag[" + database + "]"},
		Site:     standby, Clock: p.cfg.Clock, Logger: req.Logger,
	})
}

var (
	_ actions.Preflighter = (*Postgres)(nil)
	_ actions.LagReader   = (*Postgres)(nil)
)
