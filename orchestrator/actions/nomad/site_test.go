package nomad_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/sitesim"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// doSite runs a site-level action (one that covers no service) on site.
func (f *fixture) doSite(ctx context.Context, name, site string, params map[string]any) (*actions.Result, error) {
	step := &drills.Step{Name: "s", Action: name, Site: site, Params: params}
	req := &actions.Request{
		RunID: "run", Config: f.estate, Plan: &drills.Plan{Name: "p"},
		Instance: drills.StepInstance{Step: step, Key: "s"},
		Site:     f.estate.Site(site), Clock: clock.Real{},
	}
	return f.byName[name].Run(ctx, req)
}

// api returns a plain client of a simulated site, to look at what the actions did.
func (f *fixture) api(t *testing.T, site string) *api.Client {
	t.Helper()
	tokens := map[string]string{"sangam": "ts", "yatap": "ty"}
	c, err := api.NewClient(&api.Config{Address: f.sim.Site(site).NomadAddress(), Region: f.estate.Site(site).Nomad.Region, SecretID: tokens[site]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func (f *fixture) nodes(t *testing.T, ctx context.Context, site string) []*api.NodeListStub {
	t.Helper()
	ns, _, err := f.api(t, site).Nodes().List((&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// liveAllocs returns the names of the site's pending or running allocations.
func (f *fixture) liveAllocs(t *testing.T, ctx context.Context, site string) []string {
	t.Helper()
	as, _, err := f.api(t, site).Allocations().List((&api.QueryOptions{Namespace: "*"}).WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	var live []string
	for _, a := range as {
		if a.ClientStatus == "pending" || a.ClientStatus == "running" {
			live = append(live, a.Name)
		}
	}
	return live
}

var siteJobs = []string{"auth", "payments"}

func TestDrainSiteStopsTheSiteAndUndrainBringsItBack(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sangam := f.sim.Site("sangam")
	for _, job := range siteJobs {
		if !sangam.JobHealthy(job) {
			t.Fatalf("%s is not healthy on sangam at start", job)
		}
	}

	res, err := f.doSite(ctx, drills.ActionNomadDrainSite, "sangam", nil)
	if err != nil {
		t.Fatalf("drain_site: %v", err)
	}
	// The step returns once the failure is injected, not merely requested.
	for _, job := range siteJobs {
		if sangam.JobHealthy(job) {
			t.Errorf("%s still healthy on sangam after drain_site", job)
		}
	}
	if live := f.liveAllocs(t, ctx, "sangam"); len(live) != 0 {
		t.Errorf("allocations still live on sangam after drain_site: %v", live)
	}
	ev := res.Evidence
	nodes := ev["nodes"].([]map[string]any)
	if len(nodes) != sitesim.DefaultNodes || ev["drained"] != sitesim.DefaultNodes || ev["mode"] != "drain" {
		t.Errorf("evidence = %v; want the %d sangam nodes drained in mode drain", ev, sitesim.DefaultNodes)
	}
	for _, n := range nodes {
		if !strings.HasPrefix(n["name"].(string), "sangam-client-") || n["id"] == "" {
			t.Errorf("evidence node %v: want its ID and a sangam name", n)
		}
	}
	if got := ev["running_allocations_before"]; got != len(siteJobs) {
		t.Errorf("running_allocations_before = %v, want %d", got, len(siteJobs))
	}
	if _, ok := ev["empty_after_ms"]; !ok {
		t.Error("evidence lacks empty_after_ms")
	}
	for _, n := range f.nodes(t, ctx, "sangam") {
		if n.SchedulingEligibility != api.NodeSchedulingIneligible {
			t.Errorf("node %s is %s after drain_site, want ineligible", n.Name, n.SchedulingEligibility)
		}
	}

	// Draining a drained site (a resumed step) succeeds and finds nothing left to stop.
	res, err = f.doSite(ctx, drills.ActionNomadDrainSite, "sangam", nil)
	if err != nil || res.Evidence["running_allocations_before"] != 0 {
		t.Errorf("second drain_site = %v, %v; want success with nothing running before", res, err)
	}

	res, err = f.doSite(ctx, drills.ActionNomadUndrainSite, "sangam", nil)
	if err != nil {
		t.Fatalf("undrain_site: %v", err)
	}
	if got := res.Evidence["nodes"].([]map[string]any); len(got) != sitesim.DefaultNodes {
		t.Errorf("undrain evidence nodes = %v, want %d", got, sitesim.DefaultNodes)
	}
	for _, n := range f.nodes(t, ctx, "sangam") {
		if n.SchedulingEligibility != api.NodeSchedulingEligible || n.Drain {
			t.Errorf("node %s after undrain_site: eligibility %s, drain %v; want eligible, not draining", n.Name, n.SchedulingEligibility, n.Drain)
		}
	}
	for _, job := range siteJobs {
		if err := sangam.WaitJobHealthy(ctx, job); err != nil {
			t.Errorf("%s never healthy again on sangam after undrain_site: %v", job, err)
		}
	}
	if _, err := f.doSite(ctx, drills.ActionNomadUndrainSite, "sangam", nil); err != nil {
		t.Errorf("second undrain_site: %v", err)
	}
}

func TestDrainSiteIneligibleKeepsWhatRuns(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// No datacenter in the estate means every node of the cluster.
	f.estate.Site("sangam").Nomad.Datacenter = ""
	res, err := f.doSite(ctx, drills.ActionNomadDrainSite, "sangam", map[string]any{"mode": "ineligible"})
	if err != nil {
		t.Fatalf("drain_site mode ineligible: %v", err)
	}
	if res.Evidence["drained"] != sitesim.DefaultNodes {
		t.Errorf("drained = %v, want %d", res.Evidence["drained"], sitesim.DefaultNodes)
	}
	for _, n := range f.nodes(t, ctx, "sangam") {
		if n.SchedulingEligibility != api.NodeSchedulingIneligible || n.Drain {
			t.Errorf("node %s: eligibility %s, drain %v; want ineligible, not draining", n.Name, n.SchedulingEligibility, n.Drain)
		}
	}
	for _, job := range siteJobs {
		if !f.sim.Site("sangam").JobHealthy(job) {
			t.Errorf("%s unhealthy after mode ineligible, which keeps what runs", job)
		}
	}
	if _, err := f.doSite(ctx, drills.ActionNomadUndrainSite, "sangam", nil); err != nil {
		t.Fatalf("undrain_site: %v", err)
	}
	for _, n := range f.nodes(t, ctx, "sangam") {
		if n.SchedulingEligibility != api.NodeSchedulingEligible {
			t.Errorf("node %s is %s after undrain_site, want eligible", n.Name, n.SchedulingEligibility)
		}
	}
}

func TestDrainSiteRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		datacenter string
		params     map[string]any
		want       []string
	}{
		{"unknown mode", "sangam-1", map[string]any{"mode": "burn"}, []string{"mode", `"burn"`}},
		{"negative deadline", "sangam-1", map[string]any{"deadline": -time.Second}, []string{"deadline"}},
		// A typo'd datacenter must not pass for a drained site.
		{"wrong datacenter", "sangam-9", nil, []string{`"sangam-9"`, "sangam-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			f.estate.Site("sangam").Nomad.Datacenter = tt.datacenter
			_, err := f.doSite(ctx, drills.ActionNomadDrainSite, "sangam", tt.params)
			if err == nil {
				t.Fatalf("drain_site(%v) on datacenter %s succeeded, want an error", tt.params, tt.datacenter)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("drain_site(%v) = %v; want it to name %s", tt.params, err, w)
				}
			}
			for _, n := range f.nodes(t, ctx, "sangam") {
				if n.SchedulingEligibility != api.NodeSchedulingEligible {
					t.Errorf("node %s is %s after a refused drain_site: nothing may change", n.Name, n.SchedulingEligibility)
				}
			}
		})
	}
}

func TestDrainSiteOnAnUnreachableSiteFails(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sangam := f.sim.Site("sangam")

	if err := sangam.SetPartitioned(true); err != nil {
		t.Fatal(err)
	}
	_, err := f.doSite(ctx, drills.ActionNomadDrainSite, "sangam", nil)
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "attempt 4 of 4") {
		t.Errorf("drain_site on a partitioned site = %v; want connection refused after bounded retries", err)
	}
	_, err = f.doSite(ctx, drills.ActionNomadUndrainSite, "sangam", nil)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("undrain_site on a partitioned site = %v; want connection refused", err)
	}
	if err := sangam.SetPartitioned(false); err != nil {
		t.Fatal(err)
	}

	// A hanging site: the step ends with its context.
	sangam.SetHang(true)
	defer sangam.SetHang(false)
	hctx, hcancel := context.WithTimeout(ctx, 3*time.Second)
	defer hcancel()
	if _, err := f.doSite(hctx, drills.ActionNomadDrainSite, "sangam", nil); err == nil {
		t.Error("drain_site on a hanging site succeeded")
	}
}

func TestScaleThenWaitHealthy(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := f.do(ctx, drills.ActionNomadRunJob, "yatap", "auth", map[string]any{"count": int64(1)}); err != nil {
		t.Fatalf("run_job: %v", err)
	}
	if _, err := f.do(ctx, drills.ActionNomadWaitHealthy, "yatap", "auth", nil); err != nil {
		t.Fatalf("wait_healthy at count 1: %v", err)
	}

	res, err := f.do(ctx, drills.ActionNomadScale, "yatap", "auth", map[string]any{"count": int64(3)})
	if err != nil {
		t.Fatalf("scale: %v", err)
	}
	counts := res.Evidence["counts"].(map[string]int)
	evals := res.Evidence["eval_ids"].(map[string]string)
	if counts[sitesim.DefaultGroup] != 3 || evals[sitesim.DefaultGroup] == "" {
		t.Errorf("scale evidence = %v; want group %s at 3 with its eval ID", res.Evidence, sitesim.DefaultGroup)
	}
	if prev := res.Evidence["previous_counts"].(map[string]int); prev[sitesim.DefaultGroup] != 1 {
		t.Errorf("previous_counts = %v, want %s: 1", prev, sitesim.DefaultGroup)
	}
	res, err = f.do(ctx, drills.ActionNomadWaitHealthy, "yatap", "auth", nil)
	if err != nil {
		t.Fatalf("wait_healthy after scale: %v", err)
	}
	if got := res.Evidence["jobs"].(map[string]any)["auth"].(map[string]any)["healthy"]; got != 3 {
		t.Errorf("healthy allocations after scale = %v, want 3", got)
	}

	// Naming the group, and scaling to the count it has, is the same success.
	if _, err := f.do(ctx, drills.ActionNomadScale, "yatap", "auth", map[string]any{"count": int64(3), "group": sitesim.DefaultGroup}); err != nil {
		t.Errorf("scale of group %s to its count: %v", sitesim.DefaultGroup, err)
	}
}

func TestScaleRefusesAnUnknownGroupOrJob(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := f.do(ctx, drills.ActionNomadScale, "sangam", "auth", map[string]any{"count": int64(2), "group": "web"})
	if err == nil || !strings.Contains(err.Error(), `"web"`) || !strings.Contains(err.Error(), "its groups: "+sitesim.DefaultGroup) {
		t.Errorf("scale of an unknown group = %v; want an error naming it and listing the job's groups", err)
	}
	f.estate.Services = append(f.estate.Services, &drills.Service{Name: "ghost", NomadJob: "ghost"})
	_, err = f.do(ctx, drills.ActionNomadScale, "sangam", "ghost", map[string]any{"count": int64(2)})
	if err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("scale of an unknown job = %v; want not registered", err)
	}
	_, err = f.do(ctx, drills.ActionNomadScale, "sangam", "auth", nil)
	if err == nil || !strings.Contains(err.Error(), "count") {
		t.Errorf("scale without a count = %v; want an error naming count", err)
	}
}
