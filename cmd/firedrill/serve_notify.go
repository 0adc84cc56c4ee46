package main

import (
	"context"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/housekeeping"
	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// startNotifications starts the notification sender for the estate's notify blocks and the
// housekeeping that feeds it (approval windows that ended, overdue services; on SQLite also
// the single-replica lease, so a second serve on the same file is refused here, before it does
// anything). It returns the notifier (nil without notify blocks) and a stop, to be called after
// the worker's: the lease is released last.
func (a *app) startNotifications(ctx context.Context, st *store.Store, est *serveEstate) (*notify.Notifier, func(), error) {
	var estate *drills.Estate
	if est != nil {
		estate = est.cfg
	}
	n, err := a.newNotifier(estate, st, &secret.Resolver{})
	if err != nil {
		return nil, nil, err
	}
	hcfg := housekeeping.Config{Store: st, Estate: estate, Clock: clock.Real{}, Logger: a.logger}
	if n != nil {
		hcfg.Notifier = n // never a nil *Notifier in the interface
	}
	hk, err := housekeeping.New(hcfg)
	if err != nil {
		return nil, nil, err
	}
	if err := hk.Start(ctx); err != nil {
		return nil, nil, err
	}
	if n != nil {
		if err := n.Start(ctx); err != nil {
			hk.Stop()
			return nil, nil, err
		}
	}
	return n, func() {
		hk.Stop()
		if n != nil {
			n.Stop()
		}
	}, nil
}

// approvalNeeded returns the scheduler hook that announces fired runs waiting for approval,
// with the event a submission through the API announces (notify.ApprovalNeeded). A
// notification that cannot be queued is logged; the fire stands.
func (a *app) approvalNeeded(n *notify.Notifier) func(ctx context.Context, run *store.Run) {
	return func(ctx context.Context, run *store.Run) {
		if n == nil || run.State != drills.RunAwaitingApproval {
			return
		}
		if err := n.Notify(ctx, notify.ApprovalNeeded(run)); err != nil {
			a.logger.WarnContext(ctx, "notification not queued", "run_id", run.ID, "event", string(notify.EventApprovalNeeded), "err", err)
		}
	}
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
