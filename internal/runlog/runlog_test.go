package runlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/internal/runlog"
)

// lines decodes the JSON lines a test logged.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestHandlerAddsRunAndStepFromTheContext(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(runlog.NewHandler(slog.NewJSONHandler(&buf, nil)))
	ctx := context.Background()
	log.InfoContext(ctx, "outside any run")
	run := runlog.WithRun(ctx, "run-1")
	log.InfoContext(run, "in the run")
	step := runlog.WithStep(run, "drain")
	log.With("component", "store").InfoContext(step, "in a step")
	log.With("run_id", "run-1").InfoContext(step, "logger already says the run")
	log.InfoContext(step, "record already says the step", "step", "drain")

	got := lines(t, &buf)
	tests := []struct {
		msg, runID, step string
	}{
		{"outside any run", "", ""},
		{"in the run", "run-1", ""},
		{"in a step", "run-1", "drain"},
		{"logger already says the run", "run-1", "drain"},
		{"record already says the step", "run-1", "drain"},
	}
	if len(got) != len(tests) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(tests), buf.String())
	}
	for i, tt := range tests {
		l := got[i]
		if l["msg"] != tt.msg || str(l["run_id"]) != tt.runID || str(l["step"]) != tt.step {
			t.Errorf("line %d = %v; want msg %q run_id %q step %q", i, l, tt.msg, tt.runID, tt.step)
		}
	}
	// A key written twice would make the line ambiguous for a log pipeline.
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if strings.Count(l, `"run_id"`) > 1 || strings.Count(l, `"step"`) > 1 {
			t.Errorf("line repeats run_id or step: %s", l)
		}
	}
	if runlog.RunID(step) != "run-1" || runlog.RunID(ctx) != "" {
		t.Errorf("RunID = %q, %q; want run-1 and empty", runlog.RunID(step), runlog.RunID(ctx))
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
