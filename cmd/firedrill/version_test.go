package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// firedrill version prints what the build says; -ldflags set both.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "firedrill")
	ld := "-X github.com/firedrill/firedrill/internal/version.version=v9.8.7 -X github.com/firedrill/firedrill/internal/version.commit=feedbeef"
	if out, err := exec.Command("go", "build", "-ldflags", ld, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); !strings.HasPrefix(got, "firedrill v9.8.7\ncommit feedbeef\n") {
		t.Errorf("firedrill version = %q, want v9.8.7 and commit feedbeef", got)
	}
	res := runCLI(t, context.Background(), nil, "version", "--json")
	if res.code != 0 || !strings.Contains(res.stdout, `"commit":`) || !strings.Contains(res.stdout, `"version":`) {
		t.Errorf("version --json = %d %q", res.code, res.stdout)
	}
}
