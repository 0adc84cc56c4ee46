package manual_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/manual"
)

type decided struct{}

func (decided) Await(context.Context) (*actions.Decision, error) {
	return &actions.Decision{Done: true, By: "alice", At: time.Now()}, nil
}

// The instructions and the exact command that completes the step reach a console logging at
// warn, firedrill run's default level.
func TestManualStepTellsThePersonWhatToDoAtTheDefaultLogLevel(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	step := &drills.Step{Name: "call-van", Action: drills.ActionManual, Params: map[string]any{"instructions": "Call the VAN operator"}}
	res, err := (&manual.Manual{}).Run(context.Background(), &actions.Request{
		RunID: "run-1", Instance: drills.StepInstance{Step: step, Key: "call-van"}, Decisions: decided{}, Logger: logger,
	})
	if err != nil || res.Evidence["decision"] != "done" {
		t.Fatalf("Run = %v, %v; want done", res, err)
	}
	out := buf.String()
	for _, want := range []string{"Call the VAN operator", "firedrill step done run-1 call-van"} {
		if !strings.Contains(out, want) {
			t.Errorf("console %q does not show %q", out, want)
		}
	}
}
