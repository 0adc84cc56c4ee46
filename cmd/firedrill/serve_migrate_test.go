package main

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestServeDoesNotMigrateUnlessAsked: on a schema behind the binary, serve without --migrate
// exits 1 naming the versions and what to run, and has changed nothing.
func TestServeDoesNotMigrateUnlessAsked(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := storetest.NewDatabase(t)
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, known, err := st.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.MigrateDownTo(ctx, 0); err != nil { // goose's own table only
		t.Fatal(err)
	}
	res := runCLI(t, ctx, map[string]string{"FIREDRILL_DATABASE_URL": dsn}, "serve", "--listen", "127.0.0.1:0")
	if res.code != exitError {
		t.Fatalf("serve on an unmigrated database: exit %d, want 1\n%s", res.code, res.stderr)
	}
	for _, want := range []string{"at version 0", "expects " + strconv.FormatInt(known, 10), "firedrill migrate up", "--migrate"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("serve's refusal = %q, want it to say %q", res.stderr, want)
		}
	}
	if current, _, err := st.SchemaVersion(ctx); err != nil || current != 0 {
		t.Errorf("schema version after a refused serve = %d, %v; want 0 (nothing applied)", current, err)
	}
	// --migrate-database-url alone does not mean "migrate".
	res = runCLI(t, ctx, map[string]string{"FIREDRILL_DATABASE_URL": dsn, "FIREDRILL_MIGRATE_DATABASE_URL": dsn}, "serve", "--listen", "127.0.0.1:0")
	if res.code != exitError || !strings.Contains(res.stderr, "only with --migrate") {
		t.Errorf("serve --migrate-database-url without --migrate: exit %d %q, want 1 naming --migrate", res.code, res.stderr)
	}
}

// TestServeRefusesANewerSchema: a database a newer firedrill migrated is refused, with or
// without --migrate, naming both versions.
func TestServeRefusesANewerSchema(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := storetest.NewDatabase(t)
	s, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	_, known, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newer := known + 1
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", newer); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"serve"}, {"serve", "--migrate"}} {
		res := runCLI(t, ctx, map[string]string{"FIREDRILL_DATABASE_URL": dsn}, append(args, "--listen", "127.0.0.1:0")...)
		if res.code != exitError {
			t.Fatalf("%v on a newer schema: exit %d, want 1\n%s", args, res.code, res.stderr)
		}
		for _, want := range []string{"newer than this firedrill", "version " + strconv.FormatInt(newer, 10), "up to " + strconv.FormatInt(known, 10)} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("%v's refusal = %q, want it to say %q", args, res.stderr, want)
			}
		}
	}
}

// TestServeMigratesAsTheOwner: serve --migrate changes the schema as the owner role of
// --migrate-database-url, grants the runtime role it serves as, and serves; the runtime role
// alone cannot migrate.
func TestServeMigratesAsTheOwner(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	roles := storetest.NewRolesDatabase(t)
	res := runCLI(t, ctx, map[string]string{"FIREDRILL_DATABASE_URL": roles.RuntimeURL, "FIREDRILL_MIGRATE": "true"}, "serve", "--listen", "127.0.0.1:0")
	if res.code != exitError || !strings.Contains(res.stderr, "permission denied") {
		t.Fatalf("serve --migrate as the runtime role: exit %d %q, want 1, permission denied", res.code, res.stderr)
	}
	env := append(os.Environ(), "FIREDRILL_DATABASE_URL="+roles.RuntimeURL, "FIREDRILL_MIGRATE_DATABASE_URL="+roles.OwnerURL)
	p := startServe(t, ctx, env) // with --migrate
	resp, err := http.Get(p.address(t) + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz = %d, want 200\n%s", resp.StatusCode, p.stderr.String())
	}
	conn, err := pgx.Connect(ctx, roles.RuntimeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var owner string
	if err := conn.QueryRow(ctx, "SELECT tableowner FROM pg_tables WHERE tablename = 'runs'").Scan(&owner); err != nil || owner != storetest.OwnerRole {
		t.Errorf("owner of runs = %q, %v; want %s", owner, err, storetest.OwnerRole)
	}
	if _, err := conn.Exec(ctx, "TRUNCATE run_events"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("TRUNCATE run_events as the runtime role = %v, want permission denied (granted as migrate up --runtime-role does)", err)
	}
}
