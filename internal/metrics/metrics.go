// Package metrics owns firedrill's Prometheus metrics: one Registry that `firedrill serve`
// builds and passes, through each component's config, to what records into it (the runner, the
// scheduler, the notifier, the Nomad and PostgreSQL clients, the web server), plus the
// collector that reads the store at scrape time. It holds no global state: a nil *Metrics
// records nothing, so components and tests that run without metrics need no stand-in.
//
// Label values are bounded: plan actions, run and step states, route patterns, site, service
// and channel names from the estate. Never a run ID, a person or a token.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric names firedrill exports; the README's Observability section, deploy/alerts.yml and
// deploy/grafana-dashboard.json use these.
const (
	NameRuns                   = "firedrill_runs"
	NameRunsOrphaned           = "firedrill_runs_orphaned"
	NameRunsFinished           = "firedrill_runs_finished_total"
	NameRunLeaseHolders        = "firedrill_run_lease_holders"
	NameLeaseHeld              = "firedrill_lease_held"
	NameStepDuration           = "firedrill_step_duration_seconds"
	NameServiceRTO             = "firedrill_service_rto_seconds"
	NameServiceRPO             = "firedrill_service_rpo_seconds"
	NameServiceRTOObjective    = "firedrill_service_rto_objective_seconds"
	NameServiceRPOObjective    = "firedrill_service_rpo_objective_seconds"
	NameServiceMeasuredAt      = "firedrill_service_last_measured_timestamp_seconds"
	NameServiceOverdue         = "firedrill_service_overdue"
	NameServicesOverdue        = "firedrill_services_overdue"
	NameScheduleLag            = "firedrill_scheduler_fire_lag_seconds"
	NameNomadErrors            = "firedrill_nomad_call_errors_total"
	NamePostgresErrors         = "firedrill_postgres_call_errors_total"
	NameNotificationFailures   = "firedrill_notification_failures_total"
	NameNotifications          = "firedrill_notifications"
	NameNotificationOldestWait = "firedrill_notification_oldest_pending_seconds"
	NameAuditPending           = "firedrill_audit_pending"
	NameHTTPDuration           = "firedrill_http_request_duration_seconds"
	NameStoreUp                = "firedrill_store_up"
)

// Names lists every metric name firedrill exports (histograms add _bucket, _sum and _count),
// the Go runtime's and the process's aside.
func Names() []string {
	return []string{
		NameRuns, NameRunsOrphaned, NameRunsFinished, NameRunLeaseHolders, NameLeaseHeld, NameStepDuration,
		NameServiceRTO, NameServiceRPO, NameServiceRTOObjective, NameServiceRPOObjective, NameServiceMeasuredAt,
		NameServiceOverdue, NameServicesOverdue, NameScheduleLag, NameNomadErrors, NamePostgresErrors,
		NameNotificationFailures, NameNotifications, NameNotificationOldestWait, NameAuditPending, NameHTTPDuration, NameStoreUp,
	}
}

// StoreTarget is the target label of the PostgreSQL errors of firedrill's own database (the
// others name the estate's site whose database was called).
const StoreTarget = "store"

// Metrics records firedrill's series into its Registry. Create it with New; every method is
// safe on a nil *Metrics (it records nothing) and for concurrent use.
type Metrics struct {
	// Registry holds every firedrill series, the Go runtime's and the process's.
	Registry *prometheus.Registry

	stepDuration         *prometheus.HistogramVec
	runsFinished         *prometheus.CounterVec
	scheduleLag          prometheus.Histogram
	nomadErrors          *prometheus.CounterVec
	postgresErrors       *prometheus.CounterVec
	notificationFailures *prometheus.CounterVec
	httpDuration         *prometheus.HistogramVec
}

// New returns Metrics with a fresh Registry holding firedrill's recorded series and the Go
// and process collectors. Add the store's with Register(NewCollector(...)).
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		stepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: NameStepDuration, Help: "How long a drill's steps took, by action and the state they ended in.",
			// Steps range from an HTTP check (a second) to a drain or a person's decision (an hour).
			Buckets: []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
		}, []string{"action", "state"}),
		runsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameRunsFinished, Help: "Runs this replica carried to their end, by the state they ended in.",
		}, []string{"state"}),
		scheduleLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: NameScheduleLag, Help: "How long after its fire time a schedule's run was created (decided by the scheduler lease holder).",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		nomadErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameNomadErrors, Help: "Nomad API calls that failed after their retries, by site.",
		}, []string{"site"}),
		postgresErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NamePostgresErrors, Help: `PostgreSQL calls that failed: target "store" is firedrill's own database, any other a site's.`,
		}, []string{"target"}),
		notificationFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameNotificationFailures, Help: "Notification sends that failed, by channel; final=\"true\" when no retry is left.",
		}, []string{"channel", "final"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: NameHTTPDuration, Help: "HTTP requests served, by route pattern, method and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "code"}),
	}
	// A counter series born at its first increment hides that increment from increase():
	// the ends of runs start at zero, so an alert sees the first failed drill.
	for _, state := range runStates {
		if state.IsTerminal() {
			m.runsFinished.WithLabelValues(string(state))
		}
	}
	m.Registry.MustRegister(
		m.stepDuration, m.runsFinished, m.scheduleLag, m.nomadErrors, m.postgresErrors,
		m.notificationFailures, m.httpDuration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Register adds a collector (the store's, NewCollector) to the registry.
func (m *Metrics) Register(c prometheus.Collector) error {
	if m == nil {
		return nil
	}
	return m.Registry.Register(c)
}

// Handler serves the registry in Prometheus' exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// StepFinished records that a step of the given action ended in state after took.
func (m *Metrics) StepFinished(action, state string, took time.Duration) {
	if m == nil {
		return
	}
	m.stepDuration.WithLabelValues(action, state).Observe(took.Seconds())
}

// RunFinished records that this replica ended a run in state.
func (m *Metrics) RunFinished(state string) {
	if m == nil {
		return
	}
	m.runsFinished.WithLabelValues(state).Inc()
}

// ScheduleFired records that a schedule's run was created lag after its fire time.
func (m *Metrics) ScheduleFired(lag time.Duration) {
	if m == nil {
		return
	}
	m.scheduleLag.Observe(max(lag, 0).Seconds())
}

// NomadCallFailed records a failed Nomad API call against site.
func (m *Metrics) NomadCallFailed(site string) {
	if m == nil {
		return
	}
	m.nomadErrors.WithLabelValues(site).Inc()
}

// PostgresCallFailed records a failed PostgreSQL call: target is a site's name or StoreTarget.
func (m *Metrics) PostgresCallFailed(target string) {
	if m == nil {
		return
	}
	m.postgresErrors.WithLabelValues(target).Inc()
}

// NotificationFailed records a failed send on channel; final when no retry is left.
func (m *Metrics) NotificationFailed(channel string, final bool) {
	if m == nil {
		return
	}
	m.notificationFailures.WithLabelValues(channel, strconv.FormatBool(final)).Inc()
}

// HTTPRequest records a request served by the route pattern (the mux's, never the raw path).
func (m *Metrics) HTTPRequest(route, method string, code int, took time.Duration) {
	if m == nil {
		return
	}
	m.httpDuration.WithLabelValues(route, boundedMethod(method), strconv.Itoa(code)).Observe(took.Seconds())
}

// boundedMethod keeps the method label to the methods HTTP defines: anything a client makes
// up counts as "other".
func boundedMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}
