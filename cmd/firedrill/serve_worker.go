package main

import (
	"context"
	"fmt"
	"time"

	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// workerOptions are serve's worker flags.
type workerOptions struct {
	leaseFor    time.Duration
	poll        time.Duration
	concurrency int
	// notifier is told when runs start, breach a stop condition and end; optional.
	notifier orchestrator.Notifier
	// owner names this replica in run leases; empty is the runner's default.
	owner string
	// secrets resolves what actions need (Nomad tokens); nil is the environment. serve
	// --demo gives its simulated sites' tokens, held in memory only.
	secrets *secret.Resolver
}

// startWorker starts the worker that claims and executes runs; the returned stop hands the
// runs in flight back (see orchestrator.Worker.Stop) and releases what it holds. (On SQLite,
// the single-replica lease is housekeeping's: startNotifications takes it first.)
func (a *app) startWorker(ctx context.Context, st *store.Store, opts workerOptions) (stop func(), err error) {
	secrets := opts.secrets
	if secrets == nil {
		secrets = &secret.Resolver{}
	}
	eng, err := a.newEngine(st, secrets, func(c *orchestrator.RunnerConfig) {
		c.LeaseFor = opts.leaseFor
		c.Owner = opts.owner
		c.Notifier = opts.notifier
	})
	if err != nil {
		return nil, err
	}
	owner := eng.runner.Owner()
	w, err := orchestrator.NewWorker(orchestrator.WorkerConfig{
		Runner: eng.runner, Logger: a.logger, Poll: opts.poll, Concurrency: opts.concurrency,
	})
	if err == nil {
		err = w.Start(ctx)
	}
	if err != nil {
		eng.Close()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	a.logger.InfoContext(ctx, "worker started", "owner", owner, "lease_for", opts.leaseFor.String())
	return func() {
		w.Stop()
		eng.Close()
	}, nil
}
