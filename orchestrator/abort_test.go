package orchestrator_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// hookAction calls hook before the action; hook may wait, change the sites or fail the step.
type hookAction struct {
	actions.Action
	hook func(ctx context.Context, req *actions.Request) error
}

func (h *hookAction) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	if err := h.hook(ctx, req); err != nil {
		return nil, err
	}
	return h.Action.Run(ctx, req)
}

func hooked(hook func(ctx context.Context, req *actions.Request) error) func(actions.Action) actions.Action {
	return func(a actions.Action) actions.Action { return &hookAction{Action: a, hook: hook} }
}

// writePlan writes a plan file into a temporary directory and returns its path.
func writePlan(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// failoverPlan is the example site loss with the given steps between losing Sangam and
// verifying, the example rollback plus extra rollback steps, and a cleanup step.
func failoverPlan(disaster, middle, rollbackExtra string) string {
	if disaster == "" {
		disaster = `
  step "lose-sangam" {
    action    = "nomad.drain_site"
    site      = "sangam"
    milestone = "disaster"
  }`
	}
	return `plan "abort-test" {
  from     = "sangam"
  to       = "yatap"
  services = ["auth", "payments", "remittance"]
` + disaster + middle + `
  step "verify" {
    action    = "http.wait_healthy"
    site      = "yatap"
    milestone = "restored"
    timeout   = "1m"
  }
  rollback {
    step "stop-on-yatap" {
      action   = "nomad.stop_job"
      site     = "yatap"
      for_each = ["auth", "payments", "remittance"]
    }` + rollbackExtra + `
    step "return-to-sangam" {
      action = "nomad.undrain_site"
      site   = "sangam"
    }
  }
  cleanup {
    step "note" {
      action  = "command"
      command = "true"
    }
  }
}
`
}

// runAsync submits and executes the drill in the background.
func (b *bundle) runAsync(t *testing.T, ctx context.Context) (*store.Run, <-chan *orchestrator.Outcome) {
	t.Helper()
	run, err := b.runner.Submit(ctx, b.drill)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	done := make(chan *orchestrator.Outcome, 1)
	go func() {
		out, err := b.runner.Execute(ctx, run.ID, b.drill)
		if err != nil {
			t.Errorf("Execute: %v", err)
		}
		done <- out
	}()
	return run, done
}

func stepsByKey(t *testing.T, st *store.Store, runID string) map[string]*store.StepResult {
	t.Helper()
	steps, err := st.StepResultList(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*store.StepResult{}
	for _, s := range steps {
		out[s.Key] = s
	}
	return out
}

func eventKinds(t *testing.T, st *store.Store, runID string) map[string][]*store.RunEvent {
	t.Helper()
	evs, err := st.RunEventList(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*store.RunEvent{}
	for _, e := range evs {
		out[e.Kind] = append(out[e.Kind], e)
	}
	return out
}

// siteNodes lists a simulated site's Nomad nodes through the official client.
func siteNodes(t *testing.T, b *bundle, site, token string) (*api.Client, []*api.NodeListStub) {
	t.Helper()
	s := b.drill.Estate.Site(site)
	c, err := api.NewClient(&api.Config{Address: s.Nomad.Address, Region: s.Nomad.Region, SecretID: token})
	if err != nil {
		t.Fatal(err)
	}
	nodes, _, err := c.Nodes().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, nodes
}

// Pre-flight refuses to start a drill the DR site could not carry, or one a freeze forbids,
// and leaves everything as it was.
func TestPreflightBlocksAndTouchesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		break_ func(t *testing.T, b *bundle, st *store.Store)
		want   []string
	}{
		{"DR site partitioned", func(t *testing.T, b *bundle, _ *store.Store) {
			if err := b.sim.Site("yatap").SetPartitioned(true); err != nil {
				t.Fatal(err)
			}
		}, []string{"yatap reachable: "}},
		{"every DR node ineligible", func(t *testing.T, b *bundle, _ *store.Store) {
			c, nodes := siteNodes(t, b, "yatap", "token-yatap")
			for _, n := range nodes {
				if _, err := c.Nodes().ToggleEligibility(n.ID, false, nil); err != nil {
					t.Fatal(err)
				}
			}
		}, []string{"yatap capacity: no node ready and eligible in yatap-1"}},
		{"freeze on", func(t *testing.T, _ *bundle, st *store.Store) {
			if _, err := st.FreezeSet(context.Background(), &store.FreezeSetParams{By: drills.Actor{Kind: drills.ActorUser, Name: "alice", Via: drills.ViaAPI}, Reason: "quarter-end close"}); err != nil {
				t.Fatal(err)
			}
		}, []string{"freeze: a freeze is on, set by alice", "quarter-end close"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				b := setup(t, st, nil)
				tt.break_(t, b, st)
				ctx := context.Background()
				run, out := b.run(t, ctx)
				if out.State != drills.RunBlocked {
					t.Fatalf("outcome = %s (%s), want blocked", out.State, out.Reason)
				}
				for _, w := range tt.want {
					if !strings.Contains(out.Reason, w) {
						t.Errorf("reason %q does not contain %q", out.Reason, w)
					}
				}
				if steps := stepsByKey(t, st, run.ID); len(steps) != 0 {
					t.Errorf("blocked run recorded %d step results, want none", len(steps))
				}
				pre := eventKinds(t, st, run.ID)[orchestrator.EventPreflight]
				if len(pre) != 1 || !strings.Contains(string(pre[0].Data), "capacity") && tt.name != "DR site partitioned" {
					t.Errorf("preflight events = %v, want one listing the checks", pre)
				}
				got, err := st.RunGet(ctx, run.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.State != drills.RunBlocked || got.StartedAt != nil || got.T0 != nil {
					t.Errorf("stored run = %s started %v T0 %v; want blocked, never started", got.State, got.StartedAt, got.T0)
				}
				for _, job := range []string{"auth", "payments", "remittance"} {
					if !b.sim.Site("sangam").JobHealthy(job) {
						t.Errorf("sangam %s not healthy after a blocked run", job)
					}
				}
			})
		})
	}
}

// An operator's abort during each kind of step stops the step, runs the rollback and the
// cleanup, and records it all; the sites end as the rollback left them.
func TestAbortDuringEachStepKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind string
		// step is the plan text of the step named "target"; key is its instance's key.
		step, key string
		// slow, when set, is the site whose Nomad API is slowed while the target runs, so
		// that the abort lands mid-call.
		slow string
	}{
		{kind: "nomad.drain_site", key: "target", slow: "sangam", step: `
  step "target" {
    action    = "nomad.drain_site"
    site      = "sangam"
    milestone = "disaster"
  }`},
		{kind: "nomad.run_job", key: "target[auth]", slow: "yatap", step: `
  step "target" {
    action   = "nomad.run_job"
    site     = "yatap"
    for_each = ["auth"]
  }`},
		{kind: "nomad.wait_healthy", key: "target", slow: "yatap", step: `
  step "target" {
    action = "nomad.wait_healthy"
    site   = "yatap"
  }`},
		{kind: "http.wait_healthy", key: "target", step: `
  step "target" {
    action = "http.wait_healthy"
    site   = "yatap"
  }`},
		{kind: "command", key: "target", step: `
  step "target" {
    action  = "command"
    command = "sleep"
    args    = ["60"]
  }`},
		{kind: "manual", key: "target", step: `
  step "target" {
    action       = "manual"
    instructions = "Wait for the abort"
  }`},
		{kind: "wait", key: "target", step: `
  step "target" {
    action   = "wait"
    duration = "1h"
  }`},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				disaster, middle := "", tt.step
				if tt.kind == "nomad.drain_site" {
					disaster, middle = tt.step, ""
				}
				started := make(chan struct{})
				var b *bundle
				b = setupFiles(t, st, "../examples/firedrill.hcl", writePlan(t, failoverPlan(disaster, middle, "")), nil,
					hooked(func(ctx context.Context, req *actions.Request) error {
						switch {
						case req.Instance.Key == tt.key:
							if tt.slow != "" {
								b.sim.Site(tt.slow).SetLatency(time.Minute)
							}
							close(started)
						case strings.HasPrefix(req.Instance.Key, orchestrator.KeyPrefixRollback) && tt.slow != "":
							// The aborted call was cancelled; the rollback needs the site.
							b.sim.Site(tt.slow).SetLatency(0)
						}
						return nil
					}))
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				run, done := b.runAsync(t, ctx)
				select {
				case <-started:
				case out := <-done:
					t.Fatalf("run ended before the target step started: %s (%s)", out.State, out.Reason)
				}
				if _, err := st.RunAbortRequest(ctx, &store.RunAbortRequestParams{RunID: run.ID, By: drills.Actor{Kind: drills.ActorSystem, Name: "tester"}, Reason: "drill test"}); err != nil {
					t.Fatal(err)
				}
				out := <-done
				if out == nil {
					t.FailNow()
				}
				if out.State != drills.RunRolledBack || !strings.Contains(out.Reason, "aborted by tester: drill test") ||
					!strings.Contains(out.Reason, "sangam: nomad.undrain_site (rollback:return-to-sangam) succeeded") {
					t.Fatalf("outcome = %s (%s); want rolled_back, naming the abort and sangam's state", out.State, out.Reason)
				}
				steps := stepsByKey(t, st, run.ID)
				if s := steps[tt.key]; s == nil || s.State != drills.StepAborted || s.EndedAt == nil {
					t.Errorf("target step = %+v, want aborted and ended", s)
				}
				if _, ran := steps["verify"]; ran {
					t.Error("verify ran after the abort")
				}
				for _, k := range []string{"rollback:stop-on-yatap[auth]", "rollback:stop-on-yatap[payments]",
					"rollback:stop-on-yatap[remittance]", "rollback:return-to-sangam", "cleanup:note"} {
					if s := steps[k]; s == nil || s.State != drills.StepSucceeded {
						t.Errorf("step %s = %+v, want succeeded", k, s)
					}
				}
				got, err := st.RunGet(ctx, run.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.State != drills.RunRolledBack || got.StateReason != out.Reason || got.EndedAt == nil {
					t.Errorf("stored run = %s %q, want the outcome recorded", got.State, got.StateReason)
				}
				// The rollback put Sangam back in service: its nodes are eligible and its
				// services healthy again.
				_, nodes := siteNodes(t, b, "sangam", "token-sangam")
				for _, n := range nodes {
					if n.SchedulingEligibility != api.NodeSchedulingEligible || n.Drain {
						t.Errorf("sangam node %s eligibility %s drain %v after rollback", n.Name, n.SchedulingEligibility, n.Drain)
					}
				}
				wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
				defer wcancel()
				for _, job := range []string{"auth", "payments", "remittance"} {
					if err := b.sim.Site("sangam").WaitJobHealthy(wctx, job); err != nil {
						t.Errorf("sangam %s not healthy after rollback: %v", job, err)
					}
					if b.sim.Site("yatap").JobHealthy(job) {
						t.Errorf("yatap %s still healthy after the rollback stopped it", job)
					}
				}
			})
		})
	}
}

// A rollback step that fails makes the run loud: rollback_failed, naming what each site was
// left in. The other rollback steps and the cleanup still run.
func TestRollbackFailedNamesEachSiteState(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)
	started := make(chan struct{})
	plan := failoverPlan("", `
  step "hold" {
    action   = "wait"
    duration = "1h"
  }`, `
    step "broken" {
      action  = "command"
      site    = "yatap"
      command = "false"
    }`)
	b := setupFiles(t, st, "../examples/firedrill.hcl", writePlan(t, plan), nil, hooked(func(ctx context.Context, req *actions.Request) error {
		if req.Instance.Key == "hold" {
			close(started)
		}
		return nil
	}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, done := b.runAsync(t, ctx)
	<-started
	if _, err := st.RunAbortRequest(ctx, &store.RunAbortRequestParams{RunID: run.ID, By: drills.Actor{Kind: drills.ActorSystem, Name: "tester"}, Reason: "drill test"}); err != nil {
		t.Fatal(err)
	}
	out := <-done
	if out.State != drills.RunRollbackFailed {
		t.Fatalf("outcome = %s (%s), want rollback_failed", out.State, out.Reason)
	}
	for _, want := range []string{
		"aborted by tester: drill test",
		"sangam: nomad.undrain_site (rollback:return-to-sangam) succeeded",
		"yatap: command (rollback:broken) failed: exit status 1",
	} {
		if !strings.Contains(out.Reason, want) {
			t.Errorf("reason %q\ndoes not say %q", out.Reason, want)
		}
	}
	steps := stepsByKey(t, st, run.ID)
	if s := steps["rollback:return-to-sangam"]; s == nil || s.State != drills.StepSucceeded {
		t.Errorf("the rollback step after the failed one = %+v, want succeeded", s)
	}
	if s := steps["cleanup:note"]; s == nil || s.State != drills.StepSucceeded {
		t.Errorf("cleanup = %+v, want succeeded", s)
	}
}

// A breached stop condition aborts the run with the breach as the reason.
func TestStopConditionBreachAborts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		plan := strings.Replace(failoverPlan("", `
  step "hold" {
    action   = "wait"
    duration = "1h"
  }`, ""), "  rollback {", "  stop_when {\n    rto_budget = \"50ms\"\n  }\n  rollback {", 1)
		b := setupFiles(t, st, "../examples/firedrill.hcl", writePlan(t, plan), nil, nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		run, out := b.run(t, ctx)
		if out.State != drills.RunRolledBack || !strings.Contains(out.Reason, "stop condition rto_budget breached") {
			t.Fatalf("outcome = %s (%s), want rolled_back for the rto_budget breach", out.State, out.Reason)
		}
		if s := stepsByKey(t, st, run.ID)["hold"]; s == nil || s.State != drills.StepAborted {
			t.Errorf("hold = %+v, want aborted", s)
		}
		if evs := eventKinds(t, st, run.ID)[orchestrator.EventStopCondition]; len(evs) != 1 || !strings.Contains(evs[0].Message, "rto_budget") {
			t.Errorf("stop_condition events = %v, want the breach", evs)
		}
		got, err := st.RunGet(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.AbortRequestedAt == nil || got.AbortRequestedBy.Kind != drills.ActorStopCondition || got.AbortStopCondition != "rto_budget" {
			t.Errorf("abort request = %v by %+v (%q), want the rto_budget stop condition's", got.AbortRequestedAt, got.AbortRequestedBy, got.AbortStopCondition)
		}
	})
}

// A parallel for_each step starts each service once the services it depends on are up, and
// independent services at once.
func TestParallelStepFollowsTheDependencyGraph(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		estate, err := os.ReadFile("../examples/firedrill.hcl")
		if err != nil {
			t.Fatal(err)
		}
		estatePath := filepath.Join(t.TempDir(), "firedrill.hcl")
		estate = append(estate, []byte(`
service "notices" {
  criticality = "supporting"
  rto         = "2h"
  rpo         = "1h"
  check "http" {
    url = "{ingress}/notices/healthz"
  }
}
`)...)
		if err := os.WriteFile(estatePath, estate, 0o600); err != nil {
			t.Fatal(err)
		}
		plan := `plan "parallel" {
  from     = "sangam"
  to       = "yatap"
  services = ["auth", "payments", "remittance", "notices"]
  step "lose-sangam" {
    action    = "nomad.drain_site"
    site      = "sangam"
    milestone = "disaster"
  }
  step "start" {
    action   = "nomad.run_job"
    site     = "yatap"
    for_each = ["remittance", "payments", "auth", "notices"]
    parallel = true
  }
  step "verify" {
    action    = "http.wait_healthy"
    site      = "yatap"
    milestone = "restored"
    timeout   = "1m"
  }
}
`
		noticesStarted := make(chan struct{})
		b := setupFiles(t, st, estatePath, writePlan(t, plan), nil, hooked(func(ctx context.Context, req *actions.Request) error {
			switch req.Instance.Key {
			case "start[notices]":
				close(noticesStarted)
			case "start[auth]":
				// auth is not done before notices, which waits for nothing, has started.
				select {
				case <-noticesStarted:
				case <-time.After(10 * time.Second):
					return fmt.Errorf("notices did not start while auth was starting")
				}
			}
			return nil
		}))
		ctx := context.Background()
		run, out := b.run(t, ctx)
		if out.State != drills.RunSucceeded {
			t.Fatalf("outcome = %s (%s), want succeeded", out.State, out.Reason)
		}
		steps := stepsByKey(t, st, run.ID)
		auth, pay, rem, notices := steps["start[auth]"], steps["start[payments]"], steps["start[remittance]"], steps["start[notices]"]
		for _, s := range []*store.StepResult{auth, pay, rem, notices} {
			if s == nil || s.State != drills.StepSucceeded || s.EndedAt == nil {
				t.Fatalf("start steps = %v, want each recorded and succeeded", steps)
			}
		}
		if pay.StartedAt.Before(*auth.EndedAt) {
			t.Errorf("payments started at %v, before auth ended at %v", pay.StartedAt, *auth.EndedAt)
		}
		if rem.StartedAt.Before(*pay.EndedAt) {
			t.Errorf("remittance started at %v, before payments ended at %v", rem.StartedAt, *pay.EndedAt)
		}
		if notices.StartedAt.After(*auth.EndedAt) {
			t.Errorf("notices started at %v, after auth ended at %v: it waited for nothing it depends on", notices.StartedAt, *auth.EndedAt)
		}
	})
}

// A probe that keeps failing after T0 + grace breaches probe_failures and aborts the drill.
func TestProbeFailuresStopConditionAborts(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)
	plan := strings.Replace(failoverPlan("", `
  step "hold" {
    action   = "wait"
    duration = "1h"
  }`, ""), "  rollback {", `  # Sangam is lost at T0: its payments endpoint never answers again.
  probe "payments-on-sangam" {
    url      = "{ingress}/payments/healthz"
    site     = "sangam"
    interval = "10ms"
  }
  stop_when {
    probe_failures = 3
    probe_grace    = "1ms"
  }
  rollback {`, 1)
	b := setupFiles(t, st, "../examples/firedrill.hcl", writePlan(t, plan), nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, out := b.run(t, ctx)
	if out.State != drills.RunRolledBack || !strings.Contains(out.Reason, "probe_failures") {
		t.Fatalf("outcome = %s (%s), want rolled_back for the probe_failures breach", out.State, out.Reason)
	}
	if s := stepsByKey(t, st, run.ID)["hold"]; s == nil || s.State != drills.StepAborted {
		t.Errorf("hold = %+v, want aborted", s)
	}
}
