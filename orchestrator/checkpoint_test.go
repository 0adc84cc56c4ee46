package orchestrator_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// TestTakeoverHandsCheckpointsToTheNextAttempt: replica A's attempt of a step checkpoints
// what it is about to change and dies; replica B's attempt of that step receives the
// checkpoint (and no other step does), so that it can tell its own earlier effect.
func TestTakeoverHandsCheckpointsToTheNextAttempt(t *testing.T) {
	t.Parallel()
	dsn, st := migratedPool(t)
	d := takeoverDrill(t, `
  step "one" {
    action   = "wait"
    duration = "10ms"
  }
  step "long" {
    action   = "wait"
    duration = "30s"
  }`)
	run, err := quietRunner(t, st, "submitter", 0, nil).Submit(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}

	// Replica A checkpoints in "long" twice (the second as the action's last word before
	// the change), then dies before recording the step's result.
	aStore := openPool(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	died := make(chan struct{})
	var once sync.Once
	a := quietRunner(t, aStore, "replica-a", 2*time.Second, func(ctx context.Context, req *actions.Request, next func() (*actions.Result, error)) (*actions.Result, error) {
		if req.Instance.Key != "long" {
			if len(req.Earlier) != 0 {
				t.Errorf("replica A's %s: earlier checkpoints %v on a first attempt", req.Instance.Key, req.Earlier)
			}
			return next()
		}
		for i, what := range []string{"looked", "stopping"} {
			if err := req.Checkpoints.Checkpoint(ctx, map[string]any{"what": what, "n": i}); err != nil {
				t.Errorf("replica A's checkpoint %d: %v", i, err)
			}
		}
		once.Do(func() { close(died) })
		<-ctx.Done()
		return nil, ctx.Err()
	})
	done := make(chan error, 1)
	go func() {
		_, err := a.Execute(ctx, run.ID, d)
		done <- err
	}()
	select {
	case <-died:
	case err := <-done:
		t.Fatalf("replica A ended before step long: %v", err)
	}
	aStore.Close()
	cancel()
	<-done

	var mu sync.Mutex
	seen := map[string][]actions.Checkpoint{}
	startWorkerB(t, dsn, func(ctx context.Context, req *actions.Request, next func() (*actions.Result, error)) (*actions.Result, error) {
		mu.Lock()
		seen[req.Instance.Key] = req.Earlier
		mu.Unlock()
		if req.Instance.Key == "long" {
			return &actions.Result{}, nil
		}
		return next()
	})
	waitFor(t, "the run to end", 30*time.Second, func() bool { return runState(t, st, run.ID).State.IsTerminal() })
	if got := runState(t, st, run.ID); got.State != drills.RunSucceeded {
		t.Fatalf("run = %s (%s), want succeeded after the takeover", got.State, got.StateReason)
	}
	mu.Lock()
	defer mu.Unlock()
	want := `[{1 map[n:0 what:looked]} {1 map[n:1 what:stopping]}]`
	if got := fmt.Sprint(seen["long"]); got != want {
		t.Errorf("replica B's long attempt got earlier checkpoints %s, want %s", got, want)
	}
	for key, cps := range seen {
		if key != "long" && len(cps) != 0 {
			t.Errorf("replica B's %s got checkpoints %v of another step", key, cps)
		}
	}
	events, err := st.RunEventList(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if e.Kind == orchestrator.EventStepCheckpoint {
			n++
			if e.StepKey != "long" || e.Message != "attempt 1" {
				t.Errorf("checkpoint event = step %q, %q; want step long, attempt 1", e.StepKey, e.Message)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d checkpoint events on the timeline, want 2", n)
	}
}
