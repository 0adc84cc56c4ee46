package nomad_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/nomad"
)

// scriptedRestoration passes the checks of the services in passes at once and never passes
// the others' (it waits for the end of the watch). It notes every service it was asked about.
type scriptedRestoration struct {
	passes map[string]bool
	mu     sync.Mutex
	asked  []string
}

func (s *scriptedRestoration) WatchRestoration(ctx context.Context, req *actions.Request, svc *drills.Service) (*actions.Observation, map[string]any, error) {
	s.mu.Lock()
	s.asked = append(s.asked, svc.Name)
	s.mu.Unlock()
	if s.passes[svc.Name] {
		return &actions.Observation{Service: svc.Name, Site: req.Site.Name, PassedAt: time.Now(), Resolution: 2 * time.Millisecond, Method: actions.ResolutionEventStream},
			map[string]any{"polls": 1}, nil
	}
	<-ctx.Done()
	return nil, map[string]any{"polls": 7}, ctx.Err()
}

// nomad.wait_healthy with a restoration watcher returns, as its observations, the moment
// each service's checks passed while it waited; a service whose checks still fail when the
// allocations are healthy does not fail the step (the plan's http.wait_healthy decides), and
// a service without checks is not watched.
func TestWaitHealthyWatchesRestoration(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	check := []*drills.Check{{Kind: drills.CheckHTTP, URL: "{ingress}/healthz", ExpectStatus: 200, Interval: 50 * time.Millisecond}}
	f.estate.Service("auth").Checks = check
	f.estate.Service("payments").Checks = check
	restoration := &scriptedRestoration{passes: map[string]bool{"auth": true}}
	var wait actions.Action
	for _, a := range nomad.ActionsWatchingRestoration(f.clients, restoration) {
		if a.Spec().Name == drills.ActionNomadWaitHealthy {
			wait = a
		}
	}
	for _, svc := range []string{"auth", "payments"} {
		if _, err := f.do(ctx, drills.ActionNomadRunJob, "yatap", svc, nil); err != nil {
			t.Fatal(err)
		}
	}
	services := []*drills.Service{f.estate.Service("auth"), f.estate.Service("payments")}
	req := &actions.Request{
		RunID: "run", Config: f.estate, Plan: &drills.Plan{Name: "p"}, Site: f.estate.Site("yatap"), Services: services,
		Instance: drills.StepInstance{Step: &drills.Step{Name: "w", Action: drills.ActionNomadWaitHealthy, Site: "yatap"}, Key: "w"},
		Clock:    clock.Real{},
	}
	res, err := wait.Run(ctx, req)
	if err != nil {
		t.Fatalf("wait_healthy = %v, want success although payments' checks never passed", err)
	}
	if len(res.Observations) != 1 || res.Observations[0].Service != "auth" || res.Observations[0].Method != actions.ResolutionEventStream {
		t.Errorf("observations = %+v, want auth's, caught in the event-stream window", res.Observations)
	}
	got, _ := res.Evidence["restoration"].(map[string]any)
	auth, _ := got["auth"].(map[string]any)
	payments, _ := got["payments"].(map[string]any)
	if auth["passed"] != true || payments["passed"] != false || payments["polls"] != 7 {
		t.Errorf("restoration evidence = %v, want auth passed, payments not (with its probes' evidence)", got)
	}

	// A service without checks is not watched.
	f.estate.Service("payments").Checks = nil
	restoration.asked = nil
	if _, err := wait.Run(ctx, req); err != nil {
		t.Fatal(err)
	}
	if len(restoration.asked) != 1 || restoration.asked[0] != "auth" {
		t.Errorf("watched %v, want only auth (payments has no check)", restoration.asked)
	}
}
