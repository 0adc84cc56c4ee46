package orchestrator_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/command"
	"github.com/firedrill/firedrill/orchestrator/actions/nomad"
	"github.com/firedrill/firedrill/orchestrator/actions/pause"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// failingRunner runs the wait, command and Nomad actions, without pre-flight checks: the
// steps below fail before they reach a site.
func failingRunner(t *testing.T) *orchestrator.Runner {
	t.Helper()
	clients, err := nomad.NewClients(nomad.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(clients.Close)
	list := append(pause.Actions(), command.Actions(command.Config{})...)
	list = append(list, nomad.Actions(clients)...)
	reg, err := actions.NewRegistry(list...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := orchestrator.NewRunner(orchestrator.RunnerConfig{Store: storetest.SQLite(t), Actions: reg, Owner: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func execute(t *testing.T, r *orchestrator.Runner, d *orchestrator.Drill) *orchestrator.Outcome {
	t.Helper()
	ctx := context.Background()
	run, err := r.Submit(ctx, d)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	out, err := r.Execute(ctx, run.ID, d)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	return out
}

// An action's typed error survives the step's failure: errors.As finds it in the outcome.
func TestActionErrorIsFoundThroughTheStepFailure(t *testing.T) {
	t.Parallel()
	d := takeoverDrill(t, `
  step "break" {
    action  = "command"
    command = "/bin/sh"
    args    = ["-c", "echo the disk is full >&2; exit 3"]
  }`)
	out := execute(t, failingRunner(t), d)
	if out.State != drills.RunFailed {
		t.Fatalf("run = %s (%s), want failed", out.State, out.Reason)
	}
	var exit *command.ExitError
	if !errors.As(out.Err, &exit) {
		t.Fatalf("errors.As(%v, *command.ExitError) = false; the action's error was lost", out.Err)
	}
	if exit.Code != 3 || exit.LastLine != "the disk is full" {
		t.Errorf("ExitError = %+v, want code 3 and the last line of stderr", exit)
	}
	if !strings.HasPrefix(out.Reason, out.Err.Error()) {
		t.Errorf("Err = %q, Reason = %q; want the reason to start with the failure's message", out.Err, out.Reason)
	}
}

// A failed run's reason names the failed step once, however the step failed.
func TestFailedRunReasonNamesTheStepOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, step, want string
	}{
		{"command exits", "break", `
  step "break" {
    action  = "command"
    command = "/bin/sh"
    args    = ["-c", "exit 3"]
  }`, "step break failed: exit status 3"},
		{"action refuses a parameter", "run", `
  step "run" {
    action  = "command"
    command = "true"
    dir     = "no-such-directory"
  }`, `step run failed: `},
		{"step times out", "slow", `
  step "slow" {
    action  = "command"
    command = "/bin/sh"
    args    = ["-c", "exec sleep 60"]
    timeout = "50ms"
  }`, "step slow failed: timed out after 50ms: "},
	}
	r := failingRunner(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := execute(t, r, takeoverDrill(t, tt.step))
			if out.State == drills.RunSucceeded {
				t.Fatalf("run succeeded; want it failed at the step")
			}
			if n := strings.Count(out.Reason, "step "+tt.key); n != 1 || !strings.Contains(out.Reason, tt.want) {
				t.Errorf("reason = %q: names step %s %d times; want once, as %q", out.Reason, tt.key, n, tt.want)
			}
		})
	}
}
