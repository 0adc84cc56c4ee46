// Package housekeeping runs the engine's periodic chores that belong to no single run: it
// ends the runs whose approval window closed before their policy was met (they become
// blocked), announces services whose drills are overdue (once a day each), and, on SQLite,
// holds the single-replica lease that keeps a second serve off the same database file.
//
// Every loop is driven by the injected clock's tickers, so tests run it on a fake clock. It
// never executes runs, fires schedules or decides approvals: the worker, the scheduler and
// the operations layer do.
package housekeeping

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultApprovalSweepEvery = time.Minute
	DefaultOverdueCheckEvery  = time.Hour
	// DefaultReplicaLeaseFor is how long the SQLite replica lease lasts without renewal: a
	// serve that was killed keeps a new one off the same file for at most this long.
	DefaultReplicaLeaseFor = 15 * time.Second
	// ReplicaLeaseName is the lease an SQLite-backed replica holds: SQLite supports one.
	ReplicaLeaseName = "replica"
	// releaseTimeout bounds giving the replica lease back on Stop.
	releaseTimeout = 5 * time.Second
)

// Notifier receives the announcements housekeeping makes. *notify.Notifier is one.
type Notifier interface {
	Notify(ctx context.Context, e notify.Event) error
}

// Config configures a Housekeeper.
type Config struct {
	// Store holds the runs, their approvals, the measurements and the leases. Required.
	Store *store.Store
	// Estate lists the services whose drill frequency is watched. Optional: without it (or
	// without a Notifier) no overdue service is announced.
	Estate *drills.Estate
	// Notifier is told about overdue services and runs whose approval window ended. Optional.
	Notifier Notifier
	// Clock drives every loop. Defaults to the wall clock.
	Clock clock.Clock
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
	// Owner names this replica in the SQLite replica lease (and in the refusal a second
	// replica gets). Defaults to hostname:pid, as the runner's owner.
	Owner string
	// ApprovalSweepEvery is how often runs whose approval window ended are blocked.
	// Defaults to 1m.
	ApprovalSweepEvery time.Duration
	// OverdueCheckEvery is how often the services' due status is checked (each overdue
	// service is announced at most once a UTC day). Defaults to 1h.
	OverdueCheckEvery time.Duration
	// ReplicaLeaseFor is how long the SQLite replica lease lasts without renewal; it is
	// renewed every third of it. Defaults to 15s. Unused on PostgreSQL.
	ReplicaLeaseFor time.Duration
}

// Housekeeper runs the chores. Create it with New.
type Housekeeper struct {
	cfg Config
	log *slog.Logger
	// announced maps a service to the UTC day it was last announced overdue; it belongs to
	// the chores goroutine.
	announced map[string]string

	mu       sync.Mutex
	started  bool
	stopped  bool
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	// leaseEpoch is the epoch of the replica lease this replica holds; leaseHeld says whether
	// it holds one.
	leaseEpoch int64
	leaseHeld  bool
}

// New checks cfg, applies defaults and returns a Housekeeper, not started.
func New(cfg Config) (*Housekeeper, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("housekeeping: Store is required")
	case cfg.ApprovalSweepEvery < 0, cfg.OverdueCheckEvery < 0, cfg.ReplicaLeaseFor < 0:
		return nil, errors.New("housekeeping: ApprovalSweepEvery, OverdueCheckEvery and ReplicaLeaseFor must not be negative")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if cfg.ApprovalSweepEvery == 0 {
		cfg.ApprovalSweepEvery = DefaultApprovalSweepEvery
	}
	if cfg.OverdueCheckEvery == 0 {
		cfg.OverdueCheckEvery = DefaultOverdueCheckEvery
	}
	if cfg.ReplicaLeaseFor == 0 {
		cfg.ReplicaLeaseFor = DefaultReplicaLeaseFor
	}
	if cfg.ReplicaLeaseFor < 3*time.Millisecond {
		return nil, fmt.Errorf("housekeeping: ReplicaLeaseFor (%s) must be at least 3ms: it is renewed every third of it", cfg.ReplicaLeaseFor)
	}
	return &Housekeeper{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "housekeeping"),
		announced: map[string]string{},
	}, nil
}

// Start begins the chores in the background. On SQLite it first takes the replica lease and
// refuses to start (without doing anything) when another replica holds it. The chores end
// with ctx or Stop; the lease is held until Stop, even after ctx ends, so that the replica can
// hand its runs back before another takes the database.
func (h *Housekeeper) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.stopped:
		return errors.New("housekeeping: stopped")
	case h.started:
		return errors.New("housekeeping: already started")
	}
	if h.cfg.Store.Dialect() == store.DialectSQLite {
		if err := h.acquireReplicaLease(ctx); err != nil {
			return err
		}
		// The renewal outlives ctx (see above); Stop ends it.
		renew := h.cfg.Clock.NewTicker(h.cfg.ReplicaLeaseFor / 3)
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		h.goLoop(cancel, func() { h.renewReplicaLease(rctx, renew) })
	}
	// The tickers are armed here, not in the goroutine, so they count from Start.
	sweep := h.cfg.Clock.NewTicker(h.cfg.ApprovalSweepEvery)
	overdue := h.cfg.Clock.NewTicker(h.cfg.OverdueCheckEvery)
	cctx, cancel := context.WithCancel(ctx)
	h.goLoop(cancel, func() { h.chores(cctx, sweep, overdue) })
	h.started = true
	return nil
}

// goLoop runs loop in a goroutine that Stop cancels (with cancel) and waits for.
func (h *Housekeeper) goLoop(cancel context.CancelFunc, loop func()) {
	prev := h.cancel
	h.cancel = func() {
		if prev != nil {
			prev()
		}
		cancel()
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		loop()
	}()
}

// Stop ends the chores, waits for them and gives the replica lease back, so another replica
// can take the database at once. It is idempotent; every call returns once all is done.
func (h *Housekeeper) Stop() {
	h.stopOnce.Do(func() {
		h.mu.Lock()
		h.stopped = true
		cancel := h.cancel
		h.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		h.wg.Wait()
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.leaseHeld {
			ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
			defer cancel()
			if err := h.cfg.Store.LeaseRelease(ctx, &store.LeaseParams{Name: ReplicaLeaseName, Owner: h.cfg.Owner, Epoch: h.leaseEpoch}); err != nil {
				h.log.Warn("replica lease not released; it expires on its own", "err", err)
			}
			h.leaseHeld = false
		}
	})
}

// chores closes expired approval windows and announces overdue services until ctx ends.
func (h *Housekeeper) chores(ctx context.Context, sweep, overdue clock.Ticker) {
	defer sweep.Stop()
	defer overdue.Stop()
	h.checkOverdue(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C():
			h.sweepApprovals(ctx)
		case <-overdue.C():
			h.checkOverdue(ctx)
		}
	}
}

// sweepApprovals blocks the runs whose approval window ended before their policy was met.
func (h *Housekeeper) sweepApprovals(ctx context.Context) {
	ids, err := h.cfg.Store.RunApprovalsExpire(ctx, h.cfg.Clock.Now())
	if err != nil {
		if ctx.Err() == nil {
			h.log.WarnContext(ctx, "approval sweep failed", "err", err)
		}
		return
	}
	for _, id := range ids {
		h.log.InfoContext(ctx, "approval window ended; run blocked", "run_id", id)
		if h.cfg.Notifier == nil {
			continue
		}
		// The run ended without a worker: nobody else announces its end.
		run, err := h.cfg.Store.RunGet(ctx, id)
		if err != nil {
			h.log.WarnContext(ctx, "expired run not announced", "run_id", id, "err", err)
			continue
		}
		if err := h.cfg.Notifier.Notify(ctx, notify.RunEndedUnexecuted(run)); err != nil {
			h.log.WarnContext(ctx, "expired run not announced", "run_id", id, "err", err)
		}
	}
}

// checkOverdue announces each overdue service, once per UTC day.
func (h *Housekeeper) checkOverdue(ctx context.Context) {
	if h.cfg.Estate == nil || h.cfg.Notifier == nil {
		return
	}
	last, err := h.cfg.Store.LastPassedRuns(ctx)
	if err != nil {
		if ctx.Err() == nil {
			h.log.WarnContext(ctx, "overdue check failed", "err", err)
		}
		return
	}
	now := h.cfg.Clock.Now()
	today := now.UTC().Format(time.DateOnly)
	for _, d := range drills.DueStatuses(h.cfg.Estate, last, now) {
		if !d.Overdue || h.announced[d.Service] == today {
			continue
		}
		h.announced[d.Service] = today
		// The notifier logs a failure to record; an announcement is retried the next day.
		_ = h.cfg.Notifier.Notify(ctx, notify.Event{
			Kind: notify.EventServiceOverdue, At: now, Service: d.Service, Reason: "no passed drill within " + days(d.Every),
			Fields: map[string]any{"last_passed": d.LastPassed, "next_due": d.NextDue, "never_drilled": d.NeverDrilled},
		})
	}
}

// acquireReplicaLease takes the replica lease, or says who holds it.
func (h *Housekeeper) acquireReplicaLease(ctx context.Context) error {
	epoch, held, err := h.cfg.Store.LeaseAcquire(ctx, &store.LeaseParams{Name: ReplicaLeaseName, Owner: h.cfg.Owner, TTL: h.cfg.ReplicaLeaseFor})
	if err != nil {
		return fmt.Errorf("take the SQLite replica lease: %w", err)
	}
	if !held {
		holder := "unknown"
		if l, err := h.cfg.Store.LeaseGet(ctx, ReplicaLeaseName); err == nil {
			holder = l.Owner
		}
		return fmt.Errorf("another firedrill serve (owner %s) holds this SQLite database; SQLite supports one replica: use PostgreSQL for several", holder)
	}
	h.leaseEpoch, h.leaseHeld = epoch, true
	h.log.InfoContext(ctx, "replica lease taken", "owner", h.cfg.Owner, "epoch", epoch)
	return nil
}

// renewReplicaLease renews the replica lease at every tick until ctx ends or the lease is lost.
func (h *Housekeeper) renewReplicaLease(ctx context.Context, t clock.Ticker) {
	defer t.Stop()
	epoch := h.leaseEpoch // set by Start before this goroutine began
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		err := h.cfg.Store.LeaseRenew(ctx, &store.LeaseParams{Name: ReplicaLeaseName, Owner: h.cfg.Owner, Epoch: epoch, TTL: h.cfg.ReplicaLeaseFor})
		switch {
		case errors.Is(err, store.ErrLeaseLost):
			h.log.ErrorContext(ctx, "the SQLite replica lease was lost: another serve may be using this database", "owner", h.cfg.Owner)
			return
		case err != nil && ctx.Err() == nil:
			h.log.WarnContext(ctx, "renewing the SQLite replica lease failed", "err", err)
		}
	}
}

// days prints a drill interval the way regulations state it: "365d".
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
