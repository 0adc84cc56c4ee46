package nomad_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// A disaster that removes nothing fails: draining a site already drained, or stopping a job
// that runs nowhere, would stamp a T0 at which nothing was lost.
func TestDisasterThatRemovedNothingFails(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	disaster := func(name, site, service string) error {
		req := f.request(name, site, service, nil)
		req.RunID = "second-run"
		req.Instance.Step.Milestone = drills.MilestoneDisaster
		if service == "" {
			req.Instance.Service, req.Services = "", nil
		}
		_, err := f.byName[name].Run(ctx, req)
		return err
	}
	// yatap runs nothing: its jobs are pilot lights.
	if err := disaster(drills.ActionNomadDrainSite, "yatap", ""); err == nil || !strings.Contains(err.Error(), "the disaster removed nothing") {
		t.Errorf("drain of an empty site as the disaster = %v, want it to fail: removed nothing", err)
	}
	if err := disaster(drills.ActionNomadStopJob, "yatap", "payments"); err == nil || !strings.Contains(err.Error(), "the disaster removed nothing") {
		t.Errorf("stop of a stopped job as the disaster = %v, want it to fail: removed nothing", err)
	}
	// The same steps without the milestone are fine (a rollback, a cleanup).
	if _, err := f.doSite(ctx, drills.ActionNomadDrainSite, "yatap", nil); err != nil {
		t.Errorf("drain of an empty site, not the disaster = %v, want success", err)
	}
	// sangam runs everything: the disaster removes it.
	if err := disaster(drills.ActionNomadDrainSite, "sangam", ""); err != nil {
		t.Errorf("drain of a serving site as the disaster = %v", err)
	}
}

// readOnlyRules reads everything and changes nothing.
const readOnlyRules = `
namespace "default" { policy = "read" }
node { policy = "read" }
`

// The simulator limits a client token to its policies, over real HTTP with the official
// client, as a Nomad server with ACLs does.
func TestSimulatedClientTokenIsLimitedToItsPolicies(t *testing.T) {
	t.Parallel()
	f := setupWithTokens(t, "sangam", "ro", readOnlyRules)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := api.NewClient(&api.Config{Address: f.sim.Site("sangam").NomadAddress(), Region: "kr-sangam", SecretID: "ro"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := (&api.QueryOptions{}).WithContext(ctx)
	self, _, err := c.ACLTokens().Self(q)
	if err != nil || self.Type != "client" || len(self.Policies) != 1 {
		t.Fatalf("token self = %+v, %v; want a client token with one policy", self, err)
	}
	pol, _, err := c.ACLPolicies().Info(self.Policies[0], q)
	if err != nil || !strings.Contains(pol.Rules, `policy = "read"`) {
		t.Fatalf("policy = %+v, %v", pol, err)
	}
	if _, _, err := c.Jobs().Info("payments", q); err != nil {
		t.Errorf("read job with a read token = %v, want allowed", err)
	}
	_, _, err = c.Jobs().Deregister("payments", false, (&api.WriteOptions{}).WithContext(ctx))
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("deregister with a read token = %v, want 403", err)
	}
	nodes, _, err := c.Nodes().List(q)
	if err != nil || len(nodes) == 0 {
		t.Fatalf("nodes = %v, %v", nodes, err)
	}
	if _, err := c.Nodes().ToggleEligibility(nodes[0].ID, false, (&api.WriteOptions{}).WithContext(ctx)); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("node eligibility with a read token = %v, want 403", err)
	}
	if !f.sim.Site("sangam").JobHealthy("payments") {
		t.Error("payments is not healthy on sangam after refused calls")
	}
}

// The credentials check reads the token and its policies and names each permission missing
// and the steps that need it; the management token passes.
func TestPreflightCredentials(t *testing.T) {
	t.Parallel()
	plan := &drills.Plan{Name: "p", From: "sangam", To: "yatap", Services: []string{"auth", "payments"},
		Steps: []*drills.Step{
			{Name: "lose", Action: drills.ActionNomadDrainSite, Site: "sangam", Milestone: drills.MilestoneDisaster},
			{Name: "start", Action: drills.ActionNomadRunJob, Site: "yatap", ForEach: []string{"auth", "payments"}},
		},
		Rollback: []*drills.Step{{Name: "back", Action: drills.ActionNomadUndrainSite, Site: "sangam"}},
	}
	tests := []struct {
		name, token string
		ok          bool
		want        string
	}{
		{"management", "ts", true, `management token "management"`},
		{"read only", "ro", false, `token "ro-token" (policies ro) does not allow node write (for nomad.drain_site (lose), nomad.undrain_site (back))`},
		{"unknown", "nope", false, "the cluster refuses the token (HTTP 403: Permission denied)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setupWithTokens(t, "sangam", "ro", readOnlyRules)
			f.tokens["TOK_SANGAM"] = tt.token
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			checks := f.preflighter().Preflight(ctx, &actions.PreflightRequest{RunID: "r", Config: f.estate, Plan: plan, Clock: clock.Real{}})
			var got *actions.PreflightCheck
			for i, c := range checks {
				if c.Check == "credentials" && c.Site == "sangam" {
					got = &checks[i]
				}
			}
			if got == nil {
				t.Fatalf("no sangam credentials check in %+v", checks)
			}
			if got.OK != tt.ok || !strings.Contains(got.Detail, tt.want) {
				t.Errorf("credentials = ok %v %q, want ok %v containing %q", got.OK, got.Detail, tt.ok, tt.want)
			}
		})
	}
}

// The steady-state checks pass on fresh sites and fail once the services run on the DR site
// and no longer on the primary.
func TestPreflightSteadyState(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	plan := &drills.Plan{Name: "p", From: "sangam", To: "yatap", Services: []string{"auth"},
		Steps: []*drills.Step{{Name: "lose", Action: drills.ActionNomadStopJob, Site: "sangam", ForEach: []string{"auth"}}}}
	state := func() map[string]actions.PreflightCheck {
		out := map[string]actions.PreflightCheck{}
		for _, c := range f.preflighter().Preflight(ctx, &actions.PreflightRequest{RunID: "r", Config: f.estate, Plan: plan, Clock: clock.Real{}}) {
			if c.Check == "serving" || c.Check == "standby" {
				out[c.Check] = c
			}
		}
		return out
	}
	before := state()
	if !before["serving"].OK || !before["standby"].OK {
		t.Fatalf("fresh sites: %+v, want serving and standby", before)
	}
	if _, err := f.do(ctx, drills.ActionNomadStopJob, "sangam", "auth", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.do(ctx, drills.ActionNomadRunJob, "yatap", "auth", nil); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.Site("yatap").WaitJobHealthy(ctx, "auth"); err != nil {
		t.Fatal(err)
	}
	after := state()
	if s := after["serving"]; s.OK || !strings.Contains(s.Detail, "auth is not serving on sangam: nothing to fail over") {
		t.Errorf("serving after failover = %+v", s)
	}
	if s := after["standby"]; s.OK || !strings.Contains(s.Detail, "auth already runs on yatap") {
		t.Errorf("standby after failover = %+v", s)
	}
}

// The standby check holds the DR site to the service's declared pilot-light count exactly:
// more is a DR site already serving, fewer a standby that is not the declared one, and a
// pilot light as large as the primary's count is no standby at all.
func TestPreflightPilotLight(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	plan := &drills.Plan{Name: "p", From: "sangam", To: "yatap", Services: []string{"auth"},
		Steps: []*drills.Step{{Name: "lose", Action: drills.ActionNomadStopJob, Site: "sangam", ForEach: []string{"auth"}}}}
	auth := f.estate.Service("auth")
	standby := func(pilot int) actions.PreflightCheck {
		t.Helper()
		auth.PilotLight = pilot
		for _, c := range f.preflighter().Preflight(ctx, &actions.PreflightRequest{RunID: "r", Config: f.estate, Plan: plan, Clock: clock.Real{}}) {
			if c.Check == "standby" {
				return c
			}
		}
		t.Fatal("no standby check")
		return actions.PreflightCheck{}
	}
	scale := func(site string, count int) {
		t.Helper()
		if _, err := f.do(ctx, drills.ActionNomadScale, site, "auth", map[string]any{"count": int64(count)}); err != nil {
			t.Fatal(err)
		}
		if err := f.sim.Site(site).WaitJobHealthy(ctx, "auth"); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string, pilot int, ok bool, want string) {
		t.Helper()
		if c := standby(pilot); c.OK != ok || !strings.Contains(c.Detail, want) {
			t.Errorf("%s, pilot_light = %d: standby = %+v, want OK %v and %q", when, pilot, c, ok, want)
		}
	}

	scale("sangam", 3)
	check("yatap stopped", 0, true, "job auth is stopped on yatap: in standby")
	check("yatap stopped", 1, false, "auth runs 0 allocations on yatap, its pilot light is 1: the standby is not the one the estate declares (job auth is stopped)")

	if _, err := f.do(ctx, drills.ActionNomadRunJob, "yatap", "auth", map[string]any{"count": int64(1)}); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.Site("yatap").WaitJobHealthy(ctx, "auth"); err != nil {
		t.Fatal(err)
	}
	check("yatap at 1", 1, true, "job auth runs 1 allocations on yatap, its pilot light (3 on sangam): in standby")
	check("yatap at 1", 0, false, "auth already runs on yatap (1 allocations, 3 on sangam): the DR site is not in standby")

	scale("yatap", 3)
	check("yatap at 3", 1, false, "auth runs 3 allocations on yatap, its pilot light is 1: not in standby")
	check("yatap at 3", 3, false, "auth runs 3 allocations on yatap, its pilot light, and 3 on sangam: the DR site already runs it in full")
}

// checkpointRecorder is the runner's checkpoint record, in memory; err makes every
// checkpoint fail.
type checkpointRecorder struct {
	got []map[string]any
	err error
}

func (c *checkpointRecorder) Checkpoint(_ context.Context, ev map[string]any) error {
	if c.err != nil {
		return c.err
	}
	c.got = append(c.got, ev)
	return nil
}

// A disaster stop_job checkpoints what it stops before stopping it; its attempt after a
// takeover (the first attempt's replica died before recording its result) recognises that
// stop and succeeds, where an attempt without it fails for removing nothing.
func TestResumedDisasterStopRecognisesItsOwnStop(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	disaster := func(service string, cp actions.Checkpointer, earlier ...actions.Checkpoint) (*actions.Result, error) {
		req := f.request(drills.ActionNomadStopJob, "sangam", service, nil)
		req.Instance.Step.Milestone = drills.MilestoneDisaster
		req.Checkpoints, req.Earlier = cp, earlier
		return f.byName[drills.ActionNomadStopJob].Run(ctx, req)
	}

	// A checkpoint that cannot be recorded stops nothing.
	if _, err := disaster("auth", &checkpointRecorder{err: errors.New("lease lost")}); err == nil || !strings.Contains(err.Error(), "lease lost; the job was not stopped") {
		t.Errorf("stop with a failing checkpoint = %v, want it refused", err)
	}
	if !f.sim.Site("sangam").JobHealthy("auth") {
		t.Error("auth was stopped although its checkpoint failed")
	}

	rec := &checkpointRecorder{}
	if _, err := disaster("payments", rec); err != nil {
		t.Fatalf("first attempt: %v", err)
	}
	if len(rec.got) != 1 || rec.got[0]["stopping_job"] != "payments" || rec.got[0]["site"] != "sangam" || rec.got[0]["running_allocations_before"] != 1 {
		t.Fatalf("checkpoints = %v, want one naming job payments on sangam and its 1 allocation", rec.got)
	}
	// The runner hands the checkpoint back as decoded JSON.
	raw, err := json.Marshal(rec.got[0])
	if err != nil {
		t.Fatal(err)
	}
	first := actions.Checkpoint{Attempt: 1}
	if err := json.Unmarshal(raw, &first.Evidence); err != nil {
		t.Fatal(err)
	}

	if _, err := disaster("payments", &checkpointRecorder{}); err == nil || !strings.Contains(err.Error(), "the disaster removed nothing") {
		t.Errorf("second attempt without the first's checkpoint = %v, want removed nothing", err)
	}
	other := actions.Checkpoint{Attempt: 1, Evidence: map[string]any{"stopping_job": "auth", "site": "sangam", "running_allocations_before": 1.0}}
	if _, err := disaster("payments", &checkpointRecorder{}, other); err == nil || !strings.Contains(err.Error(), "the disaster removed nothing") {
		t.Errorf("second attempt with another job's checkpoint = %v, want removed nothing", err)
	}
	again := &checkpointRecorder{}
	res, err := disaster("payments", again, first)
	if err != nil {
		t.Fatalf("second attempt with the first's checkpoint = %v, want success", err)
	}
	if res.Evidence["stopped_by_attempt"] != 1 || res.Evidence["running_allocations_before"] != 1.0 {
		t.Errorf("second attempt evidence = %v, want stopped_by_attempt 1 and the first's 1 allocation", res.Evidence)
	}
	if len(again.got) != 0 {
		t.Errorf("second attempt checkpointed %v, though it stopped nothing", again.got)
	}
}
