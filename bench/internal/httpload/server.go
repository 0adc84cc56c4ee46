package httpload

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BuildFiredrill compiles cmd/firedrill of the module this package belongs to into dir.
func BuildFiredrill(ctx context.Context, dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build cmd/firedrill: no go command on PATH (or pass -binary): %w", err)
	}
	bin := filepath.Join(dir, "firedrill")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/firedrill/firedrill/cmd/firedrill")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build cmd/firedrill: %w\n%s", err, out.Bytes())
	}
	return bin, nil
}

// Server is a running `firedrill serve`.
type Server struct {
	cmd *exec.Cmd
	// Base is http://host:port; LogPath the file its output goes to.
	Base    string
	LogPath string
	done    chan error
}

// servingPrefix starts the line serve writes to stderr once it listens.
const servingPrefix = "firedrill serving on "

// StartServer starts `bin serve` on a free loopback port against databaseURL, in dir (so that
// no estate is found unless args name one: the server has only the database), with args added
// to serve's flags, and waits until /healthz answers 200. Its output goes to dir/serve.log.
func StartServer(ctx context.Context, bin, dir, databaseURL string, args ...string) (*Server, error) {
	logPath := filepath.Join(dir, "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"serve", "--database-url", databaseURL, "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	// The caller's FIREDRILL_* settings (an estate, a token) must not reach the server.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FIREDRILL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout = logFile
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	s := &Server{cmd: cmd, LogPath: logPath, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		// Copy stderr to the log, noting the address on the way.
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if i := strings.Index(line, servingPrefix); i >= 0 && !sent {
				rest := line[i+len(servingPrefix):]
				if j := strings.IndexByte(rest, ' '); j >= 0 {
					rest = rest[:j]
				}
				addr <- rest
				sent = true
			}
		}
		_, _ = io.Copy(logFile, stderr)
		s.done <- cmd.Wait()
		logFile.Close()
	}()
	fail := func(err error) (*Server, error) {
		_ = s.Stop()
		return nil, fmt.Errorf("%w (server log %s:\n%s)", err, logPath, s.LogTail())
	}
	select {
	case s.Base = <-addr:
	case err := <-s.done:
		s.done <- err
		return fail(fmt.Errorf("firedrill serve exited before listening: %v", err))
	case <-time.After(2 * time.Minute):
		return fail(errors.New("firedrill serve did not listen within 2m"))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(s.Base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("GET %s/healthz did not answer 200 within 1m (last: %v)", s.Base, err))
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// CPU returns the server process's user + system CPU time so far, or 0 where /proc is missing.
func (s *Server) CPU() time.Duration {
	return procCPU(s.cmd.Process.Pid)
}

// procCPU reads utime + stime of pid from /proc/pid/stat (Linux), assuming the usual
// 100 ticks per second.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after it are plain.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * (time.Second / 100)
}

// Stop interrupts the server, as Ctrl-C would, and waits for it; after 15s it is killed.
func (s *Server) Stop() error {
	if s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-s.done:
		s.done <- err
		return exitErr(err)
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		err := <-s.done
		s.done <- err
		return fmt.Errorf("firedrill serve did not stop within 15s of SIGINT; killed")
	}
}

// exitErr treats the exit of an interrupted server as clean.
func exitErr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ProcessState != nil {
		if ws, ok := ee.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT {
			return nil
		}
	}
	return err
}

// LogTail is the end of the server's log, for error messages.
func (s *Server) LogTail() string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return err.Error()
	}
	const n = 4000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
