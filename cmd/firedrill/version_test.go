package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// The release build (scripts/build-release.sh) is static, keeps no path of the build machine,
// and its version command prints what the build stamped.
func TestReleaseBuild(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "firedrill")
	build := exec.Command(filepath.Join(root, "scripts", "build-release.sh"), bin)
	build.Env = append(os.Environ(), "VERSION=v1.2.3-rc1", "COMMIT=0123abcd", "SOURCE_DATE_EPOCH=1764579600")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("scripts/build-release.sh: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "firedrill v1.2.3-rc1\ncommit 0123abcd\nbuilt 2025-12-01T09:00:00Z\n" + runtime.Version() + "\n"
	if got := string(out); got != want {
		t.Errorf("firedrill version = %q, want %q", got, want)
	}

	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{"-trimpath": "true", "CGO_ENABLED": "0", "-tags": "timetzdata"} {
		if settings[key] != want {
			t.Errorf("build setting %s = %q, want %q", key, settings[key], want)
		}
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the release binary asks for a dynamic loader (PT_INTERP): it is not static")
		}
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(root)) {
		t.Errorf("the release binary holds the build machine's path %s: -trimpath did not apply", root)
	}
}
