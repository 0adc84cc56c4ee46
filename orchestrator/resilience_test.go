package orchestrator_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// resetter terminates the PostgreSQL backends of one application (the runner's store) in the
// test's own database each time a step boundary (a step_started or step_finished event) is
// committed: the connection that just wrote goes back to the pool dead, and the next
// bookkeeping write meets it. Nothing outside the test database is touched.
type resetter struct {
	resets atomic.Int64
	stop   context.CancelFunc
	done   chan struct{}
}

func startResetter(t *testing.T, dsn, app string) *resetter {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	r := &resetter{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer conn.Close(context.WithoutCancel(ctx))
		var seen int64
		for ctx.Err() == nil {
			var n int64
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM run_events WHERE kind IN ($1, $2)`,
				store.EventStepStarted, store.EventStepFinished).Scan(&n); err != nil {
				return
			}
			if n != seen {
				seen = n
				var killed int64
				if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
					WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`, app).Scan(&killed); err != nil {
					return
				}
				if killed > 0 {
					r.resets.Add(1)
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	t.Cleanup(r.close)
	return r
}

func (r *resetter) close() { r.stop(); <-r.done }

// TestConnectionResetsAtStepBoundaries resets the runner's database connections at every step
// boundary of several real drills (sitesim over HTTP, PostgreSQL): the bookkeeping retries,
// and every drill succeeds with a gapless timeline and every attempt closed.
func TestConnectionResetsAtStepBoundaries(t *testing.T) {
	t.Parallel()
	const app = "firedrill-resilience-runner"
	dsn := storetest.NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DatabaseURL: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}

	res := startResetter(t, dsn, app)
	const drillsToRun = 4
	var mu sync.Mutex
	var runIDs []string
	for i := range drillsToRun {
		b := setup(t, st, nil)
		// Submitting is not a drill's bookkeeping: its caller (a person, the API) sees a
		// transient error and submits again.
		run, err := b.runner.Submit(ctx, b.drill)
		for try := 0; try < 5 && store.IsTransient(err); try++ {
			run, err = b.runner.Submit(ctx, b.drill)
		}
		if err != nil {
			t.Fatalf("drill %d: Submit: %v", i, err)
		}
		out, err := b.runner.Execute(ctx, run.ID, b.drill)
		if err != nil {
			t.Fatalf("drill %d: Execute: %v (after %d resets)", i, err, res.resets.Load())
		}
		if out.State != drills.RunSucceeded {
			t.Fatalf("drill %d ended %s: %s (after %d resets)", i, out.State, out.Reason, res.resets.Load())
		}
		mu.Lock()
		runIDs = append(runIDs, run.ID)
		mu.Unlock()
	}
	res.close()
	if n := res.resets.Load(); n < 20 {
		t.Fatalf("only %d resets hit the runner's connections across %d drills; want at least 20", n, drillsToRun)
	}
	t.Logf("%d connection resets across %d drills", res.resets.Load(), drillsToRun)

	for _, id := range runIDs {
		evs, err := st.RunEventList(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		started, finished := map[string]int{}, map[string]int{}
		for i, ev := range evs {
			if ev.Seq != i+1 {
				t.Fatalf("run %s: event %d has seq %d: the timeline has a gap", id, i+1, ev.Seq)
			}
			switch ev.Kind {
			case store.EventStepStarted:
				started[ev.StepKey]++
			case store.EventStepFinished:
				finished[ev.StepKey]++
			}
		}
		if len(started) == 0 {
			t.Fatalf("run %s recorded no steps", id)
		}
		for k, n := range started {
			if n != 1 || finished[k] != 1 {
				t.Errorf("run %s: step %s started %d and finished %d times, want once each", id, k, n, finished[k])
			}
		}
		steps, err := st.StepResultList(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if s.State != drills.StepSucceeded || s.EndedAt == nil {
				t.Errorf("run %s: step %s attempt %d is %s", id, s.Key, s.Attempt, s.State)
			}
		}
	}
}

// TestAbortFoundAtTakeoverClosesTheInterruptedAttempt: a replica dies inside a step, an
// operator aborts the run while nobody holds it, and the replica taking over goes straight to
// the rollback. The attempt the dead replica left open is closed: no step attempt stays
// running inside a finished run, whether its action is idempotent or not.
func TestAbortFoundAtTakeoverClosesTheInterruptedAttempt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, step string }{
		{"idempotent", `
  step "long" {
    action   = "wait"
    duration = "30s"
  }`},
		{"not idempotent", `
  step "long" {
    action  = "command"
    command = "/bin/sleep"
    args    = ["30"]
  }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn, st := migratedPool(t)
			d := takeoverDrill(t, tc.step)
			run, err := quietRunner(t, st, "submitter", 0, nil).Submit(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			dyingReplica(t, dsn, d, run.ID, "long", false)
			if _, err := st.RunAbortRequest(ctx, &store.RunAbortRequestParams{
				RunID: run.ID, By: drills.Actor{Kind: drills.ActorUser, Name: "alice", Via: drills.ViaAPI}, Reason: "site on fire",
			}); err != nil {
				t.Fatal(err)
			}
			startWorkerB(t, dsn, nil)
			waitFor(t, "the run to end", 30*time.Second, func() bool { return runState(t, st, run.ID).State.IsTerminal() })
			got := runState(t, st, run.ID)
			if got.State != drills.RunAborted {
				t.Errorf("run = %s (%s), want aborted", got.State, got.StateReason)
			}
			steps, err := st.StepResultList(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			var long int
			for _, s := range steps {
				if s.EndedAt == nil || s.State == drills.StepRunning {
					t.Errorf("step %s attempt %d is %s, ended %v, inside a finished run", s.Key, s.Attempt, s.State, s.EndedAt)
				}
				if s.Key == "long" {
					long++
					if s.State != drills.StepUnknown || !strings.Contains(s.Error, "ended aborted") {
						t.Errorf("interrupted attempt = %s (%q); want closed as unknown at the run's end", s.State, s.Error)
					}
				}
			}
			if long != 1 {
				t.Errorf("step long has %d attempts, want the one interrupted", long)
			}
		})
	}
}
