package orchestrator_test

import (
	"context"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/sitesim"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// exampleJobs are the jobs of the example estate's services.
var exampleJobs = []string{"auth", "payments", "remittance"}

// wantBlockedUntouched fails unless the run ended blocked with every want in its reason,
// recorded no step, and left the sites as they were (jobs healthy on sangam, none on yatap,
// unless sangamDown: the sites of a second run, already failed over).
func wantBlockedUntouched(t *testing.T, b *bundle, runID string, out *orchestrator.Outcome, wants ...string) {
	t.Helper()
	if out.State != drills.RunBlocked {
		t.Fatalf("outcome = %s (%s), want blocked", out.State, out.Reason)
	}
	for _, w := range wants {
		if !strings.Contains(out.Reason, w) {
			t.Errorf("reason = %q, want it to contain %q", out.Reason, w)
		}
	}
	steps, err := b.store.StepResultList(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 0 {
		t.Errorf("a blocked run recorded %d steps (first %s): pre-flight must touch nothing", len(steps), steps[0].Key)
	}
	evs, err := b.store.RunEventList(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		if ev.Kind == orchestrator.EventPreflight {
			found = true
		}
	}
	if !found {
		t.Errorf("no %s event on the blocked run's timeline", orchestrator.EventPreflight)
	}
}

// A second run against sites already failed over has nothing to fail over: it must end
// blocked, naming the services not serving on the from site and running already on the DR
// site, instead of "passing" with a disaster that removed nothing.
func TestSecondRunAgainstFailedOverSitesIsBlocked(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := setup(t, st, nil)
		ctx := context.Background()
		_, first := b.run(t, ctx)
		if first.State != drills.RunSucceeded {
			t.Fatalf("first run = %s (%s), want succeeded", first.State, first.Reason)
		}
		run, out := b.run(t, ctx)
		wantBlockedUntouched(t, b, run.ID, out,
			"payments is not serving on sangam: nothing to fail over",
			"payments already runs on yatap",
			"auth is not serving on sangam")
		for _, job := range exampleJobs {
			if !b.sim.Site("yatap").JobHealthy(job) {
				t.Errorf("%s is no longer healthy on yatap: the blocked run touched it", job)
			}
		}
	})
}

// readOnly is a Nomad ACL policy that reads everything and changes nothing.
const readOnly = `
namespace "default" { policy = "read" }
node { policy = "read" }
`

// A primary token that cannot do what the plan does is caught in pre-flight: before, the
// disaster step got a 403, the rollback another, and the run ended rollback_failed.
func TestWrongPrimaryTokenIsBlockedInPreflight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token string
		wants []string
	}{
		{"unknown token", "not-a-token-of-sangam", []string{
			"sangam credentials: the cluster refuses the token (HTTP 403: Permission denied): the plan needs read-job in namespace default, node read, node write",
		}},
		{"read-only token", "read-only", []string{
			`sangam credentials: token "auditor" (policies read-everything) does not allow node write (for nomad.drain_site (lose-sangam), nomad.undrain_site (return-to-sangam))`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				b := setupSim(t, st, "../examples/firedrill.hcl", "../examples/plans/site-loss.hcl",
					map[string]string{"NOMAD_TOKEN_SANGAM": tt.token}, nil, func(cfg *sitesim.Config) {
						for i := range cfg.Sites {
							if cfg.Sites[i].Name == "sangam" {
								cfg.Sites[i].Token = "token-sangam"
								cfg.Sites[i].Tokens = []sitesim.TokenConfig{{Secret: "read-only", Name: "auditor", Policies: map[string]string{"read-everything": readOnly}}}
							}
						}
					})
				ctx := context.Background()
				run, out := b.run(t, ctx)
				wantBlockedUntouched(t, b, run.ID, out, tt.wants...)
				for _, job := range exampleJobs {
					if !b.sim.Site("sangam").JobHealthy(job) {
						t.Errorf("%s is not healthy on sangam: the blocked run touched it", job)
					}
					if b.sim.Site("yatap").JobHealthy(job) {
						t.Errorf("%s runs on yatap: the blocked run started it", job)
					}
				}
			})
		})
	}
}
