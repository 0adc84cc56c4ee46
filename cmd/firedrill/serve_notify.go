package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Housekeeping periods of serve.
const (
	approvalSweepEvery = time.Minute
	overdueCheckEvery  = time.Hour
)

// startNotifications starts the notification sender for the estate's notify blocks and the
// housekeeping that feeds it: approvals whose window ended are closed, and overdue services
// are announced once a day. It returns the notifier (nil without notify blocks) and a stop.
func (a *app) startNotifications(ctx context.Context, st *store.Store, est *serveEstate) (*notify.Notifier, func(), error) {
	var estate *drills.Estate
	if est != nil {
		estate = est.cfg
	}
	n, err := a.newNotifier(estate, st, &secret.Resolver{})
	if err != nil {
		return nil, nil, err
	}
	if n != nil {
		if err := n.Start(ctx); err != nil {
			return nil, nil, err
		}
	}
	hctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.housekeep(hctx, st, estate, n)
	}()
	return n, func() {
		cancel()
		wg.Wait()
		if n != nil {
			n.Stop()
		}
	}, nil
}

// housekeep closes expired approval windows and announces overdue services until ctx ends.
func (a *app) housekeep(ctx context.Context, st *store.Store, estate *drills.Estate, n *notify.Notifier) {
	announced := map[string]string{} // service -> the day it was last announced overdue
	sweep := time.NewTicker(approvalSweepEvery)
	defer sweep.Stop()
	overdue := time.NewTicker(overdueCheckEvery)
	defer overdue.Stop()
	check := func() {
		if estate == nil || n == nil {
			return
		}
		last, err := st.LastPassedRuns(ctx)
		if err != nil {
			a.logger.WarnContext(ctx, "overdue check failed", "err", err)
			return
		}
		today := time.Now().UTC().Format(time.DateOnly)
		for _, d := range drills.DueStatuses(estate, last, time.Now()) {
			if !d.Overdue || announced[d.Service] == today {
				continue
			}
			announced[d.Service] = today
			_ = n.Notify(ctx, notify.Event{Kind: notify.EventServiceOverdue, Service: d.Service, Reason: "no passed drill within " + days(d.Every),
				Fields: map[string]any{"last_passed": d.LastPassed, "next_due": d.NextDue, "never_drilled": d.NeverDrilled}})
		}
	}
	check()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			ids, err := st.RunApprovalsExpire(ctx, time.Now())
			if err != nil {
				a.logger.WarnContext(ctx, "approval sweep failed", "err", err)
			}
			for _, id := range ids {
				a.logger.InfoContext(ctx, "approval window ended; run blocked", "run_id", id)
			}
		case <-overdue.C:
			check()
		}
	}
}

// approvalNeeded returns the scheduler hook that announces runs waiting for approval.
func approvalNeeded(n *notify.Notifier) func(ctx context.Context, run *store.Run) {
	return func(ctx context.Context, run *store.Run) {
		if n == nil || run.State != drills.RunAwaitingApproval {
			return
		}
		fields := map[string]any{"schedule": run.ScheduleName, "fire_time": run.FireTime, "approval_roles": run.ApprovalRoles}
		if run.ApprovalDeadline != nil {
			fields["deadline"] = run.ApprovalDeadline
		}
		_ = n.Notify(ctx, notify.Event{Kind: notify.EventApprovalNeeded, RunID: run.ID, Plan: run.PlanName, State: string(run.State), Fields: fields})
	}
}

// days prints a drill interval the way regulations state it: "365d".
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// serveEstate is the estate serve works from, read once at start-up.
type serveEstate struct {
	path string
	cfg  *drills.Estate
	src  []byte
}

// loadServeEstate reads the estate serve was given, or the firedrill.hcl found from the
// working directory; nil when neither exists (serve then fires no schedules and sends no
// notifications). An explicit --config that cannot be read is an error.
func loadServeEstate(configPath string) (*serveEstate, error) {
	path, err := findConfig(configPath, nil)
	if err != nil {
		if configPath == "" {
			return nil, nil
		}
		return nil, err
	}
	cfg, src, err := loadEstate(path)
	if err != nil {
		return nil, err
	}
	return &serveEstate{path: path, cfg: cfg, src: src}, nil
}
