package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestRuntimeRoleCannotRewriteTheRecord: serve's role does its work, but can neither change
// nor remove the timeline, the operations log, the role grants or the audit log, nor switch
// the triggers that guard them off; a superuser who does is caught by the audit log.
func TestRuntimeRoleCannotRewriteTheRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	roles := storetest.PostgresRoles(t)
	rt := roles.Runtime
	if err := rt.SchemaCheck(ctx); err != nil {
		t.Fatalf("SchemaCheck as the runtime role: %v", err)
	}
	// serve migrates at start: with nothing pending that must work as the runtime role.
	if applied, err := rt.MigrateUp(ctx); err != nil || len(applied) != 0 {
		t.Fatalf("MigrateUp as the runtime role on a current schema = %v, %v; want nothing, no error", applied, err)
	}

	// Everything a drill and the control plane do works as the runtime role.
	b := auditedRun(t, rt)
	if _, err := rt.UserCreate(ctx, &store.UserCreateParams{Name: "alice", Roles: []string{"sre"}, By: tester}); err != nil {
		t.Fatalf("UserCreate as the runtime role: %v", err)
	}
	if err := rt.RunStateSet(ctx, &store.RunStateSetParams{RunID: setup(t, rt).run.ID, Epoch: 1, State: drills.RunRunning, At: at(time.Minute)}); err != nil {
		t.Fatalf("RunStateSet as the runtime role: %v", err)
	}
	if rep := verify(t, rt, ""); rep.Problem != nil {
		t.Fatalf("AuditVerify as the runtime role: %+v", rep.Problem)
	}
	if inline, _ := assertOneAuditRowPerEvent(t, rt); inline == 0 {
		t.Error("as the runtime role no step event was audited by its own statement")
	}

	conn, err := pgx.Connect(ctx, roles.RuntimeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		"TRUNCATE run_events", "TRUNCATE operations", "TRUNCATE role_grants", "TRUNCATE audit_log",
		"TRUNCATE runs", "TRUNCATE step_results",
		"UPDATE run_events SET message = 'x'", "DELETE FROM run_events",
		"UPDATE operations SET message = 'x'", "DELETE FROM operations",
		"UPDATE role_grants SET role = 'admin'", "DELETE FROM role_grants",
		"UPDATE audit_log SET content = '{}'", "DELETE FROM audit_log",
		"INSERT INTO audit_log (seq, at, source, ref, content, prev_hash, hash) VALUES (999, now(), 'operation', 1, '{}', '', '')",
		"UPDATE audit_head SET seq = 0", "DELETE FROM audit_head",
		// The copies waiting to be chained can be neither forged, altered nor dropped.
		"INSERT INTO audit_pending (at, source, run_id, ref, content) VALUES (now(), 'operation', '', 999, '{}')",
		"UPDATE audit_pending SET content = '{}'", "DELETE FROM audit_pending", "TRUNCATE audit_pending",
		"CREATE OR REPLACE FUNCTION firedrill_audit_chain(integer, boolean) RETURNS integer LANGUAGE sql AS 'SELECT 0'",
		// An event marked as audited by its own statement would skip the trigger's audit row.
		"INSERT INTO run_events (run_id, seq, at, kind, audited_inline) VALUES ('" + b.run.ID + "', 999, now(), 'forged', true)",
		"CREATE OR REPLACE FUNCTION firedrill_step_start() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
		"DELETE FROM goose_db_version",
		"DELETE FROM findings", "UPDATE finding_updates SET comment = 'x'", "DELETE FROM finding_updates",
		"UPDATE run_participants SET attended = true", "DELETE FROM run_participants",
		"UPDATE run_notes SET text = 'x'", "DELETE FROM run_notes",
		"ALTER TABLE run_events DISABLE TRIGGER run_events_append_only",
		"ALTER TABLE run_events DISABLE TRIGGER run_events_audit",
		"ALTER TABLE operations DISABLE TRIGGER ALL",
		"DROP TRIGGER audit_log_append_only ON audit_log",
		"CREATE TRIGGER x BEFORE INSERT ON runs FOR EACH ROW EXECUTE FUNCTION firedrill_append_only()",
		"CREATE OR REPLACE FUNCTION audit_run_event() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'",
		"ALTER TABLE audit_log OWNER TO firedrill_runtime",
		"SET session_replication_role = replica",
		"CREATE TABLE scratch (id int)",
	} {
		_, err := conn.Exec(ctx, stmt)
		if err == nil {
			t.Errorf("runtime role: %s succeeded, want refused", stmt)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "permission denied") && !strings.Contains(msg, "must be owner") {
			t.Errorf("runtime role: %s = %v, want a permission error", stmt, err)
		}
	}

	// A superuser can still bypass the triggers; the audit log names what was edited.
	admin, err := pgx.Connect(ctx, roles.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	err = pgx.BeginFunc(ctx, admin, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "UPDATE runs SET state = 'succeeded', objectives_met = true WHERE id = $1", b.run.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := verify(t, rt, b.run.ID)
	if rep.Problem == nil || !strings.Contains(rep.Problem.Message, "its state is succeeded but its audited events end in rolled_back") {
		t.Errorf("AuditVerify(run) after a superuser's edit = %+v", rep.Problem)
	}
	if rep := verify(t, rt, ""); rep.Problem == nil {
		t.Error("AuditVerify(all) after a superuser's edit found nothing")
	}
}
