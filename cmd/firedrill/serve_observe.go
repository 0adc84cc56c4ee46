package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// replicaOwner names this replica in run leases (the runner's own default).
func replicaOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// registerStoreMetrics adds the store collector (runs by state, leases, RTO/RPO, overdue
// services, the outbox) to serve's metrics.
func (a *app) registerStoreMetrics(st *store.Store, est *serveEstate) error {
	cfg := metrics.CollectorConfig{Store: st, Logger: a.logger}
	if est != nil {
		cfg.Estate = est.cfg
		// Without schedules nobody takes the scheduler lease: its absence is no alert.
		if len(est.cfg.Schedules) > 0 {
			cfg.Leases = []string{scheduler.LeaseName}
		}
	}
	c, err := metrics.NewCollector(cfg)
	if err != nil {
		return err
	}
	return a.metrics.Register(c)
}

// readiness is GET /readyz's check: this replica is ready when
//   - the database answers with the schema this binary expects (store.Health);
//   - its run leases are working: no run it holds has a lease that expired (its renewals
//     reach the database);
//   - when the estate has schedules, the scheduler lease has a holder (this replica or
//     another), so fires are being decided.
func readiness(st *store.Store, clk clock.Clock, owner string, scheduling bool) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		// The reply is unauthenticated: it says which check failed, never the driver's text
		// (which may name hosts); web logs the cause.
		if err := st.Health(ctx); err != nil {
			if errors.Is(err, store.ErrSchemaOutdated) {
				return &readinessError{reason: "database: the schema is older than this binary expects (run firedrill migrate up)", cause: err}
			}
			return &readinessError{reason: "database: unreachable", cause: err}
		}
		now := clk.Now()
		lapsed, err := st.RunLeasesLapsed(ctx, owner, now)
		if err != nil {
			return &readinessError{reason: "run leases: cannot be read", cause: err}
		}
		if lapsed > 0 {
			return fmt.Errorf("run leases: %d run(s) held by this replica have a lease that expired without renewal", lapsed)
		}
		if !scheduling {
			return nil
		}
		l, err := st.LeaseGet(ctx, scheduler.LeaseName)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return errors.New("scheduler lease: no replica has taken it yet")
		case err != nil:
			return &readinessError{reason: "scheduler lease: cannot be read", cause: err}
		case l.Owner == "" || !l.ExpiresAt.After(now):
			return fmt.Errorf("scheduler lease: no holder since %s", l.ExpiresAt.UTC().Format(time.RFC3339))
		}
		return nil
	}
}

// readinessError is a failed readiness check: reason is what GET /readyz answers, cause what
// the log gets.
type readinessError struct {
	reason string
	cause  error
}

func (e *readinessError) Error() string { return e.reason }
func (e *readinessError) Unwrap() error { return e.cause }
