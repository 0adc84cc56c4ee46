package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// Stats summarises the measured requests of one endpoint.
type Stats struct {
	Endpoint string
	// Latencies are from each request's due instant to the end of its answer, sorted.
	Latencies []time.Duration
	// Service are from the instant each request was actually sent, sorted: Latencies minus
	// the generator's own lateness.
	Service []time.Duration
	Errors  int
	// FirstError is kept for the report.
	FirstError error
	// ServerCPU is the server process's CPU time while this endpoint was loaded; Wall the
	// time it was loaded.
	ServerCPU, Wall time.Duration

	P50, P90, P99, Max, Mean time.Duration
	ServiceP99               time.Duration
}

// Stall is a burst of slow answers: requests due close together that all took longer than
// StallThreshold. In an open loop one pause of the server (or of the machine) makes every
// request due during it late, so a few stalls decide a p99.
type Stall struct {
	Endpoint string
	// At is when the first slow request was due, from the start of the measurement.
	At       time.Duration
	Requests int
	Worst    time.Duration
}

// StallThreshold is the latency from which an answer counts as part of a stall.
const StallThreshold = 50 * time.Millisecond

// stalls groups the slow samples of one slice into stalls: slow requests due less than
// 250ms apart belong to the same one.
func stalls(endpoint string, samples []sample, start time.Time) []Stall {
	var out []Stall
	var last time.Time
	for _, x := range samples {
		if x.latency < StallThreshold {
			continue
		}
		if len(out) == 0 || x.due.Sub(last) > 250*time.Millisecond {
			out = append(out, Stall{Endpoint: endpoint, At: x.due.Sub(start)})
		}
		st := &out[len(out)-1]
		st.Requests++
		st.Worst = max(st.Worst, x.latency)
		last = x.due
	}
	return out
}

func (s *Stats) add(samples []sample) {
	for _, x := range samples {
		s.Latencies = append(s.Latencies, x.latency)
		s.Service = append(s.Service, x.service)
		if x.err != nil {
			s.Errors++
			if s.FirstError == nil {
				s.FirstError = x.err
			}
		}
	}
}

func (s *Stats) finish() {
	slices.Sort(s.Latencies)
	slices.Sort(s.Service)
	if len(s.Latencies) == 0 {
		return
	}
	s.P50 = percentile(s.Latencies, 50)
	s.P90 = percentile(s.Latencies, 90)
	s.P99 = percentile(s.Latencies, 99)
	s.Max = s.Latencies[len(s.Latencies)-1]
	var sum time.Duration
	for _, l := range s.Latencies {
		sum += l
	}
	s.Mean = sum / time.Duration(len(s.Latencies))
	s.ServiceP99 = percentile(s.Service, 99)
}

// percentile is the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

// Machine describes where the benchmark ran.
type Machine struct {
	NumCPU     int
	CPUModel   string
	MemTotal   string
	GoVersion  string
	GOOS, ARCH string
}

func machineInfo() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), GOOS: runtime.GOOS, ARCH: runtime.GOARCH}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	m.MemTotal = procField("/proc/meminfo", "MemTotal")
	return m
}

// loadAverage is the first three fields of /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// cpuPressure is the total time (PSI "some", /proc/pressure/cpu) that some runnable task on
// the machine waited for a CPU, or -1 where PSI is missing.
func cpuPressure() time.Duration {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "some ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "total="); ok {
				if us, err := strconv.ParseInt(v, 10, 64); err == nil {
					return time.Duration(us) * time.Microsecond
				}
			}
		}
	}
	return -1
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "unknown"
}

// Report is the outcome of run.
type Report struct {
	Options         Options
	Machine         Machine
	PostgresVersion string
	Seed            storetest.SeedStats
	// Stats are per endpoint, in Options.Endpoints order; Bytes the size of one answer of each.
	Stats    []Stats
	Bytes    []int64
	DeepPath string
	// Stalls are every stall of the measurement, in time order; MeasureStart is the instant
	// their At counts from.
	Stalls       []Stall
	MeasureStart time.Time
	// TokenUses are the token's last uses the server wrote while measuring (WatchTokenUse).
	TokenUses []time.Time
	// WarmupErrors counts the failed warm-up requests of each endpoint.
	WarmupErrors []int
	// LoadBefore and LoadAfter are /proc/loadavg when the measurement began and ended: the
	// machine is shared, and other load shows in the numbers.
	LoadBefore, LoadAfter string
	// CPUPressure is the share of the measured time during which some task on the machine
	// waited for a CPU (PSI); -1 where unknown.
	CPUPressure float64
	Started     time.Time
	Wall        time.Duration
}

// baseline is the /healthz stats.
func (r *Report) baseline() *Stats {
	for i := range r.Stats {
		if r.Stats[i].Endpoint == EndpointHealthz {
			return &r.Stats[i]
		}
	}
	return nil
}

// Ratio is p99(endpoint) / p99(/healthz); 0 if either is missing.
func (r *Report) Ratio(endpoint string) float64 {
	b := r.baseline()
	for _, s := range r.Stats {
		if s.Endpoint == endpoint && b != nil && b.P99 > 0 {
			return float64(s.P99) / float64(b.P99)
		}
	}
	return 0
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
	b := r.baseline()
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
			StallThreshold, r.MeasureStart.UTC().Format("15:04:05.000"))
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
