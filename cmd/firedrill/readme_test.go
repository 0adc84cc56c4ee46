package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/pgpairtest"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// readmeBlock is one ```sh block of the README: commands a reader is told to type.
type readmeBlock struct {
	line int // where the block starts in README.md
	body string
}

// readmeShellBlocks returns every ```sh block of the README. Blocks fenced without a language
// (a command synopsis) or with another one (hcl, a config) are not commands to run.
func readmeShellBlocks(t *testing.T, path string) []readmeBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []readmeBlock
	var cur *readmeBlock
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh":
			cur = &readmeBlock{line: n}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.body += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: unterminated ```sh block", path, cur.line)
	}
	return blocks
}

// TestReadmeCommandsRun runs every ```sh block of the README, as written, with bash in the
// repository root: `firedrill` is the binary built for these tests, `go run ./cmd/firedrill`
// runs as is. The test command itself (scripts/test.sh) is not run: this test is part of
// it; nor is serve --demo, which serves until interrupted (TestServeDemo runs it). Each block
// runs with a fresh FIREDRILL_DATABASE_URL and HOME, so nothing is left in the checkout; a
// command that exits non-zero fails the test with the block's line.
// The blocks that use the real PostgreSQL standby pair are TestReadmeLedgerExample's.
func TestReadmeCommandsRun(t *testing.T) {
	runReadmeBlocks(t, func(b readmeBlock) bool { return !strings.Contains(b.body, pairScript) })
}

// TestReadmeLedgerExample runs the README's blocks that use the real standby pair (the ledger
// example promotes its standby), holding the pair's lock and resetting the pair afterwards,
// even when the block failed half-way. Tests that may not promote the pair skip it by name.
func TestReadmeLedgerExample(t *testing.T) {
	runReadmeBlocks(t, func(b readmeBlock) bool { return strings.Contains(b.body, pairScript) })
}

// runReadmeBlocks runs the README's ```sh blocks that pick selects, as TestReadmeCommandsRun
// says.
func runReadmeBlocks(t *testing.T, pick func(readmeBlock) bool) {
	if testing.Short() {
		t.Skip("runs the README's commands")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeShellBlocks(t, filepath.Join(root, "README.md"))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```sh block")
	}
	shim := t.TempDir()
	if err := os.Symlink(binPath, filepath.Join(shim, "firedrill")); err != nil {
		t.Fatal(err)
	}
	picked := 0
	for _, b := range blocks {
		if !pick(b) {
			continue
		}
		picked++
		var script strings.Builder
		// Background jobs (a sim, a server) end with the block.
		script.WriteString("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n")
		ran := 0
		for _, line := range strings.Split(b.body, "\n") {
			// serve --demo serves until interrupted, so running it here would only wait out the
			// block's timeout: TestServeDemo runs the same command and checks what it serves.
			if strings.Contains(line, "scripts/test.sh") || strings.Contains(line, "serve --demo") {
				continue
			}
			if strings.TrimSpace(line) != "" && !strings.HasPrefix(strings.TrimSpace(line), "#") {
				ran++
			}
			script.WriteString(line + "\n")
		}
		if ran == 0 {
			continue
		}
		t.Run("README.md:"+strconv.Itoa(b.line), func(t *testing.T) {
			if strings.Contains(b.body, pairScript) {
				// The block promotes the real standby pair: it alone uses it meanwhile.
				pgpairtest.Lock(t)
				t.Cleanup(func() { pgpairtest.Reset(t) })
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			work := t.TempDir()
			cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
			cmd.Dir = root
			cmd.Env = append(readmeEnv(), "PATH="+shim+string(os.PathListSeparator)+os.Getenv("PATH"),
				"HOME="+work, "FIREDRILL_DATABASE_URL=sqlite:"+filepath.Join(work, "firedrill.db"))
			// The block's background jobs (go run's children included) share its process
			// group; all of it is killed when the block ends, so no pipe stays open.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			// Output goes to a file, not a pipe: a background job must not keep Wait waiting.
			logPath := filepath.Join(work, "output")
			logFile, err := os.Create(logPath)
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = logFile, logFile
			err = cmd.Start()
			if err == nil {
				err = cmd.Wait()
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
			logFile.Close()
			out, _ := os.ReadFile(logPath)
			if err != nil {
				t.Fatalf("README.md:%d: the block failed: %v\n--- block ---\n%s--- output ---\n%s", b.line, err, b.body, out)
			}
			for key, wants := range readmeExpect {
				if !strings.Contains(b.body, key) {
					continue
				}
				for _, want := range wants {
					if !strings.Contains(string(out), want) {
						t.Errorf("README.md:%d: the block printed no %q\n--- output ---\n%s", b.line, want, out)
					}
				}
			}
		})
	}
	if picked == 0 {
		t.Error("README.md has no ```sh block for this test")
	}
	for key := range readmeExpect {
		if !slices.ContainsFunc(blocks, func(b readmeBlock) bool { return strings.Contains(b.body, key) }) {
			t.Errorf("README.md has no ```sh block with %q, whose output readmeExpect checks", key)
		}
	}
}

// pairScript is the script of the real PostgreSQL standby pair (see internal/pgpairtest).
const pairScript = "scripts/pg-standby-pair.sh"

// readmeExpect says what a block must print beyond exiting 0: the block holding the key
// prints every string of its value.
var readmeExpect = map[string][]string{
	// The ledger example: a real promotion, the old primary fenced, the data loss measured.
	"examples/with-ledger/plans/site-loss.hcl": {
		"postgres.fence", "Drill PASSED", "refused: Sangam's ledger is fenced",
	},
	// The walk from the first admin to an approved, executed drill: the requester's own
	// approval is refused, two other people's start it, and it passes.
	"firedrill user bootstrap": {
		"awaits approval by sre, compliance", "cannot approve", "refused: alice asked for the run",
		"still needs compliance", "policy met, run is pending", "requested by alice (via cli)",
		"approved by bob (via cli) as sre", "approved by carol (via cli) as compliance", "Drill PASSED",
		"lesson (alice (via cli)", "page the DBA before draining", "F-1  runbook misses the DNS step",
		"risk accepted by carol (via cli): the DNS move lands in Q1", "risk_accepted",
	},
}

// readmeEnv is the environment without FIREDRILL_* settings of the caller (a reader starts
// with none) but with what Go needs (GOPATH, GOCACHE, GOFLAGS...).
func readmeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "FIREDRILL_") || strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	if os.Getenv("GOCACHE") == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			env = append(env, "GOCACHE="+filepath.Join(dir, "go-build"))
		}
	}
	if os.Getenv("GOPATH") == "" {
		if home, err := os.UserHomeDir(); err == nil {
			env = append(env, "GOPATH="+filepath.Join(home, "go"))
		}
	}
	return env
}

// TestReadmeAuthorizationTableIsTheCode holds the README's table of who may do what to the
// one authorization table, control.Permissions: every operation, every role, nothing else.
func TestReadmeAuthorizationTableIsTheCode(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	seen := map[control.Operation]bool{}
	for n, line := range strings.Split(string(src), "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) > 2 && cells[0] == "operation" && cells[1] == "what" {
			roles = cells[2:]
			continue
		}
		if roles == nil || len(cells) != len(roles)+2 || !strings.HasPrefix(cells[0], "`") {
			continue
		}
		op := control.Operation(strings.Trim(cells[0], "`"))
		want, known := control.Permissions[op]
		if !known {
			t.Errorf("README.md:%d: %s is not an operation of control.Permissions", n+1, op)
			continue
		}
		seen[op] = true
		for i, role := range roles {
			if got := cells[i+2] == "y"; got != slices.Contains(want, role) {
				t.Errorf("README.md:%d: %s for %s says %q; control.Permissions says allowed=%v", n+1, op, role, cells[i+2], !got)
			}
		}
	}
	if sorted := slices.Sorted(slices.Values(roles)); !slices.Equal(sorted, drills.Roles) {
		t.Errorf("README's table has the roles %v, want every role %v", roles, drills.Roles)
	}
	for _, op := range control.Operations() {
		if !seen[op] {
			t.Errorf("README's authorization table lacks %s", op)
		}
	}
}
