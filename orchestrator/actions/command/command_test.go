package command_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/command"
)

// setup returns a plan file in a fresh directory and a request builder for command steps.
func setup(t *testing.T) (planDir string, request func(params map[string]any) *actions.Request) {
	t.Helper()
	planDir = filepath.Join(t.TempDir(), "plans")
	if err := os.MkdirAll(filepath.Join(planDir, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	plan := &drills.Plan{Name: "site-loss", File: filepath.Join(planDir, "site-loss.hcl")}
	return planDir, func(params map[string]any) *actions.Request {
		step := &drills.Step{Name: "switch-dns", Action: drills.ActionCommand, Params: params}
		return &actions.Request{
			RunID: "run-42", Plan: plan, Instance: drills.StepInstance{Step: step, Key: "switch-dns"},
			Clock: clock.Real{},
		}
	}
}

func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestSpecMatchesThePlanLanguage(t *testing.T) {
	t.Parallel()
	for _, a := range command.Actions(command.Config{}) {
		want, ok := drills.LookupAction(a.Spec().Name)
		if !ok || !reflect.DeepEqual(a.Spec(), want) {
			t.Errorf("Spec() = %+v, want %+v", a.Spec(), want)
		}
	}
}

func TestRunPassesArgsEnvAndDir(t *testing.T) {
	t.Parallel()
	planDir, request := setup(t)
	writeScript(t, filepath.Join(planDir, "scripts", "check.sh"), `
pwd -P
printf '<%s>' "$@"; echo
test "$DNS_TOKEN" = "tok-3f9a1c" || { echo "DNS_TOKEN not passed" >&2; exit 9; }
env | grep -v '^DNS_TOKEN=' | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=' | sort
`)
	req := request(map[string]any{
		"command": "scripts/check.sh",
		"args":    []string{"a b", "--zone=bank.example"},
		"env":     map[string]string{"DNS_TOKEN": "tok-3f9a1c", "REGION": "kr"},
		"dir":     "scripts",
	})
	req.Site = &drills.Site{Name: "yatap"}
	env := map[string]string{"PATH": os.Getenv("PATH"), "HOME": "/home/drill", "NOMAD_TOKEN": "must-not-leak"}
	a := command.New(command.Config{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	res, err := a.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("Run: %v (evidence %v)", err, res.Evidence)
	}
	wantDir, err := filepath.EvalSymlinks(filepath.Join(planDir, "scripts"))
	if err != nil {
		t.Fatal(err)
	}
	want := wantDir + "\n<a b><--zone=bank.example>\n" + strings.Join([]string{
		"FIREDRILL_RUN_ID=run-42", "FIREDRILL_SITE=yatap", "FIREDRILL_STEP=switch-dns",
		"HOME=/home/drill", "PATH=" + os.Getenv("PATH"), "REGION=kr",
	}, "\n") + "\n"
	if got := res.Evidence["stdout"]; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	ev := res.Evidence
	if ev["exit_code"] != 0 || ev["timed_out"] != false || ev["stdout_truncated"] != false || ev["stdout_bytes"] != int64(len(want)) {
		t.Errorf("evidence = %v; want exit 0, not timed out, not truncated, %d bytes", ev, len(want))
	}
	if got := ev["env_keys"]; !reflect.DeepEqual(got, []string{"DNS_TOKEN", "REGION"}) {
		t.Errorf("env_keys = %v, want [DNS_TOKEN REGION]", got)
	}
	if _, ok := ev["duration_ms"].(int64); !ok {
		t.Errorf("duration_ms = %v, want an int64", ev["duration_ms"])
	}
	js, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "tok-3f9a1c") {
		t.Errorf("evidence %s contains the env value", js)
	}
}

func TestRunNonZeroExitQuotesStderr(t *testing.T) {
	t.Parallel()
	_, request := setup(t)
	req := request(map[string]any{
		"command": "sh",
		"args":    []string{"-c", "echo progress; echo 'first problem' >&2; echo 'zone bank.example: permission denied' >&2; exit 3"},
	})
	res, err := command.New(command.Config{}).Run(context.Background(), req)
	if err == nil || err.Error() != "exit status 3: zone bank.example: permission denied" {
		t.Fatalf("Run error = %v, want exit status 3 with the last stderr line", err)
	}
	var exitErr *command.ExitError
	if !errors.As(err, &exitErr) || exitErr.Code != 3 {
		t.Errorf("error %v is not an *ExitError with code 3", err)
	}
	if res.Evidence["exit_code"] != 3 || res.Evidence["stdout"] != "progress\n" {
		t.Errorf("evidence = %v; want exit_code 3 and the stdout", res.Evidence)
	}
}

func TestRunBoundsHugeOutput(t *testing.T) {
	t.Parallel()
	_, request := setup(t)
	const outBytes, errBytes = 5_000_000, 200_000 * len("disk almost full\n")
	req := request(map[string]any{
		"command":          "sh",
		"args":             []string{"-c", "head -c 5000000 /dev/zero; yes 'disk almost full' | head -n 200000 >&2; echo 'the end' >&2; exit 1"},
		"max_output_bytes": int64(1000),
	})
	res, err := command.New(command.Config{}).Run(context.Background(), req)
	if err == nil || err.Error() != "exit status 1: the end" {
		t.Errorf("Run error = %v, want exit status 1: the end (the last line, past the kept prefix)", err)
	}
	ev := res.Evidence
	if ev["stdout_bytes"] != int64(outBytes) || ev["stderr_bytes"] != int64(errBytes+len("the end\n")) {
		t.Errorf("byte totals = %v, %v; want %d, %d", ev["stdout_bytes"], ev["stderr_bytes"], outBytes, errBytes+len("the end\n"))
	}
	if ev["stdout_truncated"] != true || ev["stderr_truncated"] != true {
		t.Errorf("truncated = %v, %v; want both true", ev["stdout_truncated"], ev["stderr_truncated"])
	}
	if got := len(ev["stdout"].(string)); got != 1000 {
		t.Errorf("kept %d bytes of stdout, want 1000", got)
	}
	if got := ev["stderr"].(string); len(got) != 1000 || !strings.HasPrefix(got, "disk almost full\n") {
		t.Errorf("kept stderr %q..., want the first 1000 bytes", got[:min(len(got), 40)])
	}
}

func TestRunTimeoutKillsTheProcessGroup(t *testing.T) {
	t.Parallel()
	_, request := setup(t)
	// The background sleep inherits stdout. Were only sh killed, it would hold the pipe open
	// and Run would return only after the hour-long WaitDelay; it returns promptly only if
	// the whole process group died.
	req := request(map[string]any{"command": "sh", "args": []string{"-c", "sleep 300 & echo started; wait"}})
	a := command.New(command.Config{WaitDelay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	type outcome struct {
		res *actions.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := a.Run(ctx, req)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		if o.err == nil || !errors.Is(o.err, context.DeadlineExceeded) || !strings.Contains(o.err.Error(), "timed out") {
			t.Errorf("Run error = %v, want a timed out error wrapping context.DeadlineExceeded", o.err)
		}
		if o.res.Evidence["timed_out"] != true {
			t.Errorf("evidence timed_out = %v, want true", o.res.Evidence["timed_out"])
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s of a 300ms deadline: the child process survived")
	}
}

func TestRunProgramNotFound(t *testing.T) {
	t.Parallel()
	planDir, request := setup(t)
	writeScript(t, filepath.Join(planDir, "scripts", "not-executable.sh"), "exit 0\n")
	if err := os.Chmod(filepath.Join(planDir, "scripts", "not-executable.sh"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		command string
		want    string
	}{
		{command: "firedrill-no-such-program", want: "firedrill-no-such-program: not in PATH: program not found"},
		{command: "scripts/missing.sh", want: filepath.Join(planDir, "scripts", "missing.sh") + ": program not found"},
		{command: "scripts/not-executable.sh", want: "not executable: program not found"},
	}
	for _, tt := range tests {
		_, err := command.New(command.Config{}).Run(context.Background(), request(map[string]any{"command": tt.command}))
		if !errors.Is(err, command.ErrNotFound) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Run(%q) = %v, want ErrNotFound mentioning %q", tt.command, err, tt.want)
		}
	}
}

func TestRunRejectsBadParams(t *testing.T) {
	t.Parallel()
	_, request := setup(t)
	tests := []struct {
		params map[string]any
		want   string
	}{
		{params: map[string]any{"command": "true", "dir": "no-such-dir"}, want: "working directory"},
		{params: map[string]any{"command": "true", "max_output_bytes": int64(0)}, want: "max_output_bytes = 0: must be positive"},
		{params: map[string]any{"command": "true", "env": map[string]string{"FIREDRILL_RUN_ID": "x"}}, want: "FIREDRILL_RUN_ID is set by firedrill"},
		{params: map[string]any{"command": "true", "env": map[string]string{"A=B": "x"}}, want: `invalid variable name "A=B"`},
	}
	for _, tt := range tests {
		_, err := command.New(command.Config{}).Run(context.Background(), request(tt.params))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Run(%v) = %v, want an error mentioning %q", tt.params, err, tt.want)
		}
	}
}
