package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// controlFixture is a migrated database with a run waiting for an SRE and a compliance officer.
func controlFixture(t *testing.T) (env map[string]string, st *store.Store, run *store.Run) {
	t.Helper()
	ctx := context.Background()
	dsn := storetest.NewDatabase(t)
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	plan, err := st.PlanSave(ctx, store.PlanSaveParams{Name: "p", Source: []byte("plan")})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Hour)
	run, err = st.RunInsert(ctx, &store.RunInsertParams{
		PlanID: plan.ID, PlanName: "p", RequestedBy: cliUser("alice"), State: drills.RunAwaitingApproval,
		ApprovalRoles: []string{"sre", "compliance"}, ApprovalDeadline: &deadline,
	})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"FIREDRILL_DATABASE_URL": dsn}, st, run
}

func TestApprovalFlowThroughTheCLI(t *testing.T) {
	t.Parallel()
	env, st, run := controlFixture(t)
	ctx := context.Background()
	for _, args := range [][]string{
		{"user", "add", "alice", "--role", "sre"},
		{"user", "add", "bob", "--role", "sre"},
		{"user", "add", "kim", "--role", "compliance"},
		{"user", "add", "audrey", "--role", "auditor"},
	} {
		if res := runCLI(t, ctx, env, args...); res.code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, res.code, res.stderr)
		}
	}
	if res := runCLI(t, ctx, env, "user", "add", "eve", "--role", "god"); res.code != exitError || !strings.Contains(res.stderr, `unknown role "god"`) {
		t.Errorf("user add with a bad role: exit %d, %q", res.code, res.stderr)
	}

	refused := []struct{ by, want string }{
		{"alice", "asked for this run"},
		{"audrey", "holds none of the roles"},
		{"mallory", "not a known user"},
	}
	for _, r := range refused {
		res := runCLI(t, ctx, env, "approve", run.ID, "--by", r.by)
		if res.code != exitError || !strings.Contains(res.stderr, r.want) {
			t.Errorf("approve --by %s: exit %d, stderr %q; want refused (%s)", r.by, res.code, res.stderr, r.want)
		}
	}
	res := runCLI(t, ctx, env, "approve", run.ID, "--by", "bob", "--comment", "change ticket CHG-1")
	if res.code != exitOK || !strings.Contains(res.stdout, "still needs compliance") {
		t.Errorf("bob approves: exit %d, %q", res.code, res.stdout)
	}
	res = runCLI(t, ctx, env, "approve", run.ID, "--by", "kim", "--json")
	var out map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil || out["policy_met"] != true || out["state"] != "pending" {
		t.Errorf("kim approves --json = %s (%v); want the policy met and the run pending", res.stdout, err)
	}
	got, err := st.RunGet(ctx, run.ID)
	if err != nil || got.State != drills.RunPending {
		t.Errorf("run after approvals = %v, %v", got.State, err)
	}
}

func TestFreezeAndAbortNeedARole(t *testing.T) {
	t.Parallel()
	env, st, run := controlFixture(t)
	ctx := context.Background()
	for _, args := range [][]string{{"user", "add", "alice", "--role", "sre"}, {"user", "add", "audrey", "--role", "auditor"}} {
		if res := runCLI(t, ctx, env, args...); res.code != exitOK {
			t.Fatalf("%v: %s", args, res.stderr)
		}
	}
	// An auditor reads; they do not pull the lever.
	for _, args := range [][]string{
		{"freeze", "on", "--by", "audrey", "--reason", "x"},
		{"abort", run.ID, "--by", "audrey", "--reason", "x"},
		{"freeze", "on", "--reason", "x"},
	} {
		if res := runCLI(t, ctx, env, args...); res.code != exitError || !strings.Contains(res.stderr, "--by") {
			t.Errorf("%v: exit %d, stderr %q; want refused naming --by", args, res.code, res.stderr)
		}
	}
	if _, on, _ := st.FreezeActive(ctx); on {
		t.Fatal("a refused freeze changed something")
	}

	res := runCLI(t, ctx, env, "freeze", "on", "--by", "alice", "--reason", "market turmoil", "--abort-running", "--json")
	var out map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil || out["active"] != true {
		t.Fatalf("freeze on = %s (%v)", res.stdout, err)
	}
	if ids, _ := out["aborted_runs"].([]any); len(ids) != 1 || ids[0] != run.ID {
		t.Errorf("aborted_runs = %v, want [%s]", out["aborted_runs"], run.ID)
	}
	// A run awaiting approval, which no replica will claim, ends aborted at once.
	if r, _ := st.RunGet(ctx, run.ID); r.AbortRequestedBy.Name != "alice" || r.AbortReason != "freeze: market turmoil" || r.State != drills.RunAborted {
		t.Errorf("run = %s, abort request = %+v %q; want aborted by alice's freeze", r.State, r.AbortRequestedBy, r.AbortReason)
	}
	if res := runCLI(t, ctx, env, "freeze", "status"); !strings.Contains(res.stdout, "set by alice: market turmoil") {
		t.Errorf("freeze status = %q", res.stdout)
	}
	if res := runCLI(t, ctx, env, "freeze", "on", "--by", "alice", "--reason", "again"); res.code != exitError || !strings.Contains(res.stderr, "already on") {
		t.Errorf("second freeze: exit %d, %q", res.code, res.stderr)
	}
	if res := runCLI(t, ctx, env, "freeze", "off", "--by", "alice"); res.code != exitOK {
		t.Errorf("freeze off: %s", res.stderr)
	}
	if res := runCLI(t, ctx, env, "abort", run.ID, "--by", "alice", "--reason", "no longer needed", "--json"); res.code != exitError || !strings.Contains(res.stderr, "terminal") {
		t.Errorf("abort of an ended run: exit %d, %s; want refused", res.code, res.stderr)
	}
}
