package command_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/firedrill/firedrill/orchestrator/actions/command"
)

// envReplica makes the test binary act as a replica running one command step (see
// TestHelperReplicaRunsACommand).
const envReplica = "FIREDRILL_TEST_COMMAND_REPLICA"

// TestHelperReplicaRunsACommand is not a test: run as a child process with envReplica set to
// a pid file, it runs a command step that writes its PID there and sleeps, as a replica would.
func TestHelperReplicaRunsACommand(t *testing.T) {
	pidFile := os.Getenv(envReplica)
	if pidFile == "" {
		t.Skip("helper process")
	}
	_, request := setup(t)
	req := request(map[string]any{"command": "sh", "args": []string{"-c", "echo $$ > " + pidFile + "; exec sleep 300"}})
	_, _ = command.New(command.Config{}).Run(context.Background(), req)
	os.Exit(0)
}

// TestCommandDiesWithItsReplica kills -9 a process running a command step: the step's program
// dies with it instead of living on as an orphan.
func TestCommandDiesWithItsReplica(t *testing.T) {
	t.Parallel()
	for i := range 3 {
		pidFile := filepath.Join(t.TempDir(), "pid")
		replica := exec.Command(os.Args[0], "-test.run=^TestHelperReplicaRunsACommand$", "-test.count=1")
		replica.Env = append(os.Environ(), envReplica+"="+pidFile)
		if err := replica.Start(); err != nil {
			t.Fatal(err)
		}
		var pid int
		deadline := time.Now().Add(20 * time.Second)
		for pid == 0 {
			if time.Now().After(deadline) {
				_ = replica.Process.Kill()
				t.Fatal("the command step never started")
			}
			if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
				pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !alive(pid) {
			t.Fatalf("kill %d: the step's program %d is not running before the kill", i, pid)
		}
		_ = replica.Process.Kill() // SIGKILL: no deferred function runs, nothing is cleaned up
		_ = replica.Wait()
		deadline = time.Now().Add(5 * time.Second)
		for alive(pid) {
			if time.Now().After(deadline) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("kill %d: the step's program %d outlived its replica by 5s", i, pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// alive reports whether pid runs (a zombie waiting for its reaper does not).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}
