package orchestrator_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/command"
	"github.com/firedrill/firedrill/orchestrator/actions/pause"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

func runState(t *testing.T, st *store.Store, id string) *store.Run {
	t.Helper()
	run, err := st.RunGet(context.Background(), id)
	if err != nil {
		t.Fatalf("RunGet: %v", err)
	}
	return run
}

// openPool opens a second connection pool on a database, as another replica would.
func openPool(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DatabaseURL: dsn, MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func migratedPool(t *testing.T) (string, *store.Store) {
	t.Helper()
	dsn := storetest.NewDatabase(t)
	st := openPool(t, dsn)
	if _, err := st.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	return dsn, st
}

func TestWorkerCompletesASubmittedRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Postgres(t)
	b := setup(t, st, nil)
	run, err := b.runner.Submit(ctx, b.drill)
	if err != nil {
		t.Fatal(err)
	}
	// The sites run in this process on addresses the recorded estate does not name.
	load := func(context.Context, *store.Run) (*orchestrator.Drill, error) { return b.drill, nil }
	w, err := orchestrator.NewWorker(orchestrator.WorkerConfig{Runner: b.runner, Poll: 20 * time.Millisecond, LoadDrill: load})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	waitFor(t, "the run to end", time.Minute, func() bool { return runState(t, st, run.ID).State.IsTerminal() })
	w.Stop()
	w.Stop() // idempotent
	got := runState(t, st, run.ID)
	if got.State != drills.RunSucceeded || got.T0 == nil || got.T1 == nil {
		t.Errorf("run = %s (%s), T0 %v T1 %v; want succeeded with both milestones", got.State, got.StateReason, got.T0, got.T1)
	}
}

// waitPlan is an estate and a plan of wait and command steps: no site is touched.
const waitPlanTemplate = `
plan "takeover" {
  from     = "sangam"
  to       = "yatap"
  services = ["auth"]
  step "t0" {
    action    = "wait"
    duration  = "1ms"
    milestone = "disaster"
  }
%s
  step "t1" {
    action    = "wait"
    duration  = "1ms"
    milestone = "restored"
  }
}
`

// takeoverDrill writes the plan with the given steps next to the example estate and parses both.
func takeoverDrill(t *testing.T, steps string) *orchestrator.Drill {
	t.Helper()
	estateSrc, err := os.ReadFile("../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	estate, diags := drills.ParseEstate(estateSrc, "../examples/firedrill.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	planPath := filepath.Join(t.TempDir(), "takeover.hcl")
	planSrc := []byte(fmt.Sprintf(waitPlanTemplate, steps))
	if err := os.WriteFile(planPath, planSrc, 0o644); err != nil {
		t.Fatal(err)
	}
	plan, diags := drills.ParsePlan(planSrc, planPath)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return &orchestrator.Drill{Estate: estate, EstateSource: estateSrc, Plan: plan, PlanSource: planSrc, RequestedBy: drills.Actor{Kind: drills.ActorSystem, Name: "test"}, Force: true}
}

// hookedAction calls before (when set) instead of, or ahead of, the wrapped action.
type hookedAction struct {
	actions.Action
	hook func(ctx context.Context, req *actions.Request, next func() (*actions.Result, error)) (*actions.Result, error)
}

func (h *hookedAction) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	return h.hook(ctx, req, func() (*actions.Result, error) { return h.Action.Run(ctx, req) })
}

func quietRunner(t *testing.T, st *store.Store, owner string, leaseFor time.Duration,
	hook func(ctx context.Context, req *actions.Request, next func() (*actions.Result, error)) (*actions.Result, error)) *orchestrator.Runner {
	t.Helper()
	list := append(pause.Actions(), command.Actions(command.Config{})...)
	if hook != nil {
		for i, a := range list {
			list[i] = &hookedAction{Action: a, hook: hook}
		}
	}
	reg, err := actions.NewRegistry(list...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := orchestrator.NewRunner(orchestrator.RunnerConfig{
		Store: st, Actions: reg, Owner: owner, LeaseFor: leaseFor, DecisionPoll: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWorkerTwoReplicasExecuteEachRunOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, st := migratedPool(t)
	d := takeoverDrill(t, `
  step "one" {
    action   = "wait"
    duration = "20ms"
  }
  step "two" {
    action   = "wait"
    duration = "20ms"
  }`)
	var ids []string
	submitter := quietRunner(t, st, "submitter", 0, nil)
	for range 10 {
		run, err := submitter.Submit(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	for _, owner := range []string{"replica-a", "replica-b"} {
		w, err := orchestrator.NewWorker(orchestrator.WorkerConfig{
			Runner: quietRunner(t, openPool(t, dsn), owner, 0, nil), Poll: 20 * time.Millisecond, Concurrency: 3,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}
	for _, id := range ids {
		waitFor(t, "run "+id+" to end", time.Minute, func() bool { return runState(t, st, id).State.IsTerminal() })
	}
	for _, id := range ids {
		if got := runState(t, st, id); got.State != drills.RunSucceeded || got.LeaseEpoch != 1 {
			t.Errorf("run %s = %s epoch %d (%s), want succeeded at epoch 1: claimed once", id, got.State, got.LeaseEpoch, got.StateReason)
		}
		steps, err := st.StepResultList(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) != 4 {
			t.Errorf("run %s: %d step results, want 4 (each step executed once)", id, len(steps))
		}
	}
}

// dyingReplica runs d as replica A on its own pool until step key starts, then "dies": its
// pool is closed (nothing it writes lands any more) and its context cancelled. after runs
// inside the action before the death (the step's effect happens).
func dyingReplica(t *testing.T, dsn string, d *orchestrator.Drill, runID, key string, effect bool) {
	t.Helper()
	st := openPool(t, dsn)
	died := make(chan struct{})
	var once sync.Once
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := quietRunner(t, st, "replica-a", 2*time.Second, func(ctx context.Context, req *actions.Request, next func() (*actions.Result, error)) (*actions.Result, error) {
		if req.Instance.Key != key {
			return next()
		}
		if effect {
			if _, err := next(); err != nil {
				t.Errorf("replica A's %s: %v", key, err)
			}
		}
		once.Do(func() { close(died) })
		<-ctx.Done()
		return nil, ctx.Err()
	})
	done := make(chan error, 1)
	go func() {
		_, err := r.Execute(ctx, runID, d)
		done <- err
	}()
	select {
	case <-died:
	case err := <-done:
		t.Fatalf("replica A ended before step %s: %v", key, err)
	}
	st.Close()
	cancel()
	if err := <-done; err == nil {
		t.Fatal("replica A recorded its run's end after its death")
	}
}

func attemptsOf(t *testing.T, st *store.Store, runID string) map[string][]drills.StepState {
	t.Helper()
	steps, err := st.StepResultList(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]drills.StepState{}
	for _, s := range steps {
		out[s.Key] = append(out[s.Key], s.State)
	}
	return out
}

func startWorkerB(t *testing.T, dsn string, hook func(ctx context.Context, req *actions.Request, next func() (*actions.Result, error)) (*actions.Result, error)) {
	t.Helper()
	w, err := orchestrator.NewWorker(orchestrator.WorkerConfig{
		Runner: quietRunner(t, openPool(t, dsn), "replica-b", 2*time.Second, hook), Poll: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

func TestTakeoverRerunsAnInterruptedIdempotentStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, st := migratedPool(t)
	d := takeoverDrill(t, `
  step "one" {
    action   = "wait"
    duration = "10ms"
  }
  step "long" {
    action   = "wait"
    duration = "30s"
  }
  step "three" {
    action   = "wait"
    duration = "10ms"
  }`)
	run, err := quietRunner(t, st, "submitter", 0, nil).Submit(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	dyingReplica(t, dsn, d, run.ID, "long", false)

	// Replica B's long step is short: what matters is that it runs again.
	startWorkerB(t, dsn, func(ctx context.Context, req *actions.Request, next func() (*actions.Result, error)) (*actions.Result, error) {
		if req.Instance.Key == "long" {
			return &actions.Result{}, nil
		}
		return next()
	})
	waitFor(t, "the run to end", 30*time.Second, func() bool { return runState(t, st, run.ID).State.IsTerminal() })
	got := runState(t, st, run.ID)
	if got.State != drills.RunSucceeded || got.LeaseEpoch < 2 {
		t.Fatalf("run = %s epoch %d (%s), want succeeded after a takeover", got.State, got.LeaseEpoch, got.StateReason)
	}
	att := attemptsOf(t, st, run.ID)
	want := map[string][]drills.StepState{
		"one":   {drills.StepSucceeded},
		"long":  {drills.StepUnknown, drills.StepSucceeded},
		"three": {drills.StepSucceeded},
		"t0":    {drills.StepSucceeded},
		"t1":    {drills.StepSucceeded},
	}
	if fmt.Sprint(att) != fmt.Sprint(want) {
		t.Errorf("attempts = %v, want %v", att, want)
	}
}

func TestTakeoverNonIdempotentStepWaitsForAnOperator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, st := migratedPool(t)
	marker := filepath.Join(t.TempDir(), "marker")
	d := takeoverDrill(t, fmt.Sprintf(`
  step "one" {
    action   = "wait"
    duration = "10ms"
  }
  step "notify" {
    action  = "command"
    command = "/bin/sh"
    args    = ["-c", "echo ran >> %s"]
  }
  step "three" {
    action   = "wait"
    duration = "10ms"
  }`, marker))
	run, err := quietRunner(t, st, "submitter", 0, nil).Submit(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	// A runs the command (its effect lands) and dies before recording the outcome.
	dyingReplica(t, dsn, d, run.ID, "notify", true)
	startWorkerB(t, dsn, nil)

	waitFor(t, "the run to wait for an operator", 30*time.Second, func() bool {
		return runState(t, st, run.ID).State == drills.RunWaitingOperator
	})
	got := runState(t, st, run.ID)
	if !strings.Contains(got.StateReason, "firedrill step done|retry|abort "+run.ID+" notify") {
		t.Errorf("waiting reason = %q; want it to say how to decide", got.StateReason)
	}
	if n := countLines(t, marker); n != 1 {
		t.Fatalf("command ran %d times before the decision, want 1", n)
	}
	if att := attemptsOf(t, st, run.ID); fmt.Sprint(att["notify"]) != "[unknown]" {
		t.Errorf("notify attempts = %v, want [unknown]", att["notify"])
	}
	if _, err := st.StepDecide(ctx, &store.StepDecideParams{RunID: run.ID, StepKey: "notify", Decision: store.DecisionRetry, By: drills.Actor{Kind: drills.ActorUser, Name: "alice", Via: drills.ViaAPI}}); err != nil {
		t.Fatalf("StepDecide retry: %v", err)
	}
	waitFor(t, "the run to end", 30*time.Second, func() bool { return runState(t, st, run.ID).State.IsTerminal() })
	if got := runState(t, st, run.ID); got.State != drills.RunSucceeded {
		t.Fatalf("run = %s (%s), want succeeded", got.State, got.StateReason)
	}
	if n := countLines(t, marker); n != 2 {
		t.Errorf("command ran %d times, want 2 (once by A, once after the retry decision)", n)
	}
	att := attemptsOf(t, st, run.ID)
	if fmt.Sprint(att["notify"]) != "[unknown succeeded]" || fmt.Sprint(att["one"]) != "[succeeded]" {
		t.Errorf("attempts = %v; want one once, notify unknown then succeeded", att)
	}
}

func TestTakeoverOperatorAbortFailsTheRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, st := migratedPool(t)
	marker := filepath.Join(t.TempDir(), "marker")
	d := takeoverDrill(t, fmt.Sprintf(`
  step "notify" {
    action  = "command"
    command = "/bin/sh"
    args    = ["-c", "echo ran >> %s"]
  }`, marker))
	run, err := quietRunner(t, st, "submitter", 0, nil).Submit(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	dyingReplica(t, dsn, d, run.ID, "notify", false)
	startWorkerB(t, dsn, nil)
	waitFor(t, "the run to wait for an operator", 30*time.Second, func() bool {
		return runState(t, st, run.ID).State == drills.RunWaitingOperator
	})
	if _, err := st.StepDecide(ctx, &store.StepDecideParams{RunID: run.ID, StepKey: "notify", Decision: store.DecisionAbort, By: drills.Actor{Kind: drills.ActorUser, Name: "alice", Via: drills.ViaAPI}, Comment: "site on fire"}); err != nil {
		t.Fatalf("StepDecide abort: %v", err)
	}
	waitFor(t, "the run to end", 30*time.Second, func() bool { return runState(t, st, run.ID).State.IsTerminal() })
	got := runState(t, st, run.ID)
	if got.State == drills.RunSucceeded || got.AbortRequestedBy.Name != "alice" || !strings.Contains(got.StateReason, "abort") {
		t.Errorf("run = %s (%s), abort requested by %q; want it ended by alice's abort", got.State, got.StateReason, got.AbortRequestedBy)
	}
	if n := countLines(t, marker); n != 0 {
		t.Errorf("command ran %d times, want 0", n)
	}
}

func TestWorkerStopHandsRunsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, st := migratedPool(t)
	d := takeoverDrill(t, `
  step "long" {
    action   = "wait"
    duration = "30s"
  }`)
	run, err := quietRunner(t, st, "submitter", 0, nil).Submit(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var once sync.Once
	w, err := orchestrator.NewWorker(orchestrator.WorkerConfig{
		Runner: quietRunner(t, openPool(t, dsn), "replica-a", time.Minute, func(ctx context.Context, req *actions.Request, next func() (*actions.Result, error)) (*actions.Result, error) {
			if req.Instance.Key == "long" {
				once.Do(func() { close(started) })
			}
			return next()
		}),
		Poll: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-started
	w.Stop()
	got := runState(t, st, run.ID)
	if got.State.IsTerminal() || got.LeaseOwner != "" || got.LeaseExpiresAt != nil {
		t.Fatalf("after Stop run = %s owner %q expires %v; want it handed back, not ended", got.State, got.LeaseOwner, got.LeaseExpiresAt)
	}
	if att := attemptsOf(t, st, run.ID); fmt.Sprint(att["long"]) != "[running]" {
		t.Errorf("long attempts = %v, want [running] (left for the next replica)", att["long"])
	}
	// Another replica takes it at once (a minute-long lease was not waited for).
	next, epoch, err := st.RunClaimNext(ctx, &store.RunClaimNextParams{Owner: "replica-b", LeaseFor: time.Minute})
	if err != nil || next.ID != run.ID || epoch != got.LeaseEpoch+1 {
		t.Errorf("RunClaimNext after Stop = %v epoch %d, %v; want run %s", next, epoch, err, run.ID)
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}
