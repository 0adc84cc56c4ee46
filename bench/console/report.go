package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/firedrill/firedrill/bench/internal/httpload"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// Report is the outcome of run.
type Report struct {
	Options         Options
	Machine         httpload.Machine
	PostgresVersion string
	// Seed is nil when the database was seeded before (Options.Seeded).
	Seed *storetest.AuditedSeedStats
	// Measurement holds the stats per endpoint, in Options.Endpoints order; Bytes the size of
	// one answer of each.
	httpload.Measurement
	Bytes []int64
	// Alone is how long the first request of each endpoint took, sent alone on an idle
	// server before the load: the page's own cost, whatever the load does to it.
	Alone []time.Duration
	// LoadBefore and LoadAfter are /proc/loadavg before the server started and after the
	// measurement.
	LoadBefore, LoadAfter string
	Started               time.Time
	Wall                  time.Duration
}

// Ratio is p99(endpoint) / p99(/healthz); 0 if either is missing.
func (r *Report) Ratio(endpoint string) float64 {
	return r.Measurement.Ratio(EndpointHealthz, endpoint)
}

// Met reports whether every page answered every request and its p99 is within TargetRatio
// of the /healthz p99.
func (r *Report) Met() bool {
	for _, s := range r.Stats {
		if s.Endpoint != EndpointHealthz && (s.Errors > 0 || r.Ratio(s.Endpoint) > TargetRatio) {
			return false
		}
	}
	return true
}

var endpointLabels = map[string]string{
	EndpointHealthz:   "`GET /healthz` (baseline)",
	EndpointDashboard: "`GET /` (dashboard)",
	EndpointRuns:      "`GET /runs` (run list)",
	EndpointRun:       "`GET /runs/{id}` (random runs)",
	EndpointHistory:   "`GET /services/{name}` (history)",
}

// Markdown renders the report as the tables of bench/README.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	o := r.Options
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(&b, "Latency from the instant each request was due (open loop, %g requests/s, one endpoint at a time, signed-in session cookie), in ms.\n\n", o.Rate)
	fmt.Fprintf(&b, "| endpoint | requests | errors | p50 | p90 | p99 | max | p99 / healthz p99 | alone | answer bytes | server CPU / request |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, s := range r.Stats {
		ratio := "1"
		if s.Endpoint != EndpointHealthz {
			ratio = fmt.Sprintf("%.2f", r.Ratio(s.Endpoint))
		}
		cpu := "-"
		if s.ServerCPU > 0 && len(s.Latencies) > 0 {
			cpu = ms(s.ServerCPU/time.Duration(len(s.Latencies))) + " ms"
		}
		var size int64
		alone := "-"
		if i < len(r.Bytes) {
			size, alone = r.Bytes[i], ms(r.Alone[i])
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s | %s | %s | %s | %d | %s |\n",
			endpointLabels[s.Endpoint], len(s.Latencies), s.Errors, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max), ratio, alone, size, cpu)
	}
	worst := 0.0
	for _, s := range r.Stats {
		if s.Endpoint != EndpointHealthz {
			worst = max(worst, r.Ratio(s.Endpoint))
		}
	}
	verdict := "not met"
	if r.Met() {
		verdict = "met"
	}
	fmt.Fprintf(&b, "\nTarget p99 ≤ %gx the /healthz p99: **%s** (worst %.2fx).", TargetRatio, verdict, worst)
	for i, s := range r.Stats {
		if s.Errors > 0 {
			fmt.Fprintf(&b, " %s: %d errors, first: %v.", s.Endpoint, s.Errors, s.FirstError)
		}
		if i < len(r.WarmupErrors) && r.WarmupErrors[i] > 0 {
			fmt.Fprintf(&b, " %s: %d errors during warm-up.", s.Endpoint, r.WarmupErrors[i])
		}
	}
	if len(r.Stalls) > 0 {
		fmt.Fprintf(&b, "\n\nStalls (requests due within 250 ms of each other that all took over %s): %d", httpload.StallThreshold, len(r.Stalls))
		per := map[string]int{}
		for _, st := range r.Stalls {
			per[st.Endpoint]++
		}
		for _, s := range r.Stats {
			if per[s.Endpoint] > 0 {
				fmt.Fprintf(&b, ", %s %d", s.Endpoint, per[s.Endpoint])
			}
		}
		b.WriteString(".")
	}
	if r.Seed != nil {
		fmt.Fprintf(&b, "\n\nData: %d runs, %d step results, %d measurements, %d audited timeline events, seeded in %s (+ %s audit chain).",
			r.Seed.Runs, r.Seed.Steps, r.Seed.Measurements, r.Seed.Events, r.Seed.Took.Round(100*time.Millisecond), r.Seed.AuditTook.Round(100*time.Millisecond))
	} else {
		fmt.Fprintf(&b, "\n\nData: the %d-run history seeded before.", o.Runs)
	}
	fmt.Fprintf(&b, " Per endpoint: %s warm-up, then %s measured in %d rounds. Seed %d.\n", o.Warmup, o.Duration, o.Rounds, o.Seed)
	m := r.Machine
	fmt.Fprintf(&b, "\nRun %s, %s wall; %d CPUs (%s), %s memory, %s %s/%s, PostgreSQL %s; load average %s before, %s after.\n",
		r.Started.UTC().Format(time.RFC3339), r.Wall.Round(time.Second), m.NumCPU, m.CPUModel, m.MemTotal,
		m.GoVersion, m.GOOS, m.ARCH, r.PostgresVersion, r.LoadBefore, r.LoadAfter)
	if r.CPUPressure >= 0 {
		fmt.Fprintf(&b, "While measured, some task waited for a CPU %.0f%% of the time (PSI cpu some).\n", 100*r.CPUPressure)
	}
	return b.String()
}
