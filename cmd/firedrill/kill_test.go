package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/pgpairtest"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// canaryBlock matches a canary block of the example estate, with its comment.
var canaryBlock = regexp.MustCompile(`(?m)^(  #.*\n)*  canary \{\n(    .*\n)*  \}\n`)

// simEstate starts the simulated sites as their own process and writes the example estate,
// with the addresses the sim took, into dir. It returns the estate's path and the environment
// holding the Nomad tokens.
func simEstate(t *testing.T, ctx context.Context, dir string) (string, []string) {
	t.Helper()
	sites, env := startSim(t, ctx)
	src, err := os.ReadFile("../../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	// Without the estate's approval policy: these runs start as soon as they are submitted.
	estate := withoutDefaultApproval(t, string(src))
	// Every drill of these tests fails over again without failing back: sangam's services are
	// down from the second on, so no canary could write there. They test crash safety, not
	// data loss.
	estate = canaryBlock.ReplaceAllString(estate, "")
	path := filepath.Join(dir, "firedrill.hcl")
	if err := os.WriteFile(path, []byte(pointAtSim(estate, sites)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, env
}

// simSite is where the sim process serves one site.
type simSite struct{ Name, Nomad, Ingress string }

// startSim starts the simulated sites of the example estate as their own process and returns
// where they serve and the environment holding their Nomad tokens.
func startSim(t *testing.T, ctx context.Context) ([]simSite, []string) {
	t.Helper()
	env := append(os.Environ(), "NOMAD_TOKEN_SANGAM=tok-sangam", "NOMAD_TOKEN_YATAP=tok-yatap", "NOMAD_TOKEN_BUSAN=tok-busan")
	sim := exec.CommandContext(ctx, binPath, "sim", "--ephemeral", "--json", "--config", "../../examples/firedrill.hcl")
	sim.Env = env
	stdout, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sim.Stderr = io.Discard
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Process.Kill(); _ = sim.Wait() })
	var addrs struct{ Sites []simSite }
	if err := json.NewDecoder(bufio.NewReader(stdout)).Decode(&addrs); err != nil {
		t.Fatalf("read sim addresses: %v", err)
	}
	return addrs.Sites, env
}

// pointAtSim is the example estate's source with its sites' addresses replaced by those the
// sim process took.
func pointAtSim(estate string, sites []simSite) string {
	for _, s := range sites {
		port := map[string][2]string{"sangam": {"14646", "18080"}, "yatap": {"14647", "18081"}, "busan": {"14648", "18082"}}[s.Name]
		estate = strings.Replace(estate, "http://127.0.0.1:"+port[0], s.Nomad, 1)
		estate = strings.Replace(estate, "http://127.0.0.1:"+port[1], s.Ingress, 1)
	}
	return estate
}

// crashPlan is a drill of pauses to be killed in (it touches no site) and a non-idempotent
// command step that appends the run's ID to a marker file each time it runs, then lingers (so
// that kills land after its effect and before its outcome is recorded).
const crashPlan = `
plan "crash-drill" {
  from     = "sangam"
  to       = "yatap"
  services = ["auth", "payments", "remittance"]

  # The steps touch no site: pre-flight blocks a run against sites another run has failed
  # over, and the runs of this test overlap. What is killed here is the engine.
  step "lose-sangam" {
    action    = "wait"
    duration  = "100ms"
    milestone = "disaster"
  }
  step "settle" {
    action   = "wait"
    duration = "400ms"
  }
  step "notify" {
    action  = "command"
    command = "/bin/sh"
    args    = ["-c", "echo \"$FIREDRILL_RUN_ID\" >> %s; sleep 1"]
  }
  step "hold" {
    action   = "wait"
    duration = "400ms"
  }
  step "verify" {
    action    = "wait"
    duration  = "100ms"
    milestone = "restored"
  }
  rollback        = "none"
  rollback_reason = "touches no site"
}
`

// serveProc is one firedrill serve process.
type serveProc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startServe(t *testing.T, ctx context.Context, env []string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.CommandContext(ctx, binPath, append([]string{"serve", "--migrate", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = env
	p := &serveProc{cmd: cmd, stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return p
}

func (p *serveProc) kill9() {
	_ = p.cmd.Process.Kill() // SIGKILL: no deferred function, no lease release
	_ = p.cmd.Wait()
}

// address is where the serve process serves, once it does.
func (p *serveProc) address(t *testing.T) string {
	t.Helper()
	var addr string
	waitFor(t, 30*time.Second, func() bool {
		_, rest, ok := strings.Cut(p.stderr.String(), "firedrill serving on ")
		addr, _, _ = strings.Cut(rest, " ")
		return ok
	})
	return addr
}

// submitRun submits a plan through the CLI binary to the server at addr, as the person token
// stands for, and returns the run's ID.
func submitRun(t *testing.T, ctx context.Context, env []string, planPath, estatePath, addr, token string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, binPath, "submit", planPath, "--config", estatePath)
	cmd.Env = append(env, "FIREDRILL_ADDR="+addr, "FIREDRILL_TOKEN="+token)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("firedrill submit: %v\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// decideWaiting decides every step that waits for an operator: retry when retry is true,
// done otherwise, and counts the retries per run.
func decideWaiting(t *testing.T, ctx context.Context, st *store.Store, retries map[string]int, retry bool) {
	t.Helper()
	runs, err := listRuns(ctx, st, &store.RunListParams{States: []drills.RunState{drills.RunWaitingOperator}, Limit: store.MaxRunListLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range runs {
		steps, err := st.StepResultList(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if s.State != drills.StepUnknown || s.EndedAt != nil {
				continue
			}
			decision := store.DecisionDone
			if retry {
				decision = store.DecisionRetry
			}
			if _, err := st.StepDecide(ctx, &store.StepDecideParams{RunID: run.ID, StepKey: s.Key, Decision: decision, By: localPerson("kill-test")}); err != nil {
				t.Logf("decide %s of %s: %v", s.Key, run.ID, err)
				continue
			}
			if retry {
				retries[run.ID]++
			}
			t.Logf("decided %s %s on run %s", decision, s.Key, run.ID)
		}
	}
}

// TestKill9ServeMidDrill kills firedrill serve with SIGKILL at random moments of drills, 30
// times, restarting it each time; then lets the last one finish. Every run must end, every
// run's timeline must be gapless and match its step results, and the non-idempotent command
// step must never have run twice without an operator's retry.
func TestKill9ServeMidDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a serve process 30 times: skipped under -short")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	estatePath, env := simEstate(t, ctx, dir)
	marker := filepath.Join(dir, "marker")
	planPath := filepath.Join(dir, "crash-drill.hcl")
	if err := os.WriteFile(planPath, []byte(fmt.Sprintf(crashPlan, marker)), 0o644); err != nil {
		t.Fatal(err)
	}
	dsn := storetest.NewDatabase(t)
	env = append(env, "FIREDRILL_DATABASE_URL="+dsn, "FIREDRILL_CONFIG="+estatePath, "FIREDRILL_LEASE_FOR=2s", "FIREDRILL_POLL=50ms", "FIREDRILL_LOG_LEVEL=info")

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	// The first serve migrates the database; submit needs the schema.
	first := startServe(t, ctx, env)
	st := openWhenMigrated(t, ctx, dsn, first)
	token := sreToken(t, st, "kill-test")
	retries := map[string]int{}
	var runIDs []string
	for i := range 30 {
		p := first
		if i > 0 {
			p = startServe(t, ctx, env)
		}
		if i%3 == 0 {
			runIDs = append(runIDs, submitRun(t, ctx, env, planPath, estatePath, p.address(t), token))
		}
		delay := time.Duration(300+rng.IntN(3200)) * time.Millisecond
		time.Sleep(delay) // real time must pass for the drill to get somewhere
		p.kill9()
		t.Logf("kill %d after %s", i+1, delay)
		decideWaiting(t, ctx, st, retries, rng.IntN(2) == 0)
	}

	// The last replica finishes everything; steps left unknown are decided.
	last := startServe(t, ctx, env)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		decideWaiting(t, ctx, st, retries, true)
		runs, err := listRuns(ctx, st, &store.RunListParams{Limit: store.MaxRunListLimit})
		if err != nil {
			t.Fatal(err)
		}
		open := 0
		for _, r := range runs {
			if !r.State.IsTerminal() {
				open++
			}
		}
		if open == 0 && len(runs) == len(runIDs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs still open after the last replica ran 2 minutes\nserve stderr (tail):\n%s", open, tail(last.stderr.String(), 4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	last.kill9()

	ran := map[string]int{}
	if b, err := os.ReadFile(marker); err == nil {
		for _, line := range strings.Fields(string(b)) {
			ran[line]++
		}
	}
	states := map[drills.RunState]int{}
	takeovers := 0
	for _, id := range runIDs {
		run, err := st.RunGet(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		states[run.State]++
		if run.State != drills.RunSucceeded {
			t.Errorf("run %s ended %s: %s", id, run.State, run.StateReason)
		}
		takeovers += checkTimeline(t, ctx, st, id) - 1
		if n, allowed := ran[id], 1+retries[id]; n > allowed || n == 0 {
			t.Errorf("run %s: the command step ran %d times with %d retries decided; want between 1 and %d", id, n, retries[id], allowed)
		}
	}
	// Every fact every replica committed before it was killed is in the audit chain, once, in a
	// chain that verifies: the copies a killed replica left pending are chained by whoever
	// chains next.
	rep, err := st.AuditVerify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem != nil || rep.Pending != 0 || rep.Rows == 0 {
		t.Errorf("audit verify after %d kills: %d rows, %d pending, problem %+v; want every fact chained and no problem", 30, rep.Rows, rep.Pending, rep.Problem)
	}
	t.Logf("%d runs: %v; %d takeovers; command retries decided: %v", len(runIDs), states, takeovers, retries)
	if takeovers == 0 {
		t.Error("no run was ever taken over: the kills did not land mid-drill")
	}
}

// checkTimeline verifies that a run's events are gapless and that every step attempt has its
// step_started event and, once ended, its step_finished event: no event row was lost. It
// returns how many times the run was claimed.
func checkTimeline(t *testing.T, ctx context.Context, st *store.Store, runID string) int {
	t.Helper()
	evs, err := st.RunEventList(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	started, finished := map[string]bool{}, map[string]bool{}
	claims := 0
	for i, ev := range evs {
		if ev.Seq != i+1 {
			t.Errorf("run %s: event %d has seq %d: a gap", runID, i+1, ev.Seq)
		}
		var data struct {
			StepID string `json:"step_id"`
		}
		_ = json.Unmarshal(ev.Data, &data)
		switch ev.Kind {
		case store.EventStepStarted:
			started[data.StepID] = true
		case store.EventStepFinished:
			finished[data.StepID] = true
		case store.EventRunClaimed:
			claims++
		}
	}
	steps, err := st.StepResultList(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if !started[s.ID] {
			t.Errorf("run %s: step %s attempt %d has no step_started event", runID, s.Key, s.Attempt)
		}
		if (s.EndedAt != nil) != finished[s.ID] {
			t.Errorf("run %s: step %s attempt %d ended %v but step_finished event %v", runID, s.Key, s.Attempt, s.EndedAt != nil, finished[s.ID])
		}
	}
	return claims
}

// openWhenMigrated opens the database once serve has migrated it.
func openWhenMigrated(t *testing.T, ctx context.Context, dsn string, p *serveProc) *store.Store {
	t.Helper()
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for st.SchemaCheck(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not migrate the database:\n%s", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return st
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// TestServeSecondReplicaOnSQLiteIsRefused: SQLite supports one replica, and says so.
func TestServeSecondReplicaOnSQLiteIsRefused(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := "sqlite:" + filepath.Join(t.TempDir(), "firedrill.db")
	env := append(os.Environ(), "FIREDRILL_DATABASE_URL="+db)
	first := startServe(t, ctx, env)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(first.stderr.String(), "firedrill serving on") {
		if time.Now().After(deadline) {
			t.Fatalf("first serve did not start:\n%s", first.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	second := exec.CommandContext(ctx, binPath, "serve", "--migrate", "--listen", "127.0.0.1:0")
	second.Env = env
	out, err := second.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitError {
		t.Fatalf("second serve: %v, want exit 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "another firedrill serve (owner ") || !strings.Contains(string(out), "SQLite supports one replica: use PostgreSQL for several") {
		t.Errorf("second serve said %q; want it to name the holder and point to PostgreSQL", out)
	}
}

// TestPostgresRestartMidDrill restarts the PostgreSQL server under a running drill: the run
// survives the reconnect (its replica re-claims it if its lease lapsed) and completes with
// every step recorded.
func TestPostgresRestartMidDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a PostgreSQL cluster: skipped under -short")
	}
	pgpairtest.Lock(t)
	t.Cleanup(func() { pgpairtest.Reset(t) })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	admin, err := pgx.Connect(ctx, pgpairtest.PrimaryDSN())
	if err != nil {
		t.Fatalf("connect to the 5433 primary: %v", err)
	}
	name := fmt.Sprintf("firedrill_test_pgrestart_%d", time.Now().UnixNano()%1_000_000)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	admin.Close(ctx)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), pgpairtest.PrimaryDSN())
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(pgpairtest.PrimaryDSN())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	dsn := u.String()

	dir := t.TempDir()
	estatePath, env := simEstate(t, ctx, dir)
	planPath := filepath.Join(dir, "slow-drill.hcl")
	plan := strings.Replace(fmt.Sprintf(crashPlan, filepath.Join(dir, "marker")), `duration = "400ms"`, `duration = "3s"`, -1)
	if err := os.WriteFile(planPath, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	env = append(env, "FIREDRILL_DATABASE_URL="+dsn, "FIREDRILL_CONFIG="+estatePath, "FIREDRILL_LEASE_FOR=3s", "FIREDRILL_POLL=100ms", "FIREDRILL_LOG_LEVEL=info")
	p := startServe(t, ctx, env)
	st := openWhenMigrated(t, ctx, dsn, p)
	id := submitRun(t, ctx, env, planPath, estatePath, p.address(t), sreToken(t, st, "restart-test"))

	// Restart while the run is in its first long pause.
	deadline := time.Now().Add(time.Minute)
	for {
		steps, err := st.StepResultList(ctx, id)
		if err == nil && len(steps) > 0 && steps[len(steps)-1].Key == "settle" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run never reached its pause:\n%s", tail(p.stderr.String(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", pgpairtest.Version(t), "drprimary", "restart").CombinedOutput()
	if err != nil {
		t.Fatalf("restart PostgreSQL: %v\n%s", err, out)
	}
	t.Log("PostgreSQL restarted")

	var run *store.Run
	deadline = time.Now().Add(90 * time.Second)
	for {
		run, err = st.RunGet(ctx, id)
		if err == nil && run.State.IsTerminal() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run not ended 90s after the restart (last error %v):\n%s", err, tail(p.stderr.String(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if run.State != drills.RunSucceeded {
		t.Fatalf("run ended %s: %s\n%s", run.State, run.StateReason, tail(p.stderr.String(), 4000))
	}
	steps, err := st.StepResultList(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	for _, s := range steps {
		if s.State == drills.StepSucceeded {
			done[s.Key] = true
		}
	}
	for _, key := range []string{"lose-sangam", "settle", "notify", "hold", "verify"} {
		if !done[key] {
			t.Errorf("step %s not recorded as succeeded; steps: %d", key, len(steps))
		}
	}
	checkTimeline(t, ctx, st, id)
}
