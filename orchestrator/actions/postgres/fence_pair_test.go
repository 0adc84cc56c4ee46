package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/pgpairtest"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/postgres"
)

// writeState tries a write in a new session: nil when it committed, the SQLSTATE otherwise.
func writeState(t *testing.T, dsn string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "INSERT INTO firedrill_fence_test VALUES (1)")
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pgErr):
		return pgErr.Code
	}
	t.Fatalf("write: %v", err)
	return ""
}

// dropRoles drops the test's roles and what was granted to them.
const dropRoles = `DO $$ DECLARE r text; BEGIN
	FOREACH r IN ARRAY ARRAY['firedrill_fence_app', 'firedrill_fence_weak'] LOOP
		IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
			EXECUTE format('DROP OWNED BY %I', r);
			EXECUTE format('DROP ROLE %I', r);
		END IF;
	END LOOP; END $$`

// unfencePrimary lifts a fence the test left, whatever happened, before the pair is reset.
func unfencePrimary(t *testing.T, dsn string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Errorf("unfence the primary: %v", err)
		return
	}
	defer conn.Close(ctx)
	for _, q := range []string{"ALTER SYSTEM RESET default_transaction_read_only", "SELECT pg_reload_conf()", dropRoles} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
}

// TestPairFence fences the real primary: writes in new sessions are refused, an application
// session with an open transaction is terminated before it can commit, the standby is refused,
// and unfencing makes writes commit again. Pre-flight proves the credentials first.
func TestPairFence(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the PostgreSQL standby pair")
	}
	pgpairtest.Lock(t)
	pgpairtest.Reset(t)
	f := newPairFixture(t)
	t.Cleanup(func() { unfencePrimary(t, f.primaryDSN); pgpairtest.Reset(t) })
	admin := connect(t, f.primaryDSN)
	exec1(t, admin, dropRoles)
	exec1(t, admin, "CREATE ROLE firedrill_fence_app LOGIN")
	exec1(t, admin, "CREATE ROLE firedrill_fence_weak LOGIN")
	exec1(t, admin, "CREATE TABLE IF NOT EXISTS firedrill_fence_test (x int)")
	exec1(t, admin, "GRANT ALL ON firedrill_fence_test TO firedrill_fence_app")
	appDSN := strings.Replace(f.primaryDSN, "postgres@", "firedrill_fence_app@", 1)
	if got := writeState(t, appDSN); got != "" {
		t.Fatalf("the application cannot write before the fence: %s", got)
	}

	fencePlan := &drills.Plan{Name: "p", From: "sangam", To: "yatap",
		Steps:    []*drills.Step{{Name: "fence", Action: postgres.ActionFence, Site: "sangam", Params: map[string]any{"database": "ledger"}}},
		Rollback: []*drills.Step{{Name: "unfence", Action: postgres.ActionUnfence, Site: "sangam", Params: map[string]any{"database": "ledger"}}},
	}
	preflight := func(f *fixture) []actions.PreflightCheck {
		var out []actions.PreflightCheck
		for _, c := range f.pg.Preflight(t.Context(), &actions.PreflightRequest{Config: f.cfg, Plan: fencePlan}) {
			if c.Check == "fence_privileges" {
				out = append(out, c)
			}
		}
		return out
	}
	t.Run("preflight", func(t *testing.T) {
		checks := preflight(f)
		if len(checks) != 1 || !checks[0].OK || checks[0].Site != "sangam" || checks[0].Subject != "ledger" {
			t.Fatalf("fence pre-flight as superuser = %+v, want one passing check of ledger on sangam", checks)
		}
		weak := newFixture(t, map[string]string{"LEDGER_SANGAM_DSN": strings.Replace(f.primaryDSN, "postgres@", "firedrill_fence_weak@", 1)})
		checks = preflight(weak)
		if len(checks) != 1 || checks[0].OK || !strings.Contains(checks[0].Detail, "ALTER SYSTEM") || !strings.Contains(checks[0].Detail, "pg_signal_backend") {
			t.Errorf("fence pre-flight as an unprivileged role = %+v, want a failure naming ALTER SYSTEM and pg_signal_backend", checks)
		}
		exec1(t, admin, "GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only TO firedrill_fence_weak")
		exec1(t, admin, "GRANT EXECUTE ON FUNCTION pg_reload_conf() TO firedrill_fence_weak")
		exec1(t, admin, "GRANT pg_signal_backend TO firedrill_fence_weak")
		if checks = preflight(weak); len(checks) != 1 || !checks[0].OK {
			t.Errorf("fence pre-flight with the privileges granted = %+v, want passed", checks)
		}
		standbyPlan := *fencePlan
		standbyPlan.Steps = []*drills.Step{{Name: "fence", Action: postgres.ActionFence, Site: "yatap", Params: map[string]any{"database": "ledger"}}}
		standbyPlan.Rollback = nil
		checks = f.pg.Preflight(t.Context(), &actions.PreflightRequest{Config: f.cfg, Plan: &standbyPlan})
		i := slices.IndexFunc(checks, func(c actions.PreflightCheck) bool { return c.Check == "fence_privileges" })
		if i < 0 || checks[i].OK || !strings.Contains(checks[i].Detail, "in recovery") {
			t.Errorf("fence pre-flight of the standby = %+v, want refused as in recovery", checks)
		}
	})

	t.Run("refuses an override", func(t *testing.T) {
		exec1(t, admin, "ALTER ROLE firedrill_fence_app SET default_transaction_read_only = off")
		defer exec1(t, admin, "ALTER ROLE firedrill_fence_app RESET default_transaction_read_only")
		ev, err := f.run(t, postgres.ActionFence, "sangam", map[string]any{"database": "ledger"})
		if !errors.Is(err, postgres.ErrFenceDoesNotHold) || !strings.Contains(err.Error(), "firedrill_fence_app") {
			t.Fatalf("fence with a role override = %v, want ErrFenceDoesNotHold naming the role", err)
		}
		if ev["set"] != nil {
			t.Errorf("evidence %v: the fence changed something before refusing", ev)
		}
		if got := writeState(t, appDSN); got != "" {
			t.Errorf("after a refused fence the application cannot write: %s", got)
		}
	})

	t.Run("fence and unfence", func(t *testing.T) {
		// An application session in the middle of a transaction: the reload alone would let
		// it commit.
		app := connect(t, appDSN)
		exec1(t, app, "BEGIN")
		exec1(t, app, "INSERT INTO firedrill_fence_test VALUES (2)")
		var appPID int32
		if err := app.QueryRow(t.Context(), "SELECT pg_backend_pid()").Scan(&appPID); err != nil {
			t.Fatal(err)
		}

		ev, err := f.run(t, postgres.ActionFence, "sangam", map[string]any{"database": "ledger", "roles": []string{"firedrill_fence_app"}})
		if err != nil {
			t.Fatalf("fence = %v; evidence %v", err, ev)
		}
		if ev["read_only_before"] != "off" || ev["read_only_after"] != "on" || ev["write_refused"] == nil ||
			!strings.Contains(ev["set"].(string), "default_transaction_read_only = on") || ev["fenced_at"] == nil {
			t.Errorf("fence evidence = %v, want off before, on after, the statement and a refused write", ev)
		}
		sessions, _ := ev["sessions_terminated"].([]postgres.FencedSession)
		if !slices.ContainsFunc(sessions, func(s postgres.FencedSession) bool {
			return s.PID == appPID && s.Terminated && s.InTransaction && s.User == "firedrill_fence_app"
		}) {
			t.Errorf("sessions terminated = %+v, want the application's pid %d in a transaction", ev["sessions_terminated"], appPID)
		}
		if _, err := app.Exec(t.Context(), "COMMIT"); err == nil {
			t.Error("the application's open transaction committed after the fence")
		}
		for _, dsn := range []string{appDSN, f.primaryDSN} {
			if got := writeState(t, dsn); got != "25006" {
				t.Errorf("a write on the fenced primary = %q, want 25006 read_only_sql_transaction", got)
			}
		}

		// Again (a re-run after a crash): the same state, no error.
		if ev, err := f.run(t, postgres.ActionFence, "sangam", map[string]any{"database": "ledger"}); err != nil || ev["read_only_before"] != "on" {
			t.Errorf("fence again = %v, read_only_before %v; want success on an already fenced primary", err, ev["read_only_before"])
		}
		// The standby is not the old primary.
		if _, err := f.run(t, postgres.ActionFence, "yatap", map[string]any{"database": "ledger"}); err == nil || !strings.Contains(err.Error(), "in recovery") {
			t.Errorf("fence of the standby = %v, want refused as in recovery", err)
		}

		ev, err = f.run(t, postgres.ActionUnfence, "sangam", map[string]any{"database": "ledger"})
		if err != nil {
			t.Fatalf("unfence = %v; evidence %v", err, ev)
		}
		if ev["read_only_before"] != "on" || ev["read_only_after"] != "off" || ev["write_committed"] != true {
			t.Errorf("unfence evidence = %v, want on before, off after, a committed write", ev)
		}
		if got := writeState(t, appDSN); got != "" {
			t.Errorf("a write on the unfenced primary = %q, want committed", got)
		}
		if _, err := f.run(t, postgres.ActionUnfence, "sangam", map[string]any{"database": "ledger"}); err != nil {
			t.Errorf("unfence again = %v, want success", err)
		}
	})
}

// TestPairCanaryCleanup: a canary's rows are removed from the primary (and so from the
// standby) after the run, a fenced primary is not written to and its rows are counted, and a
// canary starting removes other runs' rows older than the retention.
func TestPairCanaryCleanup(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the PostgreSQL standby pair")
	}
	pgpairtest.Lock(t)
	pgpairtest.Reset(t)
	f := newPairFixture(t)
	t.Cleanup(func() { unfencePrimary(t, f.primaryDSN); pgpairtest.Reset(t) })
	const table = "firedrill_canary_cleanup"
	primary, standby := connect(t, f.primaryDSN), connect(t, f.standbyDSN)
	exec1(t, primary, "DROP TABLE IF EXISTS "+table)

	first := f.canary(t, uniqueRunID("first"), table, 10*time.Millisecond)
	if err := first.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitCanary(t, first, 3)
	if _, err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	// Rows other runs left: one past the retention, one within it.
	exec1(t, primary, "INSERT INTO "+table+" VALUES ('old-run', 'payments', 1, now() - interval '8 days'), ('recent-run', 'payments', 1, now() - interval '1 day')")

	runID := uniqueRunID("cleanup")
	c := f.canary(t, runID, table, 10*time.Millisecond)
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitCanary(t, c, 5)
	last, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	var old, recent int
	if err := primary.QueryRow(t.Context(), "SELECT count(*) FILTER (WHERE run_id = 'old-run'), count(*) FILTER (WHERE run_id = 'recent-run') FROM "+table).Scan(&old, &recent); err != nil {
		t.Fatal(err)
	}
	if old != 0 || recent != 1 {
		t.Errorf("after a canary started: %d rows of the run past the retention, %d of the recent one; want 0 and 1", old, recent)
	}
	waitReplayed(t, primary, standby)
	if got := lastCanaryRow(t, standby, table, runID); got.Seq != last.Seq {
		t.Fatalf("standby holds seq %d of the run, want %d", got.Seq, last.Seq)
	}

	// The primary fenced: nothing is written to it, the rows left are counted.
	exec1(t, primary, "ALTER SYSTEM SET default_transaction_read_only = on")
	exec1(t, primary, "SELECT pg_reload_conf()")
	poll(t, "the fence to reach new sessions", func() bool { return writeState(t, f.primaryDSN) == "25006" })
	fencedEv, err := first.Cleanup(t.Context())
	if err != nil {
		t.Fatalf("Cleanup with the primary fenced = %v", err)
	}
	sangam, _ := fencedEv["sangam"].(map[string]any)
	if left, _ := sangam["left"].(int64); left < 3 || !strings.Contains(fmt.Sprint(sangam["reason"]), "fenced") {
		t.Errorf("Cleanup evidence with the primary fenced = %v, want the rows left on sangam counted as fenced", fencedEv)
	}
	if yatap, _ := fencedEv["yatap"].(map[string]any); !strings.Contains(fmt.Sprint(yatap["reason"]), "standby") {
		t.Errorf("Cleanup evidence = %v, want yatap skipped as a standby", fencedEv)
	}
	exec1(t, primary, "ALTER SYSTEM RESET default_transaction_read_only")
	exec1(t, primary, "SELECT pg_reload_conf()")
	poll(t, "the fence to be lifted", func() bool { return writeState(t, f.primaryDSN) == "" })

	ev, err := c.Cleanup(t.Context())
	if err != nil {
		t.Fatalf("Cleanup = %v", err)
	}
	sangam, _ = ev["sangam"].(map[string]any)
	if sangam["deleted"] != last.Seq {
		t.Errorf("Cleanup evidence = %v, want %d rows deleted on sangam", ev, last.Seq)
	}
	if got := lastCanaryRow(t, primary, table, runID); got.Seq != 0 {
		t.Errorf("primary still holds the run's seq %d after Cleanup", got.Seq)
	}
	poll(t, "the delete to reach the standby", func() bool { return lastCanaryRow(t, standby, table, runID).Seq == 0 })
	if again, err := c.Cleanup(t.Context()); err != nil || fmt.Sprint(again) != fmt.Sprint(ev) {
		t.Errorf("Cleanup again = %v, %v; want the first result", again, err)
	}
}
