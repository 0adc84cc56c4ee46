package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// prometheusServer is a real Prometheus (Debian's prometheus package) scraping one target.
type prometheusServer struct {
	base   string
	stderr *lockedBuffer
}

// startPrometheus runs Prometheus with its own TSDB in a temporary directory, scraping target's
// /metrics every second and loading deploy/alerts.yml, and waits until it is ready.
func startPrometheus(t *testing.T, ctx context.Context, target string) *prometheusServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus not found: run scripts/install-test-tools.sh (apt-get install prometheus)")
	}
	rules, err := filepath.Abs("../../deploy/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: firedrill
    metrics_path: /metrics
    static_configs:
      - targets: [%q]
`, rules, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	p := &prometheusServer{base: "http://" + addr, stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	waitFor(t, 30*time.Second, func() bool {
		resp, err := http.Get(p.base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// promSample is one series of an instant query's answer.
type promSample struct {
	Metric map[string]string
	Value  float64
}

// query asks Prometheus' HTTP API for an instant vector.
func (p *prometheusServer) query(t *testing.T, q string) []promSample {
	t.Helper()
	resp, err := http.Get(p.base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %s: %v %s", q, err, body.Error)
	}
	out := make([]promSample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %s: value %v", q, r.Value)
		}
		out = append(out, promSample{Metric: r.Metric, Value: v})
	}
	return out
}

// TestPrometheusScrapesADemoDrill starts a real Prometheus scraping the firedrill serve binary
// (the demo estate on simulated sites, on PostgreSQL), runs a drill, and reads back through
// Prometheus' API the run, step and RTO series with their labels; Prometheus loads the alert
// rules. Along the way, every JSON log line of a run names the run.
func TestPrometheusScrapesADemoDrill(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dsn := storetest.NewDatabase(t)
	// Configured with a server configuration file, as an operator would; the demo takes its
	// database from the command line alone (it never writes into a database the environment or a
	// file names by accident).
	serverConfig := filepath.Join(t.TempDir(), "firedrill-server.hcl")
	if err := os.WriteFile(serverConfig, []byte("log {\n  format = \"json\"\n  level  = \"info\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startDemoServer(t, ctx, "--server-config", serverConfig, "--database-url", dsn)
	target := strings.TrimPrefix(s.base, "http://")
	prom := startPrometheus(t, ctx, target)

	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	history, err := st.RunList(ctx, &store.RunListParams{States: []drills.RunState{drills.RunSucceeded}, Limit: 1})
	if err != nil || len(history.Runs) != 1 {
		t.Fatalf("the demo's succeeded runs: %v, %v", history, err)
	}
	run := runDemoDrillNow(t, ctx, st, s, history.Runs[0])
	if run.State != drills.RunSucceeded {
		t.Fatalf("the drill ended %s: %s", run.State, run.StateReason)
	}
	steps, err := st.StepResultList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, sr := range steps {
		if !slices.Contains(actions, sr.Action) {
			actions = append(actions, sr.Action)
		}
	}
	slices.Sort(actions)
	ms, err := st.MeasurementList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	succeeded, err := listRuns(ctx, st, &store.RunListParams{States: []drills.RunState{drills.RunSucceeded}, Limit: store.MaxRunListLimit})
	if err != nil {
		t.Fatal(err)
	}

	// Scrapes are a second apart: wait until one after the run's end reached Prometheus, and
	// one after an earlier scrape's request was counted (the first scrape cannot count itself:
	// a quick drill can end before Prometheus' second scrape).
	finished := `firedrill_runs_finished_total{job="firedrill",state="succeeded"}`
	scrapes := `firedrill_http_request_duration_seconds_count{route="/metrics",code="200"}`
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, sc := prom.query(t, finished), prom.query(t, scrapes)
		if len(r) == 1 && r[0].Value == 1 && len(sc) == 1 && sc[0].Value >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus never saw the run end: %v\nprometheus stderr:\n%s", prom.query(t, finished), prom.stderr)
		}
		time.Sleep(250 * time.Millisecond)
	}

	for _, r := range prom.query(t, `firedrill_runs_finished_total`) {
		if r.Metric["instance"] != target || r.Metric["job"] != "firedrill" {
			t.Errorf("series %v: want instance %s, job firedrill", r.Metric, target)
		}
	}
	if r := prom.query(t, `firedrill_runs{state="succeeded"}`); len(r) != 1 || r[0].Value != float64(len(succeeded)) {
		t.Errorf(`firedrill_runs{state="succeeded"} = %v; want %d (the store's succeeded runs)`, r, len(succeeded))
	}
	if r := prom.query(t, `count(firedrill_runs)`); len(r) != 1 || r[0].Value != 10 {
		t.Errorf("firedrill_runs has %v series; want one per run state (10)", r)
	}

	// One histogram series per action the drill ran, each observed as often as its steps ran.
	byAction := map[string]float64{}
	for _, r := range prom.query(t, `sum by (action) (firedrill_step_duration_seconds_count{job="firedrill"})`) {
		byAction[r.Metric["action"]] = r.Value
	}
	var got []string
	for a := range byAction {
		got = append(got, a)
	}
	slices.Sort(got)
	if !slices.Equal(got, actions) {
		t.Errorf("step duration series by action = %v; want the drill's actions %v", got, actions)
	}
	for _, sr := range steps {
		byAction[sr.Action]--
	}
	for a, n := range byAction {
		if n != 0 {
			t.Errorf("firedrill_step_duration_seconds_count{action=%q} is off by %v from the drill's steps", a, n)
		}
	}
	if r := prom.query(t, `firedrill_step_duration_seconds_bucket{action="nomad.drain_site",state="succeeded",le="+Inf"}`); len(r) != 1 || r[0].Value < 1 {
		t.Errorf("nomad.drain_site's +Inf bucket = %v; want its step counted", r)
	}

	// The last measured RTO of each service is this drill's.
	rto := map[string]float64{}
	for _, r := range prom.query(t, `firedrill_service_rto_seconds{job="firedrill"}`) {
		rto[r.Metric["service"]] = r.Value
	}
	measured := 0
	for _, m := range ms {
		if m.RTOActual == nil {
			continue
		}
		measured++
		if got, ok := rto[m.Service]; !ok || got != m.RTOActual.Seconds() {
			t.Errorf(`firedrill_service_rto_seconds{service=%q} = %v (present %v); want %v`, m.Service, got, ok, m.RTOActual.Seconds())
		}
	}
	if measured == 0 {
		t.Errorf("the drill measured no RTO: %+v", ms)
	}
	for _, r := range prom.query(t, `firedrill_http_request_duration_seconds_count`) {
		if route := r.Metric["route"]; route != "unmatched" && !strings.HasPrefix(route, "/") {
			t.Errorf("HTTP series %v: want a route pattern", r.Metric)
		}
	}
	// Prometheus loaded the shipped rules.
	resp, err := http.Get(prom.base + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	var rulesBody struct {
		Data struct {
			Groups []struct {
				Name  string
				Rules []struct{ Name string }
			}
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&rulesBody)
	resp.Body.Close()
	if err != nil || len(rulesBody.Data.Groups) != 1 || len(rulesBody.Data.Groups[0].Rules) < 5 {
		t.Errorf("Prometheus' rules = %+v, %v; want the firedrill group", rulesBody, err)
	}

	checkRunLogLines(t, s.stderr.String(), run.ID)
}

// checkRunLogLines reads serve's JSON log: every line a run's execution logged (the runner's,
// any step's) names its run, and the drill's own lines are there, from its claim to its end.
func checkRunLogLines(t *testing.T, stderr, runID string) {
	t.Helper()
	var mine []string
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue // what serve prints for people ("firedrill serving on ...")
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %s", line)
			continue
		}
		_, inStep := rec["step"]
		id, _ := rec["run_id"].(string)
		if (inStep || rec["component"] == "runner") && id == "" {
			t.Errorf("a run's log line without run_id: %s", line)
		}
		if id == runID {
			mine = append(mine, rec["msg"].(string))
			if inStep && rec["step"] == "" {
				t.Errorf("empty step: %s", line)
			}
		}
	}
	for _, want := range []string{"run claimed", "step started", "step succeeded", "run finished"} {
		if !slices.Contains(mine, want) {
			t.Errorf("the drill's log lines %q lack %q", mine, want)
		}
	}
}
