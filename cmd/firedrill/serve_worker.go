package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// replicaLease names the lease an SQLite-backed serve holds: SQLite supports one replica.
const replicaLease = "replica"

// replicaLeaseTTL is how long the SQLite replica lease lasts without renewal: a serve that was
// killed blocks a new one on the same file for at most this long.
const replicaLeaseTTL = 15 * time.Second

// workerOptions are serve's worker flags.
type workerOptions struct {
	leaseFor    time.Duration
	poll        time.Duration
	concurrency int
	// notifier is told when runs start, breach a stop condition and end; optional.
	notifier orchestrator.Notifier
}

// startWorker starts the worker that claims and executes runs; the returned stop hands the
// runs in flight back (see orchestrator.Worker.Stop) and releases what it holds. On SQLite it
// first takes the single-replica lease, and refuses to start when another serve holds it.
func (a *app) startWorker(ctx context.Context, st *store.Store, opts workerOptions) (stop func(), err error) {
	eng, err := a.newEngine(st, &secret.Resolver{}, func(c *orchestrator.RunnerConfig) {
		c.LeaseFor = opts.leaseFor
		c.Notifier = opts.notifier
	})
	if err != nil {
		return nil, err
	}
	owner := eng.runner.Owner()
	releaseGuard := func() {}
	if st.Dialect() == store.DialectSQLite {
		releaseGuard, err = a.holdReplicaLease(ctx, st, owner)
		if err != nil {
			eng.Close()
			return nil, err
		}
	}
	w, err := orchestrator.NewWorker(orchestrator.WorkerConfig{
		Runner: eng.runner, Logger: a.logger, Poll: opts.poll, Concurrency: opts.concurrency,
	})
	if err == nil {
		err = w.Start(ctx)
	}
	if err != nil {
		releaseGuard()
		eng.Close()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	a.logger.InfoContext(ctx, "worker started", "owner", owner, "lease_for", opts.leaseFor.String())
	return func() {
		w.Stop()
		releaseGuard()
		eng.Close()
	}, nil
}

// holdReplicaLease takes the "replica" lease for owner and renews it until the returned
// release is called.
func (a *app) holdReplicaLease(ctx context.Context, st *store.Store, owner string) (release func(), err error) {
	epoch, held, err := st.LeaseAcquire(ctx, &store.LeaseParams{Name: replicaLease, Owner: owner, TTL: replicaLeaseTTL})
	if err != nil {
		return nil, err
	}
	if !held {
		holder := "unknown"
		if l, err := st.LeaseGet(ctx, replicaLease); err == nil {
			holder = l.Owner
		}
		return nil, fmt.Errorf("another firedrill serve (owner %s) holds this SQLite database; SQLite supports one replica: use PostgreSQL for several", holder)
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(replicaLeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
			}
			err := st.LeaseRenew(rctx, &store.LeaseParams{Name: replicaLease, Owner: owner, Epoch: epoch, TTL: replicaLeaseTTL})
			switch {
			case errors.Is(err, store.ErrLeaseLost):
				a.logger.ErrorContext(rctx, "the SQLite replica lease was lost: another serve may be using this database", "owner", owner)
				return
			case err != nil && rctx.Err() == nil:
				a.logger.WarnContext(rctx, "renewing the SQLite replica lease failed", "err", err)
			}
		}
	}()
	return func() {
		cancel()
		<-done
		lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer lcancel()
		_ = st.LeaseRelease(lctx, &store.LeaseParams{Name: replicaLease, Owner: owner, Epoch: epoch})
	}, nil
}
