package orchestrator_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// usePlan replaces the bundle's plan with a plan file of testdata.
func (b *bundle) usePlan(t *testing.T, path string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plan, diags := drills.ParsePlan(src, path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b.drill.Plan, b.drill.PlanSource = plan, src
}

// waitStepRunning polls the store until the run's step key is recorded running.
func waitStepRunning(t *testing.T, st *store.Store, runID, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		steps, err := st.StepResultList(ctx, runID)
		if err == nil {
			for _, s := range steps {
				if s.Key == key && s.State == drills.StepRunning {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("step %s of run %s never started", key, runID)
}

func TestManualStepWaitsForAPerson(t *testing.T) {
	t.Parallel()
	tests := []struct {
		decision  string
		wantState drills.RunState
	}{
		{decision: store.DecisionDone, wantState: drills.RunSucceeded},
		{decision: store.DecisionFailed, wantState: drills.RunFailed},
	}
	for _, tt := range tests {
		t.Run(tt.decision, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				b := setup(t, st, nil)
				b.usePlan(t, "testdata/manual.hcl")
				ctx := context.Background()
				run, err := b.runner.Submit(ctx, b.drill)
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan *orchestrator.Outcome, 1)
				go func() {
					out, err := b.runner.Execute(ctx, run.ID, b.drill)
					if err != nil {
						t.Errorf("Execute: %v", err)
					}
					done <- out
				}()
				waitStepRunning(t, st, run.ID, "call-van")
				select {
				case <-done:
					t.Fatal("the run went on without the person")
				default:
				}
				if _, err := st.StepDecide(ctx, &store.StepDecideParams{RunID: run.ID, StepKey: "call-van", Decision: tt.decision, By: drills.Actor{Kind: drills.ActorUser, Name: "alice", Via: drills.ViaAPI}, Comment: "VAN operator confirmed"}); err != nil {
					t.Fatal(err)
				}
				out := <-done
				if out == nil || out.State != tt.wantState {
					t.Fatalf("outcome = %+v, want %s", out, tt.wantState)
				}
				steps, err := st.StepResultList(ctx, run.ID)
				if err != nil {
					t.Fatal(err)
				}
				var manual *store.StepResult
				for _, s := range steps {
					if s.Key == "call-van" {
						manual = s
					}
				}
				if manual == nil || !strings.Contains(string(manual.Evidence), `"decided_by":"alice"`) && !strings.Contains(string(manual.Evidence), `"decided_by": "alice"`) {
					t.Errorf("manual step evidence = %s; want who decided", manual.Evidence)
				}
				if tt.decision == store.DecisionFailed && !strings.Contains(out.Reason, "marked failed by alice: VAN operator confirmed") {
					t.Errorf("reason %q does not say who failed the step and why", out.Reason)
				}
			})
		})
	}
}

// The Kakao case: a plan that fails payments over without auth is refused, and, forced to
// run, fails with payments never restored and auth named as the reason.
func TestPlanWithoutItsDependencyIsRefusedAndFailsWhenForced(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := setup(t, st, nil)
		b.usePlan(t, "testdata/kakao.hcl")
		ctx := context.Background()
		_, err := b.runner.Submit(ctx, b.drill)
		var invalid *orchestrator.InvalidPlanError
		if !errors.As(err, &invalid) || !strings.Contains(err.Error(), `service "payments" depends on "auth", which this plan does not fail over`) {
			t.Fatalf("Submit = %v; want the plan refused naming auth", err)
		}

		b.drill.Force = true
		run, out := b.run(t, ctx)
		if out.State != drills.RunFailed || !strings.Contains(out.Reason, "verify") {
			t.Errorf("forced run = %s (%s); want failed at verify", out.State, out.Reason)
		}
		ms, err := st.MeasurementList(ctx, run.ID)
		if err != nil || len(ms) != 1 {
			t.Fatalf("measurements = %v, %v", ms, err)
		}
		m := ms[0]
		if m.Service != "payments" || m.Restored || !strings.Contains(m.Reason, `depends on "auth", which this plan does not fail over`) {
			t.Errorf("payments measurement = restored %v reason %q; want never restored because of auth", m.Restored, m.Reason)
		}
		got, err := st.RunGet(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Forced {
			t.Errorf("run = %+v; a forced run must say so", got)
		}
	})
}

func TestProbeRecordsWhatUsersSaw(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)
	b := setup(t, st, nil)
	b.usePlan(t, "testdata/probed.hcl")
	ctx := context.Background()
	run, out := b.run(t, ctx)
	if out.State != drills.RunSucceeded {
		t.Fatalf("outcome = %s (%s)", out.State, out.Reason)
	}
	events, err := st.RunEventList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	for _, e := range events {
		if e.Kind == orchestrator.EventProbe {
			if err := json.Unmarshal(e.Data, &data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if data == nil {
		t.Fatal("no probe summary on the timeline")
	}
	polls, failures := data["polls"].(float64), data["failures"].(float64)
	// Payments answers on Yatap only once the failover is done: the probe saw it down, then up.
	if failures < 1 || polls <= failures || data["longest_outage_ms"].(float64) <= 0 {
		t.Errorf("probe summary = %v; want failures before the failover and passes after", data)
	}
	if since, ok := data["last_failure_since_t0_ms"].(float64); !ok || since < 0 {
		t.Errorf("last failure %v ms after T0; want the outage to last past T0", data["last_failure_since_t0_ms"])
	}
}
