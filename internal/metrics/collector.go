package metrics

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// DefaultScrapeTimeout bounds the store reads of one scrape.
const DefaultScrapeTimeout = 5 * time.Second

// runStates are every state a run can be in: each gets a series, zero when no run is in it, so
// that a rate or an alert sees the first failed run as a change rather than a new series.
var runStates = []drills.RunState{
	drills.RunPending, drills.RunAwaitingApproval, drills.RunRunning, drills.RunWaitingOperator,
	drills.RunSucceeded, drills.RunFailed, drills.RunBlocked, drills.RunAborted,
	drills.RunRolledBack, drills.RunRollbackFailed,
}

// notificationStates are the outbox's states, each with a series.
var notificationStates = []string{store.NotificationPending, store.NotificationSent, store.NotificationFailed}

// CollectorConfig configures the store collector.
type CollectorConfig struct {
	// Store is read at each scrape. Required.
	Store *store.Store
	// Estate names the services whose drills can be overdue; nil reports no service.
	Estate *drills.Estate
	// Leases are the leases (by name, e.g. the scheduler's) whose holding is reported.
	Leases []string
	// Clock defaults to the wall clock.
	Clock clock.Clock
	// Logger hears of failed reads. Defaults to one that discards.
	Logger *slog.Logger
	// Timeout bounds one scrape's reads. Defaults to DefaultScrapeTimeout (5s).
	Timeout time.Duration
}

// Collector reports, at each scrape, what the store knows: runs by state, run and named
// lease holders, each service's last measured RTO and RPO and whether its drill is overdue,
// and the notification outbox. Each is one bounded statement; the per-service measurements
// are read again only once the audit head moved (a run's end always moves it).
type Collector struct {
	cfg CollectorConfig
	log *slog.Logger

	mu       sync.Mutex
	head     int64
	measured []store.ServiceMeasured
	cached   bool

	up, runs, orphaned, runHolders, leaseHeld        *prometheus.Desc
	rto, rpo, rtoObjective, rpoObjective, measuredAt *prometheus.Desc
	overdue, overdueCount, notifications, oldestWait *prometheus.Desc
	auditPending                                     *prometheus.Desc
}

// NewCollector returns the store collector.
func NewCollector(cfg CollectorConfig) (*Collector, error) {
	if cfg.Store == nil {
		return nil, errors.New("metrics collector: Store is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultScrapeTimeout
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("metrics collector: Timeout must be positive")
	}
	service := []string{"service"}
	return &Collector{
		cfg: cfg, log: cfg.Logger.With("component", "metrics"),
		up:            prometheus.NewDesc(NameStoreUp, "1 when this scrape could read the store, 0 otherwise (the store's series are then missing).", nil, nil),
		runs:          prometheus.NewDesc(NameRuns, "Runs in the store, by state.", []string{"state"}, nil),
		orphaned:      prometheus.NewDesc(NameRunsOrphaned, "Started runs not over whose lease expired: no replica carries them until one claims them.", nil, nil),
		runHolders:    prometheus.NewDesc(NameRunLeaseHolders, "Replicas holding an unexpired lease on a running run.", nil, nil),
		leaseHeld:     prometheus.NewDesc(NameLeaseHeld, "1 when some replica holds the named lease unexpired (scheduler: one replica decides fires).", []string{"lease"}, nil),
		rto:           prometheus.NewDesc(NameServiceRTO, "RTO last measured for the service (the latest ended run that measured it).", service, nil),
		rpo:           prometheus.NewDesc(NameServiceRPO, "RPO (data loss window) last measured for the service.", service, nil),
		rtoObjective:  prometheus.NewDesc(NameServiceRTOObjective, "The RTO objective that measurement was judged against.", service, nil),
		rpoObjective:  prometheus.NewDesc(NameServiceRPOObjective, "The RPO objective that measurement was judged against.", service, nil),
		measuredAt:    prometheus.NewDesc(NameServiceMeasuredAt, "When the run that last measured the service ended (Unix seconds).", service, nil),
		overdue:       prometheus.NewDesc(NameServiceOverdue, "1 when the service's drill is overdue (no passed drill within its drill_every), 0 otherwise.", service, nil),
		overdueCount:  prometheus.NewDesc(NameServicesOverdue, "Services whose drill is overdue.", nil, nil),
		notifications: prometheus.NewDesc(NameNotifications, "Notifications in the outbox, by state.", []string{"state"}, nil),
		oldestWait:    prometheus.NewDesc(NameNotificationOldestWait, "How long the oldest notification still to be sent has waited; 0 when none waits.", nil, nil),
		auditPending:  prometheus.NewDesc(NameAuditPending, "Facts committed but not yet appended to the audit chain (the replicas chain them within a second; a backlog that stays means chaining fails).", nil, nil),
	}, nil
}

// Describe sends every descriptor.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.runs, c.orphaned, c.runHolders, c.leaseHeld, c.rto, c.rpo,
		c.rtoObjective, c.rpoObjective, c.measuredAt, c.overdue, c.overdueCount, c.notifications, c.oldestWait, c.auditPending} {
		ch <- d
	}
}

// Collect reads the store. A failed read reports firedrill_store_up 0 and leaves the store's
// series out of this scrape rather than reporting stale or zero values.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	if err := c.collect(ctx, ch); err != nil {
		c.log.WarnContext(ctx, "metrics: reading the store failed", "err", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
}

// collect reads everything first and sends only once every read succeeded.
func (c *Collector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	st := c.cfg.Store
	now := c.cfg.Clock.Now()
	// First: reading the audit head below chains what is pending.
	auditPending, err := st.AuditPendingCount(ctx)
	if err != nil {
		return err
	}
	byState, err := st.RunCountByState(ctx)
	if err != nil {
		return err
	}
	leases, err := st.RunLeasesGet(ctx, now)
	if err != nil {
		return err
	}
	held := make(map[string]bool, len(c.cfg.Leases))
	for _, name := range c.cfg.Leases {
		l, err := st.LeaseGet(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			held[name] = l.Owner != "" && l.ExpiresAt.After(now)
		}
	}
	measured, err := c.measuredList(ctx)
	if err != nil {
		return err
	}
	var due []drills.DueStatus
	if c.cfg.Estate != nil {
		last, err := st.LastPassedRuns(ctx)
		if err != nil {
			return err
		}
		due = drills.DueStatuses(c.cfg.Estate, last, now)
	}
	backlog, err := st.NotificationBacklogGet(ctx)
	if err != nil {
		return err
	}

	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, s := range runStates {
		gauge(c.runs, float64(byState[s]), string(s))
	}
	gauge(c.orphaned, float64(leases.Orphaned))
	gauge(c.runHolders, float64(leases.Holders))
	for _, name := range c.cfg.Leases {
		gauge(c.leaseHeld, boolValue(held[name]), name)
	}
	for _, m := range measured {
		gauge(c.rto, m.RTO.Seconds(), m.Service)
		if m.RPO != nil {
			gauge(c.rpo, m.RPO.Seconds(), m.Service)
		}
		gauge(c.rtoObjective, m.RTOObjective.Seconds(), m.Service)
		gauge(c.rpoObjective, m.RPOObjective.Seconds(), m.Service)
		gauge(c.measuredAt, float64(m.EndedAt.UnixMilli())/1000, m.Service)
	}
	if c.cfg.Estate != nil {
		n := 0
		for _, d := range due {
			if d.Overdue {
				n++
			}
			gauge(c.overdue, boolValue(d.Overdue), d.Service)
		}
		gauge(c.overdueCount, float64(n))
	}
	for _, s := range notificationStates {
		gauge(c.notifications, float64(backlog.ByState[s]), s)
	}
	wait := 0.0
	if !backlog.OldestPending.IsZero() {
		wait = max(now.Sub(backlog.OldestPending), 0).Seconds()
	}
	gauge(c.oldestWait, wait)
	gauge(c.auditPending, float64(auditPending))
	return nil
}

// measuredList is ServiceMeasuredList, read again only when the audit head moved.
func (c *Collector) measuredList(ctx context.Context) ([]store.ServiceMeasured, error) {
	head, _, err := c.cfg.Store.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cached && c.head == head {
		return c.measured, nil
	}
	out, err := c.cfg.Store.ServiceMeasuredList(ctx)
	if err != nil {
		return nil, err
	}
	c.head, c.measured, c.cached = head, out, true
	return out, nil
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
