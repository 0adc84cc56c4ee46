package postgres

import (
	"context"
	"fmt"
	"slices"
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
	return out
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
