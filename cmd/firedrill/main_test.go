package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// binPath is the firedrill binary built once for the tests that need a real process.
var binPath string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "firedrill-bin-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "firedrill")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build firedrill: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cliResult is what one in-process invocation of the CLI produced.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs the CLI in-process, through the same entry point as main (errors printed and
// mapped to exit codes as a user sees them), with the given arguments and a FIREDRILL_*
// environment of env only.
func runCLI(t *testing.T, ctx context.Context, env map[string]string, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := &app{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
	code := a.execute(ctx, args)
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update if the change is intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestPlanValidateBrokenPlanPrintsPositions(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, "plan", "validate", "--config", "testdata/broken/good-estate.hcl", "testdata/broken/plan.hcl")
	if res.code != exitError {
		t.Errorf("exit code = %d, want %d", res.code, exitError)
	}
	golden(t, "validate-broken-plan.txt", res.stdout)
	for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
		if !strings.HasPrefix(line, "testdata/broken/plan.hcl:") {
			t.Errorf("line %q is not file:line:col: message", line)
		}
	}
}

func TestPlanValidateBrokenEstatePrintsPositions(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, "plan", "validate", "--config", "testdata/broken/firedrill.hcl", "testdata/broken/plan.hcl")
	if res.code != exitError {
		t.Errorf("exit code = %d, want %d", res.code, exitError)
	}
	golden(t, "validate-broken-estate.txt", res.stdout)
}

func TestPlanValidateExamples(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, "plan", "validate", "../../examples/plans/site-loss.hcl")
	if res.code != exitOK {
		t.Fatalf("exit code = %d, stdout %s stderr %s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "1 plan(s) valid against") || !strings.Contains(res.stdout, "examples/firedrill.hcl") {
		t.Errorf("stdout = %q; want the plan valid against the estate found next to it", res.stdout)
	}
}

func TestPlanValidateJSON(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, "plan", "validate", "--json", "--config", "testdata/broken/good-estate.hcl", "testdata/broken/plan.hcl")
	if res.code != exitError {
		t.Errorf("exit code = %d, want %d", res.code, exitError)
	}
	golden(t, "validate-broken-plan.json", res.stdout)
}

func TestPlanValidateMissingFile(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, "plan", "validate", "--config", "testdata/broken/good-estate.hcl", "testdata/nope.hcl")
	if res.code != exitError || !strings.Contains(res.stderr, "testdata/nope.hcl does not exist") {
		t.Errorf("exit %d, stderr %q; want 1 naming the missing file", res.code, res.stderr)
	}
}

func TestUnknownFlagValueIsRefused(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, "--log-level", "loud", "plan", "validate", "x.hcl")
	if res.code != exitError || !strings.Contains(res.stderr, "--log-level") {
		t.Errorf("exit %d, stderr %q; want 1 naming --log-level", res.code, res.stderr)
	}
}

func TestEveryPlanActionIsWired(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)
	a := &app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, logger: slog.New(slog.DiscardHandler)}
	eng, err := a.newEngine(st, &secret.Resolver{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if got, want := strings.Join(eng.registry.Names(), " "), strings.Join(drills.ActionNames(), " "); got != want {
		t.Errorf("wired actions = %s\nplan language  = %s", got, want)
	}
}
