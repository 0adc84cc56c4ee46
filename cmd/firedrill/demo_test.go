package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

func TestDemoPassesOnEmbeddedSQLite(t *testing.T) {
	t.Parallel()
	db := "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	res := runCLI(t, context.Background(), nil, "demo", "--database-url", db)
	if res.code != exitOK {
		t.Fatalf("demo exit code = %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"Timeline (UTC, ms)", "lose-sangam", "nomad.drain_site", "start-on-yatap[auth]", "verify", "T0 disaster", "T1 restored",
		"auth", "payments", "remittance", "Drill PASSED", "pre-flight at", "ok   capacity yatap", "(event stream)"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, res.stdout)
		}
	}
}

func TestDemoJSONOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	res := runCLI(t, context.Background(), nil, "demo", "--json", "--database-url", dsn)
	if res.code != exitOK {
		t.Fatalf("demo exit code = %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	var out runSummary
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("demo --json is not JSON: %v\n%s", err, res.stdout)
	}
	if !out.Passed || out.Run.State != "succeeded" || len(out.Services) != 3 || len(out.Steps) != 6 {
		t.Errorf("demo --json = passed %v state %s, %d services, %d steps; want passed, succeeded, 3, 6",
			out.Passed, out.Run.State, len(out.Services), len(out.Steps))
	}
	for _, s := range out.Services {
		if s.RTOActualMS == nil || !s.RTOMet {
			t.Errorf("service %s: rto_actual_ms %v met %v; want measured and met", s.Service, s.RTOActualMS, s.RTOMet)
		}
		// The example's restored moment follows nomad.wait_healthy: the checks probed in the
		// window the DR site's Nomad events open catch it, not verify's first poll after.
		if s.ResolutionMethod != actions.ResolutionEventStream {
			t.Errorf("service %s: resolution_method %q (±%dms), want %q", s.Service, s.ResolutionMethod, s.ResolutionMS, actions.ResolutionEventStream)
		}
		// The toy services replicate asynchronously: the demo measures a real RPO, with
		// writes lost to the lag, within the example's objectives.
		if s.RPOActualMS == nil || *s.RPOActualMS <= 0 || s.RPOLostRows == nil || *s.RPOLostRows == 0 ||
			s.RPOEvidence != drills.EvidenceMet || s.RPOResolutionMS == nil || !s.Met {
			t.Errorf("service %s: rpo %v, lost %v, evidence %s, resolution %v, met %v; want a real RPO with lost writes, met",
				s.Service, s.RPOActualMS, s.RPOLostRows, s.RPOEvidence, s.RPOResolutionMS, s.Met)
		}
	}
	if out.Run.FiredrillCommit == "" || out.Run.FiredrillVersion == "" {
		t.Errorf("demo run records version %q commit %q; want both", out.Run.FiredrillVersion, out.Run.FiredrillCommit)
	}
	if strings.Contains(res.stdout, "password") || strings.Contains(res.stderr, "token") {
		t.Error("demo output mentions a secret")
	}
}

// TestRunAgainstSimProcess starts the simulated sites as a process of their own, then runs the
// example plan at once through the CLI binary against them, recording in an embedded SQLite
// database (the estate without its approval policy: run refuses a plan that needs one).
func TestRunAgainstSimProcess(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	env := append(os.Environ(), "NOMAD_TOKEN_SANGAM=tok-sangam", "NOMAD_TOKEN_YATAP=tok-yatap")
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
	var addrs struct {
		Sites []struct{ Name, Nomad, Ingress string }
	}
	if err := json.NewDecoder(bufio.NewReader(stdout)).Decode(&addrs); err != nil {
		t.Fatalf("read sim addresses: %v", err)
	}
	if len(addrs.Sites) != 3 {
		t.Fatalf("sim serves %d sites, want 3", len(addrs.Sites))
	}

	// The estate with the addresses the sim process took.
	src, err := os.ReadFile("../../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	estate := withoutDefaultApproval(t, string(src))
	for _, s := range addrs.Sites {
		port := map[string][2]string{"sangam": {"14646", "18080"}, "yatap": {"14647", "18081"}, "busan": {"14648", "18082"}}[s.Name]
		estate = strings.Replace(estate, "http://127.0.0.1:"+port[0], s.Nomad, 1)
		estate = strings.Replace(estate, "http://127.0.0.1:"+port[1], s.Ingress, 1)
	}
	dir := t.TempDir()
	estatePath := filepath.Join(dir, "firedrill.hcl")
	if err := os.WriteFile(estatePath, []byte(estate), 0o644); err != nil {
		t.Fatal(err)
	}

	db := "sqlite:" + filepath.Join(dir, "firedrill.db")
	run := exec.CommandContext(ctx, binPath, "run", "../../examples/plans/site-loss.hcl",
		"--config", estatePath, "--migrate", "--json")
	run.Env = append(env, "FIREDRILL_DATABASE_URL="+db)
	out, err := run.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("firedrill run: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr)
	}
	var summary runSummary
	if err := json.Unmarshal(out, &summary); err != nil {
		t.Fatalf("run --json: %v\n%s", err, out)
	}
	// Started on the database directly: the local person, unauthenticated, via the CLI.
	if !summary.Passed || summary.Run.RequestedBy != localActor() {
		t.Errorf("run = passed %v requested by %+v; want passed, by %+v", summary.Passed, summary.Run.RequestedBy, localActor())
	}

	// The same run is in the database, as `migrate status` and a second process can see.
	status := exec.CommandContext(ctx, binPath, "migrate", "status", "--json", "--database-url", db)
	statusOut, err := status.Output()
	if err != nil {
		t.Fatalf("migrate status: %v", err)
	}
	if !strings.Contains(string(statusOut), `"applied": true`) || strings.Contains(string(statusOut), `"applied": false`) {
		t.Errorf("migrate status after run --migrate = %s; want every migration applied", statusOut)
	}
}

func TestRunWithoutTokenFailsClearly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	estate := filepath.Join(dir, "firedrill.hcl")
	if err := os.WriteFile(estate, []byte(withoutDefaultApproval(t, string(src))), 0o644); err != nil {
		t.Fatal(err)
	}
	// No sim is running and no token is set: the drill must fail at its first Nomad step with
	// the token reference named, never hang.
	res := runCLI(t, context.Background(), map[string]string{"FIREDRILL_DATABASE_URL": "sqlite:" + filepath.Join(dir, "firedrill.db"), "FIREDRILL_MIGRATE": "true"},
		"run", "../../examples/plans/site-loss.hcl", "--config", estate)
	if res.code != exitDrillFailed {
		t.Fatalf("exit code = %d, want %d\n%s\n%s", res.code, exitDrillFailed, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "env:NOMAD_TOKEN_SANGAM") {
		t.Errorf("output does not name the missing token reference:\n%s", res.stdout)
	}
	if !strings.Contains(res.stdout, "requested by local user "+currentUser()+" (unauthenticated)") {
		t.Errorf("output does not say the run was started locally, unauthenticated:\n%s", res.stdout)
	}
}

// firedrill run starts a drill at once, without a server: never one that needs approval, and
// never on a database that serve replicas share.
func TestRunRefusesWhatNeedsAServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := "sqlite:" + filepath.Join(t.TempDir(), "firedrill.db")
	res := runCLI(t, ctx, map[string]string{"FIREDRILL_DATABASE_URL": db, "FIREDRILL_MIGRATE": "true"}, "run", "../../examples/plans/site-loss.hcl")
	if res.code != exitError || !strings.Contains(res.stderr, "plan sangam-site-loss needs approval by sre, compliance: submit it to a firedrill server") {
		t.Errorf("run of a plan that needs approval: exit %d, stderr %q", res.code, res.stderr)
	}
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	estate := filepath.Join(dir, "firedrill.hcl")
	if err := os.WriteFile(estate, []byte(withoutDefaultApproval(t, string(src))), 0o644); err != nil {
		t.Fatal(err)
	}
	dsn := storetest.NewDatabase(t)
	res = runCLI(t, ctx, map[string]string{"FIREDRILL_DATABASE_URL": dsn, "FIREDRILL_MIGRATE": "true"}, "run", "../../examples/plans/site-loss.hcl", "--config", estate)
	if res.code != exitError || !strings.Contains(res.stderr, "embedded SQLite database only") {
		t.Errorf("run on PostgreSQL: exit %d, stderr %q", res.code, res.stderr)
	}
	// Refused before anything was applied to the database.
	status := runCLI(t, ctx, nil, "migrate", "status", "--json", "--database-url", dsn)
	if strings.Contains(status.stdout, `"applied": true`) {
		t.Errorf("a refused run migrated the database:\n%s", status.stdout)
	}
}

func TestServeHealthz(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := storetest.NewDatabase(t)
	cmd := exec.CommandContext(ctx, binPath, "serve", "--migrate", "--database-url", dsn, "--listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	var base string
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), "firedrill serving on "); ok {
			base, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	if base == "" {
		t.Fatal("serve did not print its address")
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("GET /healthz = %d %s, want 200 ok", resp.StatusCode, body)
	}
	if strings.Contains(fmt.Sprint(string(body)), "postgres://") {
		t.Error("healthz leaks the database URL")
	}
}

func TestRunsListAndShowReadWhatTheDemoRecorded(t *testing.T) {
	t.Parallel()
	db := "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	ctx := context.Background()
	if res := runCLI(t, ctx, nil, "demo", "--database-url", db, "--json"); res.code != exitOK {
		t.Fatalf("demo: %d %s", res.code, res.stderr)
	}
	// A server over the demo's database, and a viewer who reads it through the API.
	st, err := store.Open(ctx, store.Config{DatabaseURL: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := apiOver(t, st, db, "")
	vera := srv.person(t, srv.bootstrap(t, "root"), "vera", "viewer")

	list := decodeJSON[control.RunList](t, srv.cli(t, vera, "runs", "list", "--json"))
	if len(list.Runs) != 1 || list.Runs[0].State != drills.RunSucceeded || list.Runs[0].RequestedBy.Kind != drills.ActorLocal {
		t.Fatalf("runs list = %+v; want the demo's run, succeeded, started locally", list.Runs)
	}
	res := srv.cli(t, vera, "runs", "list")
	if !strings.Contains(res.stdout, list.Runs[0].ID) || !strings.Contains(res.stdout, "(unauthenticated)") {
		t.Errorf("runs list:\n%s", res.stdout)
	}
	res = srv.cli(t, vera, "runs", "show", list.Runs[0].ID)
	for _, want := range []string{"Drill PASSED", "requested by local user", "Timeline (UTC, ms)", "lose-sangam", "by firedrill at " + srv.url} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("runs show lacks %q:\n%s", want, res.stdout)
		}
	}
	res = srv.cli(t, vera, "runs", "show", list.Runs[0].ID, "--wait")
	if !strings.Contains(res.stdout, "Drill PASSED") {
		t.Errorf("runs show --wait of an ended run:\n%s", res.stdout)
	}
	if res := runCLI(t, ctx, srv.as(vera), "runs", "show", "no-such-run"); res.code != exitError || !strings.Contains(res.stderr, "not found") {
		t.Errorf("runs show of an unknown run: exit %d %q", res.code, res.stderr)
	}
	if res := runCLI(t, ctx, srv.as(vera), "runs", "list", "--state", "exploded"); res.code != exitError || !strings.Contains(res.stderr, "--state") {
		t.Errorf("runs list with an unknown state: exit %d %q; want 1 naming --state", res.code, res.stderr)
	}
	if res := runCLI(t, ctx, srv.as(vera), "runs", "list", "--since", "yesterday"); res.code != exitError || !strings.Contains(res.stderr, "--since") {
		t.Errorf("runs list with a bad --since: exit %d %q", res.code, res.stderr)
	}
	// Filters and pages.
	if none := decodeJSON[control.RunList](t, srv.cli(t, vera, "runs", "list", "--plan", "nope", "--json")); len(none.Runs) != 0 {
		t.Errorf("runs list --plan nope = %+v", none.Runs)
	}
	if page := decodeJSON[control.RunList](t, srv.cli(t, vera, "runs", "list", "--limit", "1", "--since", "2000-01-01", "--json")); len(page.Runs) != 1 || page.NextCursor != "" {
		t.Errorf("runs list --limit 1 = %+v; want the one run and no next page", page)
	}
}
