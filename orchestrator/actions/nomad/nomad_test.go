package nomad_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/internal/sitesim"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/nomad"
	"github.com/firedrill/firedrill/orchestrator/secret"
)

// fixture is one simulated primary+DR pair with an estate pointing at it.
type fixture struct {
	sim     *sitesim.Sim
	estate  *drills.Estate
	clients *nomad.Clients
	byName  map[string]actions.Action
	// tokens are the environment the site tokens are read from (TOK_SANGAM, TOK_YATAP).
	tokens map[string]string
}

// preflighter returns the Nomad pre-flight checks over the fixture's clients.
func (f *fixture) preflighter() *nomad.Preflighter { return nomad.NewPreflighter(f.clients) }

func setup(t *testing.T) *fixture {
	t.Helper()
	return setupWithTokens(t, "", "", "")
}

// setupWithTokens is setup with a client token (secret, one policy of rules) beside the
// management token of site, when secret is set.
func setupWithTokens(t *testing.T, site, secretID, rules string) *fixture {
	t.Helper()
	estate := &drills.Estate{
		Sites: []*drills.Site{
			{Name: "sangam", Role: drills.SiteRolePrimary, Nomad: &drills.NomadEndpoint{Region: "kr-sangam", Datacenter: "sangam-1", TokenEnv: "TOK_SANGAM"}},
			{Name: "yatap", Role: drills.SiteRoleDR, Nomad: &drills.NomadEndpoint{Region: "kr-yatap", Datacenter: "yatap-1", TokenEnv: "TOK_YATAP"}},
		},
		Services: []*drills.Service{
			{Name: "auth", NomadJob: "auth", RTO: time.Hour},
			{Name: "payments", NomadJob: "payments", RTO: time.Hour, DependsOn: []string{"auth"}},
		},
	}
	tokens := map[string]string{"TOK_SANGAM": "ts", "TOK_YATAP": "ty"}
	lookup := func(k string) (string, bool) { v, ok := tokens[k]; return v, ok }
	cfg, err := sitesim.FromEstate(estate, true, lookup)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Sites {
		if secretID != "" && cfg.Sites[i].Name == site {
			cfg.Sites[i].Tokens = []sitesim.TokenConfig{{Secret: secretID, Name: secretID + "-token", Policies: map[string]string{secretID: rules}}}
		}
	}
	cfg.StartDelay, cfg.HealthDelay = 20*time.Millisecond, 20*time.Millisecond
	sim, err := sitesim.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	for _, s := range estate.Sites {
		s.Nomad.Address = sim.Site(s.Name).NomadAddress()
	}
	clients, err := nomad.NewClients(nomad.Config{
		Secrets: &secret.Resolver{LookupEnv: lookup}, RetryBackoff: 5 * time.Millisecond,
		CallTimeout: 2 * time.Second, BlockingWait: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(clients.Close)
	f := &fixture{sim: sim, estate: estate, clients: clients, byName: map[string]actions.Action{}, tokens: tokens}
	for _, a := range nomad.Actions(clients) {
		f.byName[a.Spec().Name] = a
	}
	return f
}

// do runs action name for service on site with the given step parameters.
func (f *fixture) do(ctx context.Context, name, site, service string, params map[string]any) (*actions.Result, error) {
	return f.byName[name].Run(ctx, f.request(name, site, service, params))
}

// request is the runner's request for action name on service and site.
func (f *fixture) request(name, site, service string, params map[string]any) *actions.Request {
	step := &drills.Step{Name: "s", Action: name, Site: site, Params: params}
	return &actions.Request{
		RunID: "run", Config: f.estate, Plan: &drills.Plan{Name: "p"},
		Instance: drills.StepInstance{Step: step, Service: service, Key: "s[" + service + "]"},
		Site:     f.estate.Site(site), Services: []*drills.Service{f.estate.Service(service)},
		Clock: clock.Real{},
	}
}

func TestEveryActionMatchesItsSpec(t *testing.T) {
	t.Parallel()
	clients, err := nomad.NewClients(nomad.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range nomad.Actions(clients) {
		if _, ok := drills.LookupAction(a.Spec().Name); !ok {
			t.Errorf("action %s is not in the plan language", a.Spec().Name)
		}
	}
	if _, err := actions.NewRegistry(nomad.Actions(clients)...); err != nil {
		t.Fatal(err)
	}
}

func TestFailoverOfOneService(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sangam, yatap := f.sim.Site("sangam"), f.sim.Site("yatap")
	if !sangam.JobHealthy("auth") || yatap.JobHealthy("auth") {
		t.Fatal("want auth healthy on sangam only at start")
	}

	if _, err := f.do(ctx, drills.ActionNomadStopJob, "sangam", "auth", nil); err != nil {
		t.Fatalf("stop_job: %v", err)
	}
	if sangam.JobHealthy("auth") {
		t.Error("auth still healthy on sangam after stop_job")
	}
	// Stopping what is already stopped (a resumed step, a site that lost it) succeeds.
	if _, err := f.do(ctx, drills.ActionNomadStopJob, "sangam", "auth", map[string]any{"purge": true}); err != nil {
		t.Fatalf("second stop_job: %v", err)
	}
	res, err := f.do(ctx, drills.ActionNomadStopJob, "sangam", "auth", nil)
	if err != nil || res.Evidence["already_absent"] != true {
		t.Errorf("stop_job of a purged job = %v, %v; want success marked already_absent", res, err)
	}

	res, err = f.do(ctx, drills.ActionNomadRunJob, "yatap", "auth", map[string]any{"count": int64(2)})
	if err != nil {
		t.Fatalf("run_job: %v", err)
	}
	if res.Evidence["source"] != "pilot-light" {
		t.Errorf("run_job evidence source = %v, want pilot-light", res.Evidence["source"])
	}
	res, err = f.do(ctx, drills.ActionNomadWaitHealthy, "yatap", "auth", nil)
	if err != nil {
		t.Fatalf("wait_healthy: %v", err)
	}
	if !yatap.JobHealthy("auth") {
		t.Error("wait_healthy returned before yatap made auth healthy")
	}
	jobs := res.Evidence["jobs"].(map[string]any)
	if got := jobs["auth"].(map[string]any)["healthy"]; got != 2 {
		t.Errorf("healthy allocations = %v, want 2 (the count asked for)", got)
	}
}

func TestWaitHealthyTimesOutWithTheLastState(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.sim.Site("yatap").FailJob("payments", true)
	ctx := context.Background()
	if _, err := f.do(ctx, drills.ActionNomadRunJob, "yatap", "payments", nil); err != nil {
		t.Fatalf("run_job: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := f.do(wctx, drills.ActionNomadWaitHealthy, "yatap", "payments", nil)
	if err == nil {
		t.Fatal("wait_healthy of a failing job succeeded")
	}
	if !strings.Contains(err.Error(), "payments") || !(strings.Contains(err.Error(), "failed") || errors.Is(err, context.DeadlineExceeded)) {
		t.Errorf("error %q names neither the job nor why", err)
	}
}

// A version whose deployment failed gets no more allocations: wait_healthy says so at once
// instead of waiting out its timeout (serve --demo's failing drill relies on it).
func TestWaitHealthyStopsAtAFailedDeployment(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.sim.Site("yatap").FailJob("payments", true)
	ctx := context.Background()
	if _, err := f.do(ctx, drills.ActionNomadRunJob, "yatap", "payments", nil); err != nil {
		t.Fatalf("run_job: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	start := time.Now()
	_, err := f.do(wctx, drills.ActionNomadWaitHealthy, "yatap", "payments", nil)
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait_healthy of a job whose deployment failed = %v; want its failure", err)
	}
	if !strings.Contains(err.Error(), "payments") || !strings.Contains(err.Error(), "is failed") {
		t.Errorf("error %q names neither the job nor its failed deployment", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("wait_healthy took %s to see the failed deployment", took)
	}
}

func TestRunJobWithoutPilotLightNamesTheFix(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.estate.Services = append(f.estate.Services, &drills.Service{Name: "ghost", NomadJob: "ghost"})
	_, err := f.do(context.Background(), drills.ActionNomadRunJob, "yatap", "ghost", nil)
	if !errors.Is(err, nomad.ErrNotFound) || !strings.Contains(err.Error(), "jobspec") {
		t.Errorf("run_job of an unknown job = %v; want ErrNotFound suggesting a jobspec", err)
	}
}

func TestRunJobFromJobspecFile(t *testing.T) {
	t.Parallel()
	f := setup(t)
	dir := t.TempDir()
	spec := `{"Job":{"ID":"auth","Name":"auth","Region":"kr-sangam","Datacenters":["sangam-1"],
	  "TaskGroups":[{"Name":"app","Count":1,"Tasks":[{"Name":"app","Driver":"docker"}]}]}}`
	if err := os.WriteFile(filepath.Join(dir, "auth.json"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	step := map[string]any{"jobspec": "{service}.json"}
	f.estate.Sites[1].Nomad.Datacenter = "yatap-1"
	plan := &drills.Plan{Name: "p", File: filepath.Join(dir, "plan.hcl")}
	req := &actions.Request{
		RunID: "run", Config: f.estate, Plan: plan,
		Instance: drills.StepInstance{Step: &drills.Step{Name: "s", Action: drills.ActionNomadRunJob, Site: "yatap", Params: step}, Service: "auth", Key: "s[auth]"},
		Site:     f.estate.Site("yatap"), Services: []*drills.Service{f.estate.Service("auth")}, Clock: clock.Real{},
	}
	res, err := f.byName[drills.ActionNomadRunJob].Run(ctx, req)
	if err != nil {
		t.Fatalf("run_job with jobspec: %v", err)
	}
	if !strings.HasPrefix(res.Evidence["source"].(string), "jobspec:") {
		t.Errorf("source = %v, want jobspec:...", res.Evidence["source"])
	}
	if err := f.sim.Site("yatap").WaitJobHealthy(ctx, "auth"); err != nil {
		t.Errorf("auth registered from the jobspec never got healthy on yatap: %v", err)
	}

	// A jobspec for another job is refused before anything is registered.
	if err := os.WriteFile(filepath.Join(dir, "payments.json"), []byte(strings.ReplaceAll(spec, `"auth"`, `"other"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	req.Instance.Service, req.Services = "payments", []*drills.Service{f.estate.Service("payments")}
	if _, err := f.byName[drills.ActionNomadRunJob].Run(ctx, req); err == nil || !strings.Contains(err.Error(), `"other"`) {
		t.Errorf("run_job with a mismatched jobspec = %v; want an error naming the wrong job ID", err)
	}
}

func TestTransientErrorsAreRetriedThenReported(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sangam := f.sim.Site("sangam")

	// Every second request fails: retries carry the call through.
	sangam.SetErrorRate(0.5)
	if _, err := f.do(ctx, drills.ActionNomadStopJob, "sangam", "auth", nil); err != nil {
		t.Fatalf("stop_job with 50%% errors: %v", err)
	}
	// Every request fails: the action gives up after its attempts with the last error.
	sangam.SetErrorRate(1)
	_, err := f.do(ctx, drills.ActionNomadStopJob, "sangam", "payments", nil)
	if err == nil || !strings.Contains(err.Error(), "attempt 4 of 4") || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("stop_job with 100%% errors = %v; want failure after 4 attempts with the HTTP 500", err)
	}
	sangam.SetErrorRate(0)

	// A partitioned site refuses connections: bounded retries, then a clear failure.
	if err := sangam.SetPartitioned(true); err != nil {
		t.Fatal(err)
	}
	_, err = f.do(ctx, drills.ActionNomadStopJob, "sangam", "payments", nil)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("stop_job on a partitioned site = %v; want connection refused", err)
	}
	if err := sangam.SetPartitioned(false); err != nil {
		t.Fatal(err)
	}

	// A hanging site: each call hits its own deadline, and the step ends when its context does.
	sangam.SetHang(true)
	defer sangam.SetHang(false)
	hctx, hcancel := context.WithTimeout(ctx, 3*time.Second)
	defer hcancel()
	_, err = f.do(hctx, drills.ActionNomadStopJob, "sangam", "payments", nil)
	if err == nil {
		t.Error("stop_job on a hanging site succeeded")
	}
}

func TestWrongTokenIsRefusedAndNotRetried(t *testing.T) {
	t.Parallel()
	f := setup(t)
	m := metrics.New()
	clients, err := nomad.NewClients(nomad.Config{Secrets: &secret.Resolver{LookupEnv: func(string) (string, bool) { return "wrong-token", true }}, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer clients.Close()
	a := nomad.Actions(clients)[0]
	req := &actions.Request{
		RunID: "run", Config: f.estate, Plan: &drills.Plan{},
		Instance: drills.StepInstance{Step: &drills.Step{Name: "s", Action: a.Spec().Name, Site: "sangam"}, Service: "auth", Key: "s"},
		Site:     f.estate.Site("sangam"), Services: []*drills.Service{f.estate.Service("auth")}, Clock: clock.Real{},
	}
	_, err = a.Run(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "attempt 1 of") {
		t.Errorf("stop_job with a wrong token = %v; want a 403 on the first attempt", err)
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("error leaks the token: %v", err)
	}
	// The refused call is counted once, under its site.
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted := map[string]float64{}
	for _, f := range families {
		if f.GetName() == metrics.NameNomadErrors {
			for _, s := range f.GetMetric() {
				counted[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
			}
		}
	}
	if len(counted) != 1 || counted["sangam"] != 1 {
		t.Errorf("%s by site = %v; want sangam 1", metrics.NameNomadErrors, counted)
	}
}
