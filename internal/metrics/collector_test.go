package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// gather collects c once and indexes its samples by metric name and label values
// ("firedrill_runs" -> "succeeded" -> 180).
func gather(t *testing.T, c prometheus.Collector) map[string]map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]map[string]float64{}
	for _, f := range families {
		byLabels := map[string]float64{}
		for _, m := range f.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetValue()
			}
			byLabels[key] = value(m)
		}
		out[f.GetName()] = byLabels
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	}
	return 0
}

// TestCollectorReportsTheStore seeds a history on PostgreSQL and checks what a scrape reports
// against the store's own lists: runs by state, each service's latest measured RTO and RPO,
// the scheduler lease, the outbox; and that a store it cannot read is reported as down.
func TestCollectorReportsTheStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDatabase(t)
	clk := clocktest.New(storetest.SeedNewest.Add(24 * time.Hour))
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	const runs = 120
	if _, err := storetest.Seed(ctx, dsn, &storetest.SeedParams{Runs: runs, StepsPerRun: 6}); err != nil {
		t.Fatal(err)
	}
	estate, diags := drills.ParseEstate(storetest.SeedEstateHCL, "seed.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	// One service is due every hour (overdue a day after the history), the others yearly.
	for _, svc := range estate.Services {
		svc.DrillEvery = 365 * 24 * time.Hour
	}
	estate.Services[0].DrillEvery = time.Hour
	c, err := metrics.NewCollector(metrics.CollectorConfig{Store: st, Estate: estate, Leases: []string{"scheduler"}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}

	got := gather(t, c)
	if got[metrics.NameStoreUp][""] != 1 {
		t.Fatalf("%s = %v; want 1", metrics.NameStoreUp, got[metrics.NameStoreUp])
	}
	page, err := st.RunList(ctx, &store.RunListParams{Limit: store.MaxRunListLimit})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for _, r := range page.Runs {
		want[string(r.State)]++
	}
	total := 0.0
	for state, n := range got[metrics.NameRuns] {
		total += n
		if n != want[state] {
			t.Errorf("%s{state=%q} = %v; want %v", metrics.NameRuns, state, n, want[state])
		}
	}
	if total != runs || len(got[metrics.NameRuns]) != 10 {
		t.Errorf("%s: %d states summing to %v; want every state, summing to %d", metrics.NameRuns, len(got[metrics.NameRuns]), total, runs)
	}

	// The newest run that measured each service is the one whose figures are reported.
	latest := map[string]*store.Measurement{}
	for _, r := range page.Runs { // newest first
		ms, err := st.MeasurementList(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if latest[m.Service] == nil && m.RTOActual != nil {
				latest[m.Service] = m
			}
		}
	}
	if len(latest) == 0 || len(got[metrics.NameServiceRTO]) != len(latest) {
		t.Fatalf("%s = %v; want one per measured service %v", metrics.NameServiceRTO, got[metrics.NameServiceRTO], latest)
	}
	for svc, m := range latest {
		if g := got[metrics.NameServiceRTO][svc]; g != m.RTOActual.Seconds() {
			t.Errorf("%s{service=%q} = %v; want %v (run %s)", metrics.NameServiceRTO, svc, g, m.RTOActual.Seconds(), m.RunID)
		}
		if m.RPOActual != nil && got[metrics.NameServiceRPO][svc] != m.RPOActual.Seconds() {
			t.Errorf("%s{service=%q} = %v; want %v", metrics.NameServiceRPO, svc, got[metrics.NameServiceRPO][svc], m.RPOActual.Seconds())
		}
		if got[metrics.NameServiceRTOObjective][svc] != m.RTOObjective.Seconds() {
			t.Errorf("%s{service=%q} = %v; want %v", metrics.NameServiceRTOObjective, svc, got[metrics.NameServiceRTOObjective][svc], m.RTOObjective.Seconds())
		}
	}
	last, err := st.LastPassedRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	overdue := 0.0
	for _, d := range drills.DueStatuses(estate, last, clk.Now()) {
		if d.Overdue {
			overdue++
		}
	}
	if overdue != 1 || got[metrics.NameServiceOverdue][estate.Services[0].Name] != 1 || got[metrics.NameServiceOverdue][estate.Services[1].Name] != 0 {
		t.Errorf("%s = %v; want %s alone overdue", metrics.NameServiceOverdue, got[metrics.NameServiceOverdue], estate.Services[0].Name)
	}
	if got[metrics.NameServicesOverdue][""] != overdue {
		t.Errorf("%s = %v; want %v", metrics.NameServicesOverdue, got[metrics.NameServicesOverdue][""], overdue)
	}
	if got[metrics.NameLeaseHeld]["scheduler"] != 0 || got[metrics.NameNotifications]["pending"] != 0 || got[metrics.NameNotificationOldestWait][""] != 0 {
		t.Errorf("before any lease or notification: lease %v, notifications %v, oldest %v",
			got[metrics.NameLeaseHeld], got[metrics.NameNotifications], got[metrics.NameNotificationOldestWait])
	}

	// A holder takes the scheduler lease; a notification waits a minute.
	if _, held, err := st.LeaseAcquire(ctx, &store.LeaseParams{Name: "scheduler", Owner: "replica-a", TTL: time.Minute}); err != nil || !held {
		t.Fatalf("LeaseAcquire = %v, %v", held, err)
	}
	if _, err := st.NotificationEnqueue(ctx, &store.NotificationEnqueueParams{Event: "run_ended", Channel: "ops", Payload: map[string]string{"a": "b"}}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute - time.Second)
	got = gather(t, c)
	if got[metrics.NameLeaseHeld]["scheduler"] != 1 || got[metrics.NameNotifications]["pending"] != 1 || got[metrics.NameNotificationOldestWait][""] != 59 {
		t.Errorf("with a holder and a waiting notification: lease %v, notifications %v, oldest %v",
			got[metrics.NameLeaseHeld], got[metrics.NameNotifications], got[metrics.NameNotificationOldestWait])
	}
	clk.Advance(2 * time.Second) // the lease lapsed without renewal
	if got = gather(t, c); got[metrics.NameLeaseHeld]["scheduler"] != 0 {
		t.Errorf("lapsed scheduler lease reported as %v; want 0", got[metrics.NameLeaseHeld])
	}

	_ = st.Close()
	got = gather(t, c)
	if got[metrics.NameStoreUp][""] != 0 || len(got[metrics.NameRuns]) != 0 {
		t.Errorf("closed store: up %v, runs %v; want 0 and no runs series", got[metrics.NameStoreUp], got[metrics.NameRuns])
	}
}
