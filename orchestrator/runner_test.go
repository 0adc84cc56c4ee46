package orchestrator_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/sitesim"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/command"
	"github.com/firedrill/firedrill/orchestrator/actions/httpaction"
	"github.com/firedrill/firedrill/orchestrator/actions/manual"
	"github.com/firedrill/firedrill/orchestrator/actions/nomad"
	"github.com/firedrill/firedrill/orchestrator/actions/pause"
	"github.com/firedrill/firedrill/orchestrator/actions/postgres"
	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// bundle is one test's estate, simulated sites and runner.
type bundle struct {
	notes  *recordedNotes
	drill  *orchestrator.Drill
	sim    *sitesim.Sim
	runner *orchestrator.Runner
	store  *store.Store
}

// setup parses the example estate and plan, starts its sites in-process with ACL tokens and
// wires a runner over st. wrap, when set, may wrap each action (to observe the store mid-step).
func setup(t *testing.T, st *store.Store, wrap func(actions.Action) actions.Action) *bundle {
	t.Helper()
	return setupFiles(t, st, "../examples/firedrill.hcl", "../examples/plans/site-loss.hcl", nil, wrap)
}

// setupFiles is setup for any estate and plan file; env adds secrets (DSNs) to the tokens.
func setupFiles(t *testing.T, st *store.Store, estatePath, planPath string, env map[string]string, wrap func(actions.Action) actions.Action) *bundle {
	t.Helper()
	return setupSim(t, st, estatePath, planPath, env, wrap, nil)
}

// setupSim is setupFiles with the simulated sites' configuration edited by tune, when set.
func setupSim(t *testing.T, st *store.Store, estatePath, planPath string, env map[string]string, wrap func(actions.Action) actions.Action, tune func(*sitesim.Config)) *bundle {
	t.Helper()
	return setupRunner(t, st, estatePath, planPath, env, wrap, tune, nil)
}

// setupRunner is setupSim with the runner's configuration edited by tuneRunner, when set.
func setupRunner(t *testing.T, st *store.Store, estatePath, planPath string, env map[string]string, wrap func(actions.Action) actions.Action, tune func(*sitesim.Config), tuneRunner func(*orchestrator.RunnerConfig)) *bundle {
	t.Helper()
	estateSrc, err := os.ReadFile(estatePath)
	if err != nil {
		t.Fatal(err)
	}
	planSrc, err := os.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	estate, diags := drills.ParseEstate(estateSrc, estatePath)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plan, diags := drills.ParsePlan(planSrc, planPath)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	secrets := map[string]string{"NOMAD_TOKEN_SANGAM": "token-sangam", "NOMAD_TOKEN_YATAP": "token-yatap", "NOMAD_TOKEN_BUSAN": "token-busan"}
	for k, v := range env {
		secrets[k] = v
	}
	lookup := func(k string) (string, bool) { v, ok := secrets[k]; return v, ok }
	simCfg, err := sitesim.FromEstate(estate, true, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(&simCfg)
	}
	sim, err := sitesim.Start(context.Background(), simCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	for _, s := range estate.Sites {
		s.Nomad.Address = sim.Site(s.Name).NomadAddress()
		s.Ingress = sim.Site(s.Name).IngressAddress()
	}
	resolver := &secret.Resolver{LookupEnv: lookup}
	clients, err := nomad.NewClients(nomad.Config{Secrets: resolver, RetryBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(clients.Close)
	pg, err := postgres.New(postgres.Config{Secrets: resolver})
	if err != nil {
		t.Fatal(err)
	}
	httpCfg := httpaction.Config{Secrets: resolver, Allocations: clients}
	list := append(nomad.ActionsWatchingRestoration(clients, httpaction.NewRestorationWatcher(httpCfg)), httpaction.Actions(httpCfg)...)
	list = append(list, pg.Actions()...)
	list = append(list, manual.Actions()...)
	list = append(list, command.Actions(command.Config{})...)
	list = append(list, pause.Actions()...)
	if wrap != nil {
		for i, a := range list {
			list[i] = wrap(a)
		}
	}
	registry, err := actions.NewRegistry(list...)
	if err != nil {
		t.Fatal(err)
	}
	notes := &recordedNotes{}
	rcfg := orchestrator.RunnerConfig{
		Store: st, Actions: registry, Owner: "test", DecisionPoll: 20 * time.Millisecond,
		Canaries:      &actions.CanaryRouter{Postgres: pg, HTTP: &httpaction.Canaries{}},
		Probes:        httpaction.NewProber(httpaction.Config{Secrets: resolver}),
		Preflight:     []actions.Preflighter{nomad.NewPreflighter(clients), httpaction.NewPreflighter(httpaction.Config{Secrets: resolver}), pg},
		Lag:           pg,
		WatchInterval: 20 * time.Millisecond, LagInterval: 100 * time.Millisecond,
		Notifier: notes,
	}
	if tuneRunner != nil {
		tuneRunner(&rcfg)
	}
	runner, err := orchestrator.NewRunner(rcfg)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{
		drill:  &orchestrator.Drill{Estate: estate, EstateSource: estateSrc, Plan: plan, PlanSource: planSrc, RequestedBy: drills.Actor{Kind: drills.ActorSystem, Name: "test"}},
		sim:    sim,
		runner: runner,
		store:  st,
		notes:  notes,
	}
}

func (b *bundle) run(t *testing.T, ctx context.Context) (*store.Run, *orchestrator.Outcome) {
	t.Helper()
	run, err := b.runner.Submit(ctx, b.drill)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	out, err := b.runner.Execute(ctx, run.ID, b.drill)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	return run, out
}

// checkedAction asserts, each time it is called, that the store already holds the step as
// running: a step's start is committed before its action runs.
type checkedAction struct {
	actions.Action
	t     *testing.T
	store *store.Store
}

func (c *checkedAction) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	steps, err := c.store.StepResultList(ctx, req.RunID)
	if err != nil {
		c.t.Errorf("StepResultList during %s: %v", req.Instance.Key, err)
		return c.Action.Run(ctx, req)
	}
	if len(steps) == 0 {
		c.t.Errorf("step %s: no step recorded before its action ran", req.Instance.Key)
		return c.Action.Run(ctx, req)
	}
	last := steps[len(steps)-1]
	if last.Key != req.Instance.Key || last.State != drills.StepRunning {
		c.t.Errorf("step %s: last recorded step is %s (%s), want it running", req.Instance.Key, last.Key, last.State)
	}
	for _, s := range steps[:len(steps)-1] {
		if s.State != drills.StepSucceeded || s.EndedAt == nil {
			c.t.Errorf("step %s: earlier step %s is %s, want its result committed", req.Instance.Key, s.Key, s.State)
		}
	}
	return c.Action.Run(ctx, req)
}

func TestRunExamplePlanEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := setup(t, st, func(a actions.Action) actions.Action { return &checkedAction{Action: a, t: t, store: st} })
		ctx := context.Background()
		run, out := b.run(t, ctx)
		if out.State != drills.RunSucceeded || !out.Passed() {
			ms, _ := st.MeasurementList(ctx, run.ID)
			for _, m := range ms {
				t.Logf("measurement %s: %+v (%s) %s", m.Service, m.Objectives(true), m.Reason, m.Evidence)
			}
			t.Fatalf("outcome = %s (%s), passed %v; want succeeded and passed", out.State, out.Reason, out.Passed())
		}

		got, err := st.RunGet(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != drills.RunSucceeded || got.T0 == nil || got.T1 == nil || got.RTOActual == nil || got.EndedAt == nil {
			t.Fatalf("stored run = %+v; want succeeded with T0, T1, RTO and end", got)
		}
		if !got.T1.After(*got.T0) {
			t.Errorf("T1 %v is not after T0 %v", got.T1, got.T0)
		}

		steps, err := st.StepResultList(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, s := range steps {
			keys = append(keys, s.Key)
			if s.State != drills.StepSucceeded {
				t.Errorf("step %s state = %s, want succeeded", s.Key, s.State)
			}
		}
		wantKeys := "lose-sangam " +
			"start-on-yatap[auth] start-on-yatap[payments] start-on-yatap[remittance] wait-allocations verify"
		if strings.Join(keys, " ") != wantKeys {
			t.Errorf("steps = %s\nwant    %s", strings.Join(keys, " "), wantKeys)
		}

		ms, err := st.MeasurementList(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		rto := map[string]time.Duration{}
		for _, m := range ms {
			if !m.Restored || m.RTOActual == nil || !m.RTOMet || m.Resolution <= 0 {
				t.Errorf("measurement %s = %+v; want restored, measured, met, with a resolution", m.Service, m)
				continue
			}
			rto[m.Service] = *m.RTOActual
			// The recorded resolution says how the restored moment was caught.
			var ev struct {
				Method string `json:"resolution_method"`
			}
			if err := json.Unmarshal(m.Evidence, &ev); err != nil || !slices.Contains(
				[]string{actions.ResolutionPoll, actions.ResolutionEventStream, actions.ResolutionBlockingQuery}, ev.Method) {
				t.Errorf("measurement %s evidence %s: want its resolution_method", m.Service, m.Evidence)
			}
		}
		if len(rto) != 3 {
			t.Fatalf("measured %d services, want 3", len(rto))
		}
		// A service is never restored before what it depends on.
		if rto["payments"] < rto["auth"] || rto["remittance"] < rto["payments"] {
			t.Errorf("RTOs %v break the dependency order auth <= payments <= remittance", rto)
		}
		// The measured RTO comes from the sites' real behaviour: the DR jobs only got healthy
		// after the simulated allocation start and health delays.
		yatap := b.sim.Site("yatap")
		for _, job := range []string{"auth", "payments", "remittance"} {
			healthyAt, ok := yatap.HealthyAt(job)
			if !ok {
				t.Errorf("yatap never made %s healthy", job)
				continue
			}
			if healthyAt.Before(*got.T0) {
				t.Errorf("%s healthy on yatap at %v, before T0 %v", job, healthyAt, *got.T0)
			}
		}

		events, err := st.RunEventList(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		// created, claimed, preflight, running, 2 per step, 2 milestones, a measurement per
		// service, finished.
		if want := 4 + 2*len(steps) + 2 + len(ms) + 1; len(events) != want {
			t.Errorf("recorded %d events, want %d", len(events), want)
		}
		// Each measurement event gives back the figures the run recorded.
		byService := map[string]*store.Measurement{}
		for _, m := range ms {
			byService[m.Service] = m
		}
		seen := 0
		for _, ev := range events {
			if ev.Kind != drills.EventMeasurement {
				continue
			}
			var me drills.MeasurementEvidence
			if err := json.Unmarshal(ev.Data, &me); err != nil {
				t.Fatalf("measurement event %s: %v", ev.Data, err)
			}
			m := byService[me.Service]
			if m == nil || m.RTOActual == nil || me.RTO() == nil || *me.RTO() != m.RTOActual.Milliseconds() {
				t.Errorf("measurement event %s: its inputs give RTO %v, the run recorded %+v", ev.Data, me.RTO(), m)
			}
			seen++
		}
		if seen != len(ms) {
			t.Errorf("%d measurement events for %d measurements", seen, len(ms))
		}
	})
}

func TestRunFailsWhenDRSiteNeverGetsHealthy(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := setup(t, st, nil)
		b.sim.Site("yatap").FailJob("payments", true)
		for _, s := range b.drill.Plan.Steps {
			if s.Name == "wait-allocations" {
				s.Timeout = 2 * time.Second
			}
		}
		ctx := context.Background()
		run, out := b.run(t, ctx)
		// The failure came after the disaster: the plan's rollback returned the estate.
		if out.State != drills.RunRolledBack {
			t.Fatalf("outcome = %s (%s), want rolled_back", out.State, out.Reason)
		}
		if !strings.Contains(out.Reason, "wait-allocations") || !strings.Contains(out.Reason, "payments") {
			t.Errorf("reason %q does not name the step and the job", out.Reason)
		}
		steps, err := st.StepResultList(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		var last *store.StepResult
		for _, s := range steps {
			if !strings.HasPrefix(s.Key, orchestrator.KeyPrefixRollback) {
				last = s
			}
		}
		if last.Key != "wait-allocations" || last.State != drills.StepFailed || last.Error == "" {
			t.Errorf("last plan step = %s %s %q; want wait-allocations failed with an error", last.Key, last.State, last.Error)
		}
		ms, err := st.MeasurementList(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		// auth's checks passed on yatap while wait-allocations waited for payments: that
		// moment is a fact of the drill and is kept. payments never answered, and remittance
		// depends on it.
		for _, m := range ms {
			switch {
			case m.Service == "auth":
				if !m.Restored || m.RTOActual == nil || !strings.Contains(string(m.Evidence), actions.ResolutionEventStream) {
					t.Errorf("measurement auth = %+v, %s; want restored, caught in the event-stream window", m, m.Evidence)
				}
			case m.Restored || m.RTOMet || m.Reason == "":
				t.Errorf("measurement %s = %+v; want not restored with a reason", m.Service, m)
			}
		}
		if len(ms) != 3 {
			t.Errorf("%d measurements, want 3", len(ms))
		}
		got, err := st.RunGet(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != drills.RunRolledBack || got.StateReason == "" {
			t.Errorf("stored run = %s %q, want rolled_back with the reason", got.State, got.StateReason)
		}
		// The run ended with its findings: the failed step, and the RTOs missed, due from its
		// end.
		page, err := st.FindingList(ctx, &store.FindingListParams{RunID: run.ID})
		if err != nil {
			t.Fatal(err)
		}
		var stepFound bool
		missedRTO := map[string]bool{}
		for _, f := range page.Findings {
			if f.DueAt == nil || !f.DueAt.Equal(got.EndedAt.Add(store.DefaultFindingDue)) || f.Status != drills.FindingOpen {
				t.Errorf("finding %s %q: status %s due %v, want open and due %s after the run ended", f.ID, f.Title, f.Status, f.DueAt, store.DefaultFindingDue)
			}
			switch {
			case f.Kind == drills.FindingStepFailed && f.StepKey == "wait-allocations":
				stepFound = true
			case f.Kind == drills.FindingObjectiveMissed && strings.Contains(f.Title, "RTO"):
				missedRTO[f.Service] = true
			}
		}
		// auth was restored within its objective: its RTO was met, and only the services never
		// restored missed theirs.
		if want := map[string]bool{"payments": true, "remittance": true}; !stepFound || !maps.Equal(missedRTO, want) {
			t.Errorf("findings = %d (step wait-allocations found %v, missed RTOs %v), want the failed step and the missed RTOs %v",
				len(page.Findings), stepFound, missedRTO, want)
		}
	})
}

func TestRunRecordsEvidenceAsJSON(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)
	b := setup(t, st, nil)
	ctx := context.Background()
	run, _ := b.run(t, ctx)
	steps, err := st.StepResultList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		var ev map[string]any
		if err := json.Unmarshal(s.Evidence, &ev); err != nil {
			t.Errorf("step %s evidence %s is not a JSON object: %v", s.Key, s.Evidence, err)
			continue
		}
		if _, ok := ev["took_ms"]; !ok {
			t.Errorf("step %s evidence lacks took_ms: %s", s.Key, s.Evidence)
		}
		if s.Action == drills.ActionHTTPWaitHealthy && !strings.Contains(string(s.Evidence), "poll_interval_ms") {
			t.Errorf("verify evidence does not record the poll interval: %s", s.Evidence)
		}
	}
	// Tokens are resolved in memory only: nothing recorded carries them.
	events, err := st.RunEventList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := json.Marshal([]any{steps, events})
	if err != nil {
		t.Fatal(err)
	}
	all := string(recorded)
	if strings.Contains(all, "token-sangam") || strings.Contains(all, "token-yatap") {
		t.Error("a Nomad token was recorded")
	}
}

// recordedNotes keeps the notifications a runner sent, in order.
type recordedNotes struct {
	mu     sync.Mutex
	events []notify.Event
}

func (r *recordedNotes) Notify(_ context.Context, e notify.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recordedNotes) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, string(e.Kind)+":"+e.State)
	}
	return out
}

func TestRunNotifiesStartAndEnd(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)
	b := setup(t, st, nil)
	b.run(t, context.Background())
	if got, want := strings.Join(b.notes.kinds(), " "), "run_started:running run_ended:succeeded"; got != want {
		t.Errorf("notifications = %s, want %s", got, want)
	}
}

// A run awaiting approval is never executed: claiming it is refused by the run state machine,
// and nothing about it changes (it used to be carried to succeeded).
func TestExecuteRefusesARunAwaitingApproval(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := setup(t, st, nil)
		ctx := context.Background()
		deadline := time.Now().Add(time.Hour)
		run, err := st.RunSubmit(ctx, &store.RunSubmitParams{
			Estate: b.drill.Estate, EstateSource: b.drill.EstateSource, Plan: b.drill.Plan, PlanSource: b.drill.PlanSource,
			Run: store.RunInsertParams{
				RequestedBy: drills.Actor{Kind: drills.ActorUser, Name: "alice", Via: drills.ViaAPI}, State: drills.RunAwaitingApproval,
				ApprovalRoles: []string{drills.RoleSRE, drills.RoleCompliance}, ApprovalDeadline: &deadline,
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := b.runner.Execute(ctx, run.ID, b.drill)
		var te *drills.RunTransitionError
		if out != nil || !errors.Is(err, store.ErrInvalidTransition) || !errors.As(err, &te) || te.From != drills.RunAwaitingApproval {
			t.Fatalf("Execute(awaiting approval) = %+v, %v; want refused by the transition table", out, err)
		}
		got, err := st.RunGet(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != drills.RunAwaitingApproval || got.StartedAt != nil || got.EndedAt != nil || got.LeaseEpoch != 0 {
			t.Errorf("run after the refused Execute = %+v, want untouched", got)
		}
		if steps, err := st.StepResultList(ctx, run.ID); err != nil || len(steps) != 0 {
			t.Errorf("steps = %v, %v; want none", steps, err)
		}
	})
}
