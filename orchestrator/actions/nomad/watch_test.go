package nomad_test

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/sitesim"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/httpaction"
	"github.com/firedrill/firedrill/orchestrator/actions/nomad"
)

// nextRunning reads events until one reports running allocations.
func nextRunning(t *testing.T, ctx context.Context, ch <-chan httpaction.AllocEvent) httpaction.AllocEvent {
	t.Helper()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatal("watch ended before the allocations ran")
			}
			if e.Err != nil {
				t.Fatalf("watch failed: %v", e.Err)
			}
			if e.Running > 0 {
				return e
			}
		case <-ctx.Done():
			t.Fatal("no event with running allocations")
		}
	}
}

func TestWatchAllocationsFollowsTheStreamAndSurvivesAPartition(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim, err := sitesim.Start(ctx, sitesim.Config{
		StartDelay: 10 * time.Millisecond, HealthDelay: 10 * time.Millisecond,
		Sites: []sitesim.SiteConfig{{Name: "yatap", Jobs: []sitesim.JobConfig{{ID: "auth"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	st := sim.Site("yatap")
	clients, err := nomad.NewClients(nomad.Config{MaxAttempts: 10, RetryBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer clients.Close()
	site := &drills.Site{Name: "yatap", Nomad: &drills.NomadEndpoint{Address: st.NomadAddress()}}
	c, err := api.NewClient(&api.Config{Address: st.NomadAddress()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	setStop := func(stop bool) {
		t.Helper()
		job, _, err := c.Jobs().Info("auth", (&api.QueryOptions{}).WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		job.Stop = new(stop)
		if _, _, err := c.Jobs().Register(job, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
			t.Fatal(err)
		}
	}

	ch, err := clients.WatchAllocations(ctx, site, "auth")
	if err != nil {
		t.Fatal(err)
	}
	first := <-ch
	if first.Running != 0 || first.Method != actions.ResolutionEventStream {
		t.Fatalf("first event = %+v, want nothing running, by the event stream", first)
	}
	setStop(false)
	if e := nextRunning(t, ctx, ch); e.Method != actions.ResolutionEventStream {
		t.Errorf("running reported by %q, want the event stream", e.Method)
	}
	setStop(true)
	if err := st.WaitJobUnhealthy(ctx, "auth"); err != nil {
		t.Fatal(err)
	}

	// The partition cuts the stream and refuses the reconnections; the watch goes on (with
	// blocking queries, unless it resumed the stream before noticing) once the API is back, and
	// still reports the next start.
	if err := st.SetPartitioned(true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := st.SetPartitioned(false); err != nil {
		t.Fatal(err)
	}
	setStop(false)
	e := nextRunning(t, ctx, ch)
	switch {
	case e.Method == actions.ResolutionBlockingQuery && e.Fallback == "":
		t.Errorf("running after the partition reported as %+v, want the stream's failure with the fallback", e)
	case e.Method != actions.ResolutionBlockingQuery && e.Method != actions.ResolutionEventStream:
		t.Errorf("running after the partition reported as %+v", e)
	}
}
