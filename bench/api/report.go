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
	Seed            storetest.SeedStats
	// Measurement holds the stats per endpoint, in Options.Endpoints order; Bytes the size of
	// one answer of each.
	httpload.Measurement
	Bytes    []int64
	DeepPath string
	// TokenUses are the token's last uses the server wrote while measuring (WatchTokenUse).
	TokenUses []time.Time
	// LoadBefore and LoadAfter are /proc/loadavg when the measurement began and ended: the
	// machine is shared, and other load shows in the numbers.
	LoadBefore, LoadAfter string
	Started               time.Time
	Wall                  time.Duration
}

// Ratio is p99(endpoint) / p99(/healthz); 0 if either is missing.
func (r *Report) Ratio(endpoint string) float64 {
	return r.Measurement.Ratio(EndpointHealthz, endpoint)
}

// Met reports whether every API endpoint answered every request and its p99 is within
// TargetRatio of the /healthz p99. Errors of /healthz itself are reported apart: they are a
// fault of the baseline, which Markdown names.
func (r *Report) Met() bool {
	for _, s := range r.Stats {
		if s.Endpoint == EndpointHealthz {
			continue
		}
		if s.Errors > 0 || r.Ratio(s.Endpoint) > TargetRatio {
			return false
		}
	}
	return true
}

// BaselineFailed reports whether /healthz failed so often (0.5% of its requests or more)
// that its failures, each a 2s timeout, and the queue behind them reach its p99, which makes
// the ratio meaningless.
func (r *Report) BaselineFailed() bool {
	b := r.Of(EndpointHealthz)
	return b != nil && b.Errors*200 >= len(b.Latencies)
}

// worstRatio is the largest p99 ratio of an API endpoint.
func (r *Report) worstRatio() float64 {
	w := 0.0
	for _, s := range r.Stats {
		if s.Endpoint != EndpointHealthz {
			w = max(w, r.Ratio(s.Endpoint))
		}
	}
	return w
}

var endpointLabels = map[string]string{
	EndpointHealthz:   "`GET /healthz` (baseline)",
	EndpointRunsFirst: "`GET /api/v1/runs` (first page)",
	EndpointRunsDeep:  "`GET /api/v1/runs?cursor=…` (deep page)",
	EndpointRunShow:   "`GET /api/v1/runs/{id}` (random runs)",
}

// Markdown renders the report as the tables of bench/README.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	o := r.Options
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(&b, "Latency from the instant each request was due (open loop, %g requests/s, one endpoint at a time), in ms.\n\n", o.Rate)
	fmt.Fprintf(&b, "| endpoint | requests | errors | p50 | p90 | p99 | max | p99 / healthz p99 | p99 from send | answer bytes | server CPU / request |\n")
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
		if i < len(r.Bytes) {
			size = r.Bytes[i]
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s | %s | %s | %s | %d | %s |\n",
			endpointLabels[s.Endpoint], len(s.Latencies), s.Errors, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max), ratio, ms(s.ServiceP99), size, cpu)
	}
	verdict := metWord(r.Met())
	if r.BaselineFailed() {
		verdict = "not measurable: /healthz failed 0.5% of its requests or more, so its p99 is not a baseline"
	}
	fmt.Fprintf(&b, "\nTarget p99 ≤ %gx the /healthz p99: **%s** (worst %.2fx).", TargetRatio, verdict, r.worstRatio())
	for i, s := range r.Stats {
		if s.Errors > 0 {
			fmt.Fprintf(&b, " %s: %d errors (%.2f%%), first: %v.", s.Endpoint, s.Errors, 100*float64(s.Errors)/float64(len(s.Latencies)), s.FirstError)
		}
		if i < len(r.WarmupErrors) && r.WarmupErrors[i] > 0 {
			fmt.Fprintf(&b, " %s: %d errors during warm-up.", s.Endpoint, r.WarmupErrors[i])
		}
	}
	if len(r.Stalls) > 0 {
		fmt.Fprintf(&b, "\n\nStalls (requests due within 250 ms of each other that all took over %s; time from the start of the measurement, %s):\n\n",
			httpload.StallThreshold, r.MeasureStart.UTC().Format("15:04:05.000"))
		fmt.Fprintf(&b, "| at | endpoint | requests | worst ms |\n|---:|---|---:|---:|\n")
		const maxRows = 40
		for i, st := range r.Stalls {
			if i == maxRows {
				fmt.Fprintf(&b, "| … | %d more | | |\n", len(r.Stalls)-maxRows)
				break
			}
			fmt.Fprintf(&b, "| %.1fs | %s | %d | %s |\n", st.At.Seconds(), st.Endpoint, st.Requests, ms(st.Worst))
		}
	}
	if len(r.TokenUses) > 0 {
		fmt.Fprintf(&b, "\nThe server wrote the token's last use at:")
		for _, u := range r.TokenUses {
			fmt.Fprintf(&b, " %.1fs", u.Sub(r.MeasureStart).Seconds())
		}
		b.WriteString(".\n")
	}
	fmt.Fprintf(&b, "\nData: %d runs, %d step results, %d measurements, %d timeline events, seeded in %s (+ %s VACUUM ANALYZE). ",
		r.Seed.Runs, r.Seed.Steps, r.Seed.Measurements, r.Seed.Events, r.Seed.Took.Round(100*time.Millisecond), r.Seed.Analyze.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "Deep page: after %d runs. Per endpoint: %s warm-up, then %s measured in %d rounds. Seed %d.\n",
		o.DeepOffset, o.Warmup, o.Duration, o.Rounds, o.Seed)
	m := r.Machine
	fmt.Fprintf(&b, "\nRun %s, %s wall; %d CPUs (%s), %s memory, %s %s/%s, PostgreSQL %s; load average %s before the load, %s after.\n",
		r.Started.UTC().Format(time.RFC3339), r.Wall.Round(time.Second), m.NumCPU, m.CPUModel, m.MemTotal,
		m.GoVersion, m.GOOS, m.ARCH, r.PostgresVersion, r.LoadBefore, r.LoadAfter)
	if r.CPUPressure >= 0 {
		fmt.Fprintf(&b, "While measured, some task waited for a CPU %.0f%% of the time (PSI cpu some).\n", 100*r.CPUPressure)
	}
	return b.String()
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}
