package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestAuditVerifyCatchesARowEditedAsSuperuser: a superuser who turns the append-only
// triggers off and rewrites the demo's verdict is caught by `audit verify` (exit 1, naming
// the event) and by `runs show`, which warns.
func TestAuditVerifyCatchesARowEditedAsSuperuser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDatabase(t)
	if res := runCLI(t, ctx, nil, "demo", "--database-url", dsn, "--json"); res.code != exitOK {
		t.Fatalf("demo: %d %s", res.code, res.stderr)
	}
	res := runCLI(t, ctx, nil, "audit", "verify", "--database-url", dsn)
	if res.code != exitOK || !strings.Contains(res.stdout, "verifies") {
		t.Fatalf("audit verify of an untouched database: exit %d\nstdout %s\nstderr %s", res.code, res.stdout, res.stderr)
	}
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := apiOver(t, st, dsn, "")
	vera := srv.person(t, srv.bootstrap(t, "root"), "vera", "viewer")
	list := decodeJSON[control.RunList](t, srv.cli(t, vera, "runs", "list", "--json"))
	if len(list.Runs) != 1 {
		t.Fatalf("runs list = %+v, want the demo's run", list.Runs)
	}
	runID := list.Runs[0].ID
	show := srv.cli(t, vera, "runs", "show", runID)
	if !strings.Contains(show.stdout, "audit rows verify") || strings.Contains(show.stdout, "WARNING") {
		t.Errorf("runs show of an untouched run:\n%s", show.stdout)
	}

	// The superuser rewrites the run's success into a failure, bypassing the triggers.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE run_events SET message = 'edited by hand' WHERE run_id = $1 AND kind = 'run_finished'`, runID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	res = runCLI(t, ctx, nil, "audit", "verify", "--database-url", dsn)
	if res.code != exitError || !strings.Contains(res.stderr, "run "+runID+" event") || !strings.Contains(res.stderr, "was altered") {
		t.Errorf("audit verify after the edit: exit %d\nstdout %s\nstderr %s\nwant exit 1 naming the altered event", res.code, res.stdout, res.stderr)
	}
	show = srv.cli(t, vera, "runs", "show", runID)
	if !strings.Contains(show.stdout, "WARNING: THIS RUN'S RECORD DOES NOT MATCH THE AUDIT LOG") || !strings.Contains(show.stdout, "was altered") {
		t.Errorf("runs show after the edit does not warn:\n%s", show.stdout)
	}
	view := decodeJSON[control.RunView](t, srv.cli(t, vera, "runs", "show", runID, "--json"))
	if view.Integrity.Verified || view.Integrity.Problem == "" {
		t.Errorf("runs show --json integrity = %+v, want a problem", view.Integrity)
	}
}

// TestMigrateUpAsOwnerGrantsTheRuntimeRole: the README's two connection strings. migrate up
// runs as the owner and grants the runtime role, which can then verify the log but not
// rewrite the record.
func TestMigrateUpAsOwnerGrantsTheRuntimeRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	roles := storetest.NewRolesDatabase(t)
	env := map[string]string{
		"FIREDRILL_MIGRATE_DATABASE_URL": roles.OwnerURL,
		"FIREDRILL_DATABASE_URL":         roles.RuntimeURL,
		"FIREDRILL_RUNTIME_ROLE":         storetest.RuntimeRole,
	}
	if res := runCLI(t, ctx, env, "migrate", "up"); res.code != exitOK || !strings.Contains(res.stdout, "migration(s) applied") {
		t.Fatalf("migrate up: exit %d\nstdout %s\nstderr %s", res.code, res.stdout, res.stderr)
	}
	if res := runCLI(t, ctx, env, "audit", "verify", "--json"); res.code != exitOK || !strings.Contains(res.stdout, `"verified": true`) {
		t.Errorf("audit verify as the runtime role: exit %d\nstdout %s\nstderr %s", res.code, res.stdout, res.stderr)
	}
	conn, err := pgx.Connect(ctx, roles.RuntimeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "TRUNCATE run_events"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("TRUNCATE run_events as the runtime role = %v, want permission denied", err)
	}
	// Migrating as the runtime role itself is refused by PostgreSQL, not half-applied.
	if res := runCLI(t, ctx, map[string]string{"FIREDRILL_DATABASE_URL": roles.RuntimeURL}, "migrate", "up", "--runtime-role", storetest.RuntimeRole); res.code != exitError {
		t.Errorf("migrate up --runtime-role as the runtime role: exit %d, want 1", res.code)
	}
}
