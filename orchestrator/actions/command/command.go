// Package command implements the plan's command step action: it runs a local program (no
// shell) with arguments, a minimal environment and the step's timeout, and records its exit
// code and a bounded prefix of its output as evidence.
//
// Paths in a plan are relative to the plan file: the program (when it contains a slash) and
// the working directory are both resolved against the plan file's directory.
//
// The package never holds more than a fixed amount of a program's output in memory, never
// records the values of the step's environment (they may be secrets: only the names are kept),
// and never leaves a timed-out program's process group running.
package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Defaults for Config.
const (
	// DefaultMaxOutputBytes is how much of stdout, and separately of stderr, is kept.
	DefaultMaxOutputBytes = 64 << 10
	// DefaultWaitDelay bounds the wait for a program's output pipes to close once it has
	// exited or been killed (a daemonised grandchild may hold them open).
	DefaultWaitDelay = 5 * time.Second
)

// inheritedEnv are the only variables of firedrill's own environment a program sees: enough
// to find programs and format text, never firedrill's own secrets.
var inheritedEnv = []string{"PATH", "HOME", "LANG", "TZ"}

// reservedEnv are the variables firedrill sets for every program.
var reservedEnv = []string{"FIREDRILL_RUN_ID", "FIREDRILL_STEP", "FIREDRILL_SITE"}

// tailBytes is how much of the end of stderr is kept beside the prefix, so that the error of
// a failed program can quote its last line even when its output was truncated.
const tailBytes = 4 << 10

// maxLastLine bounds the stderr line quoted in an error.
const maxLastLine = 512

// ErrNotFound means the program does not exist or is not executable.
var ErrNotFound = errors.New("program not found")

// ExitError is returned when the program ran and exited with a non-zero status or was killed
// by a signal it was not sent by firedrill.
type ExitError struct {
	// Code is the exit status, or -1 when a signal ended the program.
	Code int
	// Signal is the signal that ended the program, when Code is -1.
	Signal syscall.Signal
	// LastLine is the last non-empty line the program wrote to stderr, at most 512 bytes.
	LastLine string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("exit status %d", e.Code)
	if e.Code == -1 {
		msg = "killed by signal " + e.Signal.String()
	}
	if e.LastLine != "" {
		msg += ": " + e.LastLine
	}
	return msg
}

// Config configures the command action. A zero field means its default.
type Config struct {
	// MaxOutputBytes bounds how much of stdout, and separately of stderr, is kept as evidence
	// when the step sets no max_output_bytes. Defaults to 64 KiB.
	MaxOutputBytes int64
	// WaitDelay bounds the wait for the output pipes to close after the program has exited or
	// been killed. Defaults to 5s.
	WaitDelay time.Duration
	// LookupEnv reads the variables a program inherits (PATH, HOME, LANG, TZ). Defaults to
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Actions returns the command action.
func Actions(cfg Config) []actions.Action {
	return []actions.Action{New(cfg)}
}

// Command runs a local program as a step.
type Command struct{ cfg Config }

// New returns the command action with cfg's defaults applied.
func New(cfg Config) *Command {
	if cfg.MaxOutputBytes <= 0 {
		cfg.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if cfg.WaitDelay <= 0 {
		cfg.WaitDelay = DefaultWaitDelay
	}
	if cfg.LookupEnv == nil {
		cfg.LookupEnv = os.LookupEnv
	}
	return &Command{cfg: cfg}
}

// Spec implements actions.Action.
func (a *Command) Spec() drills.ActionSpec {
	s, _ := drills.LookupAction(drills.ActionCommand)
	return s
}

// Run implements actions.Action. When ctx ends first, the program's whole process group is
// killed and the step fails as timed out (or canceled).
func (a *Command) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	step := req.Instance.Step
	clk := req.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	name := step.String("command")
	args := step.Strings("args")
	stepEnv := step.StringMap("env")
	maxOut := a.cfg.MaxOutputBytes
	if n, ok := step.Int("max_output_bytes"); ok {
		if n <= 0 {
			return nil, fmt.Errorf("max_output_bytes = %d: must be positive", n)
		}
		maxOut = n
	}
	envKeys := slices.Sorted(maps.Keys(stepEnv))
	ev := map[string]any{"command": name, "args": args, "env_keys": envKeys}
	res := &actions.Result{Evidence: ev}
	if name == "" {
		return res, errors.New("command: not set")
	}

	env, err := a.environ(req, stepEnv)
	if err != nil {
		return res, err
	}
	base, err := planDir(req.Plan)
	if err != nil {
		return res, err
	}
	dir := base
	if d := step.String("dir"); d != "" {
		dir = resolve(base, d)
	}
	ev["dir"] = dir
	if req.Site != nil {
		ev["site"] = req.Site.Name
	}
	if fi, err := os.Stat(dir); err != nil {
		return res, fmt.Errorf("working directory: %w", err)
	} else if !fi.IsDir() {
		return res, fmt.Errorf("working directory %s: not a directory", dir)
	}
	path, err := lookPath(name, base, env)
	if err != nil {
		return res, err
	}
	ev["path"] = path

	stdout := &boundedBuffer{max: maxOut}
	stderr := &boundedBuffer{max: maxOut}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Args[0] = name
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = nil // reads see /dev/null: a drill has no one at the keyboard
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	// Its own process group, so that a timeout kills the program and every child it started,
	// and, on Linux, killed with the replica (see sysProcAttr).
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = a.cfg.WaitDelay

	start := clk.Now()
	err = cmd.Start()
	if err != nil {
		return res, fmt.Errorf("start %s: %w", name, err)
	}
	err = cmd.Wait()
	elapsed := clk.Now().Sub(start)

	ev["duration_ms"] = elapsed.Milliseconds()
	ev["stdout"] = stdout.String()
	ev["stderr"] = stderr.String()
	ev["stdout_bytes"] = stdout.total
	ev["stderr_bytes"] = stderr.total
	ev["stdout_truncated"] = stdout.truncated()
	ev["stderr_truncated"] = stderr.truncated()
	ev["max_output_bytes"] = maxOut
	if cmd.ProcessState != nil {
		ev["exit_code"] = cmd.ProcessState.ExitCode()
	}
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		ev["timed_out"] = errors.Is(ctxErr, context.DeadlineExceeded)
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return res, fmt.Errorf("%s timed out after %s; its process group was killed: %w", name, elapsed.Round(time.Millisecond), ctxErr)
		}
		return res, fmt.Errorf("%s canceled after %s; its process group was killed: %w", name, elapsed.Round(time.Millisecond), ctxErr)
	}
	ev["timed_out"] = false
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		e := &ExitError{Code: exitErr.ExitCode(), LastLine: stderr.lastLine()}
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.Signal = ws.Signal()
		}
		return res, e
	case errors.Is(err, exec.ErrWaitDelay):
		// The program succeeded but something it started kept its output open: the output
		// is complete up to the moment the pipes were closed, and the step stands.
		ev["output_pipes_closed_after_exit"] = true
		return res, nil
	case err != nil:
		return res, fmt.Errorf("run %s: %w", name, err)
	}
	return res, nil
}

// environ builds the program's environment: the inherited minimum, then the step's env,
// then firedrill's own variables, which a step cannot override.
func (a *Command) environ(req *actions.Request, stepEnv map[string]string) ([]string, error) {
	vars := map[string]string{}
	for _, k := range inheritedEnv {
		if v, ok := a.cfg.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	for k, v := range stepEnv {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("env: invalid variable name %q", k)
		}
		if slices.Contains(reservedEnv, k) {
			return nil, fmt.Errorf("env: %s is set by firedrill and cannot be overridden", k)
		}
		if strings.ContainsRune(v, 0) {
			// The value is never quoted: it may be a secret.
			return nil, fmt.Errorf("env: %s: value contains a NUL byte", k)
		}
		vars[k] = v
	}
	vars["FIREDRILL_RUN_ID"] = req.RunID
	vars["FIREDRILL_STEP"] = req.Instance.Key
	if req.Site != nil {
		vars["FIREDRILL_SITE"] = req.Site.Name
	}
	env := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		env = append(env, k+"="+vars[k])
	}
	return env, nil
}

// planDir returns the absolute directory of the plan file (the process's working directory
// when the plan has no file).
func planDir(p *drills.Plan) (string, error) {
	file := ""
	if p != nil {
		file = p.File
	}
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return "", fmt.Errorf("plan directory: %w", err)
	}
	return dir, nil
}

// resolve returns path, made absolute against base when relative.
func resolve(base, path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(base, path)
}

// lookPath finds the program: a name with a slash is a path relative to the plan file's
// directory; a bare name is looked up in the PATH the program itself will see.
func lookPath(name, base string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		p := resolve(base, name)
		if err := executable(p); err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		return p, nil
	}
	pathVar := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v
		}
	}
	for _, d := range filepath.SplitList(pathVar) {
		if d == "" || !filepath.IsAbs(d) {
			// A relative PATH entry would make the program depend on the working directory.
			continue
		}
		p := filepath.Join(d, name)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not in PATH: %w", name, ErrNotFound)
}

// executable reports why path cannot be run, or nil.
func executable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ErrNotFound
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("is a directory: %w", ErrNotFound)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("not executable: %w", ErrNotFound)
	}
	return nil
}

// boundedBuffer keeps the first max bytes written to it and the last tailBytes, and counts
// every byte; it never grows beyond that, however much is written. os/exec writes each
// stream from one goroutine and Wait returns after the last write, so it needs no lock.
type boundedBuffer struct {
	max   int64
	head  []byte
	tail  []byte
	total int64
}

// Write implements io.Writer. It always accepts all of p, so the program never blocks on a
// full pipe or dies of a broken one because its output is long.
func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.total += int64(len(p))
	if room := b.max - int64(len(b.head)); room > 0 {
		b.head = append(b.head, p[:min(room, int64(len(p)))]...)
	}
	if len(p) >= tailBytes {
		b.tail = append(b.tail[:0], p[len(p)-tailBytes:]...)
	} else {
		b.tail = append(b.tail, p...)
		if over := len(b.tail) - tailBytes; over > 0 {
			b.tail = b.tail[:copy(b.tail, b.tail[over:])]
		}
	}
	return len(p), nil
}

func (b *boundedBuffer) truncated() bool { return b.total > int64(len(b.head)) }

// String returns the kept prefix.
func (b *boundedBuffer) String() string { return string(b.head) }

// lastLine returns the last non-empty line written, at most maxLastLine bytes.
func (b *boundedBuffer) lastLine() string {
	s := bytes.TrimRight(b.tail, " \t\r\n")
	if i := bytes.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	s = bytes.TrimSpace(s)
	if len(s) > maxLastLine {
		s = s[len(s)-maxLastLine:]
	}
	return strings.ToValidUTF8(string(s), "\uFFFD")
}
