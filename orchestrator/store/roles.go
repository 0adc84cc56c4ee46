package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// On PostgreSQL firedrill runs as two roles. The owner role owns the schema and applies the
// migrations (`firedrill migrate up`); serve and the CLI connect as the runtime role, which
// may read and write the working tables but only INSERT and SELECT the tables that are the
// record, and only SELECT the audit log and its head (its rows are appended by a SECURITY DEFINER trigger
// owned by the owner). The runtime role owns nothing, so it can neither ALTER, TRUNCATE nor
// disable a trigger, and, not being a superuser, cannot set session_replication_role.

// appendOnlyTables are the record: the runtime role may INSERT and SELECT them, nothing more.
var appendOnlyTables = []string{"run_events", "operations", "role_grants", "finding_updates", "run_participants", "run_notes"}

// keptTables are working tables whose rows are the record too: the runtime role may change
// them but not DELETE them (a finding is closed, never removed).
var keptTables = []string{"findings"}

// readOnlyTables the runtime role may only SELECT.
var readOnlyTables = []string{"audit_log", "audit_head", "goose_db_version"}

// RuntimeRoleGrant gives role what serve and the CLI need on the store's schema, and no more:
// SELECT, INSERT, UPDATE and DELETE on the working tables; INSERT and SELECT on run_events,
// operations, role_grants, finding_updates, run_participants and run_notes (and no DELETE on findings); SELECT on audit_log, audit_head and goose_db_version; no TRUNCATE, REFERENCES or TRIGGER anywhere. Call it as the owner after
// MigrateUp (firedrill migrate up --runtime-role does): it re-applies the whole set, so tables
// added by later migrations are covered. The role must exist. PostgreSQL only.
func (s *Store) RuntimeRoleGrant(ctx context.Context, role string) error {
	if s.dialect != DialectPostgres {
		return fmt.Errorf("grant runtime role %s: database roles are PostgreSQL's; SQLite has none", role)
	}
	if role == "" {
		return errors.New("grant runtime role: the role name is required")
	}
	r := pgx.Identifier{role}.Sanitize()
	var schema, user string
	if err := s.sqlDB.QueryRowContext(ctx, "SELECT current_schema(), current_user").Scan(&schema, &user); err != nil {
		return fmt.Errorf("grant runtime role %s: %w", role, err)
	}
	if user == role {
		return fmt.Errorf("grant runtime role %s: that is the role migrating (the owner); the runtime role must be another", role)
	}
	sch := pgx.Identifier{schema}.Sanitize()
	list := func(tables []string) string {
		q := make([]string, len(tables))
		for i, t := range tables {
			q[i] = pgx.Identifier{schema, t}.Sanitize()
		}
		return strings.Join(q, ", ")
	}
	stmts := []string{
		"REVOKE ALL ON ALL TABLES IN SCHEMA " + sch + " FROM " + r,
		"REVOKE ALL ON ALL SEQUENCES IN SCHEMA " + sch + " FROM " + r,
		"GRANT USAGE ON SCHEMA " + sch + " TO " + r,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + sch + " TO " + r,
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA " + sch + " TO " + r,
		"REVOKE UPDATE, DELETE ON " + list(appendOnlyTables) + " FROM " + r,
		"REVOKE DELETE ON " + list(keptTables) + " FROM " + r,
		"REVOKE INSERT, UPDATE, DELETE ON " + list(readOnlyTables) + " FROM " + r,
	}
	tx, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("grant runtime role %s: %w", role, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("grant runtime role %s: %s: %w", role, stmt, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("grant runtime role %s: %w", role, err)
	}
	s.logger.InfoContext(ctx, "runtime role granted", "role", role, "schema", schema)
	return nil
}
