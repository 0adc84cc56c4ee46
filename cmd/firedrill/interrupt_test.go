package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/sitesim"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// Ctrl-C during `firedrill run` aborts the drill the safe way: the rollback runs and the
// estate is back on its primary site.
func TestInterruptedRunRollsBack(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	estate, diags := drills.ParseEstate(src, "firedrill.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	cfg, err := sitesim.FromEstate(estate, true, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	sim, err := sitesim.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	text := string(src)
	for name, ports := range map[string][2]string{"sangam": {"14646", "18080"}, "yatap": {"14647", "18081"}, "busan": {"14648", "18082"}} {
		text = strings.Replace(text, "http://127.0.0.1:"+ports[0], sim.Site(name).NomadAddress(), 1)
		text = strings.Replace(text, "http://127.0.0.1:"+ports[1], sim.Site(name).IngressAddress(), 1)
	}
	// No tokens in this test: the simulated sites were started without ACLs.
	text = strings.NewReplacer(`token_env  = "NOMAD_TOKEN_SANGAM"`, "", `token_env  = "NOMAD_TOKEN_YATAP"`, "", `token_env  = "NOMAD_TOKEN_BUSAN"`, "").Replace(text)
	dir := t.TempDir()
	plan := `plan "held" {
  from     = "sangam"
  to       = "yatap"
  services = ["auth"]
  step "lose-sangam" {
    action    = "nomad.drain_site"
    site      = "sangam"
    milestone = "disaster"
  }
  step "hold" {
    action   = "wait"
    duration = "1h"
  }
  step "verify" {
    action    = "http.wait_healthy"
    site      = "yatap"
    milestone = "restored"
  }
  rollback {
    step "return-to-sangam" {
      action = "nomad.undrain_site"
      site   = "sangam"
    }
  }
}
`
	for name, data := range map[string]string{"firedrill.hcl": text, "held.hcl": plan} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dsn := storetest.NewDatabase(t)
	ctx, interrupt := context.WithCancel(context.Background())
	done := make(chan cliResult, 1)
	go func() {
		done <- runCLI(t, ctx, map[string]string{"FIREDRILL_DATABASE_URL": dsn, "FIREDRILL_MIGRATE": "true"}, "run", filepath.Join(dir, "held.hcl"))
	}()

	// Interrupt once the drill holds, with Sangam drained.
	st, err := store.Open(context.Background(), store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(time.Minute)
	for !holding(st) {
		if time.Now().After(deadline) {
			t.Fatal("the drill never reached its hold step")
		}
		time.Sleep(20 * time.Millisecond)
	}
	interrupt()
	res := <-done
	if res.code != exitDrillFailed || !strings.Contains(res.stderr, "interrupted: aborting the drill") {
		t.Fatalf("exit %d, stderr %q; want 2 after an abort", res.code, res.stderr)
	}
	runs, err := listRuns(context.Background(), st, &store.RunListParams{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs = %v, %v", runs, err)
	}
	if r := runs[0]; r.State != drills.RunRolledBack || !strings.Contains(r.StateReason, "interrupted at the console") {
		t.Errorf("run = %s (%s); want rolled_back, interrupted at the console", r.State, r.StateReason)
	}
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sim.Site("sangam").WaitJobHealthy(wctx, "auth"); err != nil {
		t.Errorf("auth never healthy on sangam again after the rollback: %v", err)
	}
}

// holding reports whether the only run is executing its hold step.
func holding(st *store.Store) bool {
	ctx := context.Background()
	runs, err := listRuns(ctx, st, &store.RunListParams{})
	if err != nil || len(runs) != 1 {
		return false
	}
	steps, err := st.StepResultList(ctx, runs[0].ID)
	if err != nil {
		return false
	}
	for _, s := range steps {
		if s.Key == "hold" && s.State == drills.StepRunning {
			return true
		}
	}
	return false
}

// listRuns is one page of st.RunList.
func listRuns(ctx context.Context, st *store.Store, p *store.RunListParams) ([]*store.Run, error) {
	page, err := st.RunList(ctx, p)
	if err != nil {
		return nil, err
	}
	return page.Runs, nil
}
