package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeMarker precedes the README's block of shell commands that this test runs.
const readmeMarker = "<!-- cmd/firedrill/readme_test.go runs the next block -->"

// readmeBlocks returns the shell blocks of README.md that follow the marker.
func readmeBlocks(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(b), readmeMarker)
	if len(parts) < 2 {
		t.Fatalf("README.md has no %q", readmeMarker)
	}
	var blocks []string
	for i, rest := range parts[1:] {
		rest = strings.TrimLeft(rest, "\n")
		body, ok := strings.CutPrefix(rest, "```sh\n")
		if !ok {
			t.Fatalf("README.md: marker %d is not followed by a ```sh block", i+1)
		}
		block, _, ok := strings.Cut(body, "```")
		if !ok {
			t.Fatalf("README.md: the block after marker %d does not end", i+1)
		}
		blocks = append(blocks, block)
	}
	return blocks
}

// background matches a command the README starts in the background (cmd &), not cmd && cmd.
var background = regexp.MustCompile(`^(.*[^&\s])\s*&\s*(#.*)?$`)

// readmeScript turns the README's block into a bash script that runs each command exactly as
// written, stopping at the first that fails. A command started in the background (a server)
// gets its stderr kept, and the script waits until it says it is ready, as a person would
// before typing the next command.
func readmeScript(block string) string {
	var b strings.Builder
	b.WriteString(`set -euo pipefail
trap 'kill $(jobs -p) 2>/dev/null || true; wait' EXIT # the servers end before the script does
ready() { # LOG: wait until the server logging to LOG says it is up
  timeout 60 grep -m1 -qE 'firedrill serving on|simulated sites are up' <(tail -F -n +1 "$1" 2>/dev/null) || { cat "$1" >&2; return 1; }
}
`)
	n := 0
	for _, line := range strings.Split(block, "\n") {
		if m := background.FindStringSubmatch(line); m != nil && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			n++
			fmt.Fprintf(&b, "%s 2>background-%d.log &\nready background-%d.log\n", m[1], n, n)
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestReadmeCommands runs the README's marked blocks, one after the other (the sites they
// simulate listen on the estate's fixed ports): the walk from firedrill user bootstrap to an
// approved, executed drill. Each runs as written,
// with the firedrill binary on PATH, in a directory holding a copy of examples/. Only where the
// server listens comes from the environment (FIREDRILL_LISTEN and FIREDRILL_ADDR), so that the
// test does not need port 8080.
func TestReadmeCommands(t *testing.T) {
	t.Parallel()
	blocks := readmeBlocks(t)
	wants := [][]string{
		{"refused: alice asked for the run", "awaits approval by sre, compliance", "still needs compliance", "policy met",
			"requested by alice (via cli)", "approved by bob (via cli) as sre", "approved by carol (via cli) as compliance", "Drill PASSED"},
	}
	if len(blocks) != len(wants) {
		t.Fatalf("README.md has %d blocks the test runs, want %d: say here what each must print", len(blocks), len(wants))
	}
	for i, block := range blocks {
		out := runReadmeBlock(t, block)
		for _, want := range wants[i] {
			if !strings.Contains(out, want) {
				t.Errorf("README block %d printed no %q:\n%s", i+1, want, out)
			}
		}
	}
}

// runReadmeBlock runs one block as a bash script and returns what it printed.
func runReadmeBlock(t *testing.T, block string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS("../../examples")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "readme.sh"), []byte(readmeScript(block)), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	env := []string{"PATH=" + filepath.Dir(binPath) + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + dir,
		"FIREDRILL_LISTEN=" + addr, "FIREDRILL_ADDR=http://" + addr}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FIREDRILL_") && !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "NOMAD_") {
			env = append(env, kv)
		}
	}
	cmd := exec.CommandContext(ctx, "bash", "readme.sh")
	cmd.Dir, cmd.Env = dir, env
	// The servers the script starts die with it, whatever happens to the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		logs, _ := filepath.Glob(filepath.Join(dir, "background-*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("%s:\n%s", filepath.Base(l), tail(string(b), 4000))
		}
		t.Fatalf("the README's commands failed: %v\n%s", err, out.String())
	}
	return out.String()
}

func TestReadmeScriptKeepsCommandsAsWritten(t *testing.T) {
	t.Parallel()
	got := readmeScript("a --x &   # server\nb && c\nd & # bg\n# e &\n")
	for _, want := range []string{"a --x 2>background-1.log &\nready background-1.log\n", "b && c\n", "d 2>background-2.log &\nready background-2.log\n", "# e &\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("readmeScript lacks %q:\n%s", want, got)
		}
	}
}
