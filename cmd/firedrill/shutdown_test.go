package main

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// manualPlan fails the example services over with a manual step in the middle: a person has
// to say it is done, so the run waits as long as nobody does.
const manualPlan = `
plan "manual-drill" {
  from     = "sangam"
  to       = "yatap"
  services = ["auth", "payments", "remittance"]

  step "lose-sangam" {
    action    = "nomad.drain_site"
    site      = "sangam"
    milestone = "disaster"
  }
  step "start-on-yatap" {
    action   = "nomad.run_job"
    site     = "yatap"
    for_each = ["auth", "payments", "remittance"]
  }
  step "call-van" {
    action       = "manual"
    instructions = "Call the VAN operator and ask them to route card traffic to Yatap"
  }
  step "verify" {
    action    = "http.wait_healthy"
    site      = "yatap"
    milestone = "restored"
    timeout   = "1m"
  }
  rollback {
    step "fail-back" {
      action = "nomad.undrain_site"
      site   = "sangam"
    }
  }
}
`

// TestServeSIGTERMWithAManualStepWaiting: serve gets SIGTERM while a run waits for a person
// at a manual step; it exits within its shutdown bound and hands the run back.
func TestServeSIGTERMWithAManualStepWaiting(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	estatePath, env := simEstate(t, ctx, dir)
	planPath := filepath.Join(dir, "manual-drill.hcl")
	if err := os.WriteFile(planPath, []byte(manualPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	dsn := storetest.NewDatabase(t)
	env = append(env, "FIREDRILL_DATABASE_URL="+dsn, "FIREDRILL_CONFIG="+estatePath, "FIREDRILL_POLL=50ms", "FIREDRILL_LOG_LEVEL=info")
	p := startServe(t, ctx, env)
	st := openWhenMigrated(t, ctx, dsn, p)
	token := sreToken(t, st, "shutdown-test")
	runID := submitRun(t, ctx, env, planPath, estatePath, p.address(t), token)
	waitFor(t, 60*time.Second, func() bool {
		steps, err := st.StepResultList(ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if s.Key == "call-van" && s.State == drills.StepRunning {
				return true
			}
		}
		return false
	})
	began := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	const bound = 15 * time.Second
	select {
	case err := <-exited:
		t.Logf("serve exited %v after %s", err, time.Since(began).Round(time.Millisecond))
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM, want 0\n%s", err, tail(p.stderr.String(), 2000))
		}
	case <-time.After(bound):
		_ = p.cmd.Process.Kill()
		t.Fatalf("serve still running %s after SIGTERM with a manual step waiting\n%s", bound, tail(p.stderr.String(), 3000))
	}
	run, err := st.RunGet(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if run.State.IsTerminal() || run.LeaseOwner != "" {
		t.Errorf("run after shutdown = %s, owner %q; want it handed back unfinished", run.State, run.LeaseOwner)
	}
}
