package orchestrator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/internal/runlog"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// lockedWriter is a log destination written by a run's goroutines at once.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// TestRunLogsCarryRunIDAndMetricsObserveSteps runs the example drill with a JSON logger and
// metrics: every line it logs names the run, every line of a step names the step, and each
// step's duration is observed under its action.
func TestRunLogsCarryRunIDAndMetricsObserveSteps(t *testing.T) {
	t.Parallel()
	st := storetest.Postgres(t)
	var out lockedWriter
	logger := slog.New(runlog.NewHandler(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})))
	m := metrics.New()
	// Packages the runner calls (the store, the notifier, Nomad's client) log with their own
	// component logger and the context they were given: the run and step come from it.
	component := logger.With("component", "called")
	wrap := func(a actions.Action) actions.Action { return &ctxLoggingAction{Action: a, log: component} }
	b := setupRunner(t, st, "../examples/firedrill.hcl", "../examples/plans/site-loss.hcl", nil, wrap, nil, func(c *orchestrator.RunnerConfig) {
		c.Logger, c.Metrics = logger, m
	})
	run, outcome := b.run(t, context.Background())
	if outcome.State != drills.RunSucceeded {
		t.Fatalf("outcome %s (%s); want succeeded", outcome.State, outcome.Reason)
	}

	lines := strings.Split(strings.TrimSpace(out.buf.String()), "\n")
	if len(lines) < 10 {
		t.Fatalf("the run logged %d lines; want its claim, steps and end:\n%s", len(lines), out.buf.String())
	}
	stepLines, calledLines := 0, 0
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if rec["run_id"] != run.ID {
			t.Errorf("log line without run_id %s: %s", run.ID, l)
		}
		if rec["component"] == "called" {
			calledLines++
			if s, _ := rec["step"].(string); s == "" {
				t.Errorf("a line logged in a step through its context without step: %s", l)
			}
		}
		if _, ok := rec["action"]; ok {
			stepLines++
			if s, _ := rec["step"].(string); s == "" {
				t.Errorf("a step's log line without step: %s", l)
			}
		}
	}
	if stepLines == 0 || calledLines == 0 {
		t.Errorf("no line logged by a step:\n%s", out.buf.String())
	}

	steps, err := st.StepResultList(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{}
	for _, s := range steps {
		want[s.Action+"/"+string(s.State)]++
	}
	got := map[string]uint64{}
	finished := 0.0
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		switch f.GetName() {
		case metrics.NameStepDuration:
			for _, s := range f.GetMetric() {
				got[label(s, "action")+"/"+label(s, "state")] = s.GetHistogram().GetSampleCount()
			}
		case metrics.NameRunsFinished:
			for _, s := range f.GetMetric() {
				if label(s, "state") == string(drills.RunSucceeded) {
					finished = s.GetCounter().GetValue()
				}
			}
		}
	}
	if len(want) == 0 || !mapsEqual(got, want) {
		t.Errorf("step duration counts by action/state = %v; want the run's steps %v", got, want)
	}
	if finished != 1 {
		t.Errorf("%s{state=succeeded} = %v; want 1", metrics.NameRunsFinished, finished)
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func mapsEqual(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// ctxLoggingAction logs through a logger that knows nothing of the run, with the step's context.
type ctxLoggingAction struct {
	actions.Action
	log *slog.Logger
}

func (a *ctxLoggingAction) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	a.log.InfoContext(ctx, "action called")
	return a.Action.Run(ctx, req)
}
