package orchestrator_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
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

// partitionProxy forwards TCP connections to a PostgreSQL server until cut: then it closes
// every connection and refuses new ones, as a network partition between one replica and the
// database would.
type partitionProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func startPartitionProxy(t *testing.T, target string) *partitionProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &partitionProxy{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.partition() })
	return p
}

func (p *partitionProxy) partition() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestPartitionedReplicaStopsItsStepBeforeATakeover: replica A runs a non-idempotent command
// step when the network between it and the database is cut. A stops the step's program while
// its lease still stands; replica B takes the run over once the lease lapsed, an operator
// decides retry, and B's copy of the step starts only after A's copy is gone.
func TestPartitionedReplicaStopsItsStepBeforeATakeover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, st := migratedPool(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startPartitionProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	stA := openPool(t, u.String())

	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	d := takeoverDrill(t, fmt.Sprintf(`
  step "switch" {
    action  = "command"
    command = "/bin/sh"
    args    = ["-c", "echo $$ >> %[1]s; if [ $(wc -l < %[1]s) -gt 1 ]; then exit 0; fi; exec sleep 120"]
    timeout = "5m"
  }`, pids))
	run, err := quietRunner(t, st, "submitter", 0, nil).Submit(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	a := quietRunner(t, stA, "replica-a", 3*time.Second, nil)
	doneA := make(chan error, 1)
	go func() {
		_, err := a.Execute(ctx, run.ID, d)
		doneA <- err
	}()
	var first int
	waitFor(t, "A's copy of the step to start", 30*time.Second, func() bool {
		ps := readPIDs(t, pids)
		if len(ps) > 0 {
			first = ps[0]
		}
		return first != 0
	})
	proxy.partition()
	select {
	case err := <-doneA:
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("A ended with %v, want it to stop as having lost its lease", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("A did not stop within 20s of losing the database")
	}

	startWorkerB(t, dsn, nil)
	waitFor(t, "the run to wait for an operator", 30*time.Second, func() bool {
		return runState(t, st, run.ID).State == drills.RunWaitingOperator
	})
	if processAlive(first) {
		t.Fatalf("A's copy of the step (pid %d) still runs after B took the run over", first)
	}
	if _, err := st.StepDecide(ctx, &store.StepDecideParams{RunID: run.ID, StepKey: "switch", Decision: store.DecisionRetry, By: drills.Actor{Kind: drills.ActorUser, Name: "alice", Via: drills.ViaAPI}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the run to end", 30*time.Second, func() bool { return runState(t, st, run.ID).State.IsTerminal() })
	if got := runState(t, st, run.ID); got.State != drills.RunSucceeded {
		t.Errorf("run = %s (%s), want succeeded", got.State, got.StateReason)
	}
	if ps := readPIDs(t, pids); len(ps) != 2 {
		t.Errorf("the step ran %d times, want twice (A's copy, then B's after the retry)", len(ps))
	}
}

func readPIDs(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// processAlive reports whether pid runs (a zombie does not).
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

// TestWorkerReclaimingItsOwnRunStopsTheStaleExecution: the lease of a run a worker executes
// lapses under it (set in the past from outside, as after a long stall), and the same worker
// claims the run again. The stale execution is stopped at once (its step's program with it),
// and Stop returns promptly instead of waiting for the orphan.
func TestWorkerReclaimingItsOwnRunStopsTheStaleExecution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, st := migratedPool(t)
	pids := filepath.Join(t.TempDir(), "pids")
	d := takeoverDrill(t, fmt.Sprintf(`
  step "switch" {
    action  = "command"
    command = "/bin/sh"
    args    = ["-c", "echo $$ >> %s; exec sleep 120"]
    timeout = "5m"
  }`, pids))
	run, err := quietRunner(t, st, "submitter", 0, nil).Submit(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	w, err := orchestrator.NewWorker(orchestrator.WorkerConfig{
		Runner: quietRunner(t, openPool(t, dsn), "replica-a", 30*time.Second, nil), Poll: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	var first int
	waitFor(t, "the step to start", 30*time.Second, func() bool {
		if ps := readPIDs(t, pids); len(ps) > 0 {
			first = ps[0]
		}
		return first != 0
	})
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE runs SET lease_expires_at = now() - interval '1 minute' WHERE id = $1`, run.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the worker to claim its own run again", 10*time.Second, func() bool { return runState(t, st, run.ID).LeaseEpoch >= 2 })
	deadline := time.Now().Add(3 * time.Second)
	for processAlive(first) {
		if time.Now().After(deadline) {
			t.Fatalf("the stale execution's step (pid %d) still runs 3s after the run was re-claimed", first)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := make(chan struct{})
	began := time.Now()
	go func() { w.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Logf("Stop took %s", time.Since(began).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return within 5s")
	}
	if ps := readPIDs(t, pids); len(ps) != 1 {
		t.Errorf("the non-idempotent step ran %d times, want once", len(ps))
	}
}
