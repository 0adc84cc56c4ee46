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
// record, and only SELECT the audit log and its head (its rows are appended by SECURITY DEFINER
// triggers and step functions owned by the owner). The runtime role owns nothing, so it can neither ALTER, TRUNCATE nor
// disable a trigger, and, not being a superuser, cannot set session_replication_role.

// appendOnlyTables are the record: the runtime role may INSERT and SELECT them, nothing more.
var appendOnlyTables = []string{"run_events", "operations", "role_grants", "finding_updates", "run_participants", "run_notes"}

// keptTables are working tables whose rows are the record too: the runtime role may change
// them but not DELETE them (a finding is closed, never removed).
var keptTables = []string{"findings"}

// ownerOnlyColumns are columns of the record the runtime role may not write even on INSERT:
// run_events.audited_inline would let it mark an event as audited by its own statement and so
// skip the trigger's audit row (migration 00010); only the owner's step functions set it.
var ownerOnlyColumns = map[string][]string{"run_events": {"audited_inline"}}

// readOnlyTables the runtime role may only SELECT.
var readOnlyTables = []string{"audit_log", "audit_head", "audit_pending", "goose_db_version"}

// RuntimeRoleGrant gives role what serve and the CLI need on the store's schema, and no more:
// SELECT, INSERT, UPDATE and DELETE on the working tables; INSERT and SELECT on run_events,
// operations, role_grants, finding_updates, run_participants and run_notes (on run_events INSERT of every column but audited_inline; no DELETE on findings); SELECT on audit_log, audit_head, audit_pending and goose_db_version; no TRUNCATE, REFERENCES or TRIGGER anywhere. Call it as the owner after
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
	for table, withheld := range ownerOnlyColumns {
		// A column grant cannot take away from a table grant: INSERT on the table is revoked
		// and granted again column by column, the columns read from the catalog so that a
		// column added later is covered when the grant is re-applied.
		rows, err := tx.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
WHERE table_schema = $1 AND table_name = $2 AND NOT (column_name = ANY ($3::text[])) ORDER BY ordinal_position`,
			schema, table, "{"+strings.Join(withheld, ",")+"}")
		if err != nil {
			return fmt.Errorf("grant runtime role %s: columns of %s: %w", role, table, err)
		}
		var cols []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return fmt.Errorf("grant runtime role %s: columns of %s: %w", role, table, err)
			}
			cols = append(cols, pgx.Identifier{c}.Sanitize())
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("grant runtime role %s: columns of %s: %w", role, table, err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("grant runtime role %s: columns of %s: %w", role, table, err)
		}
		if len(cols) == 0 {
			return fmt.Errorf("grant runtime role %s: table %s has no columns in schema %s (not migrated?)", role, table, schema)
		}
		t := pgx.Identifier{schema, table}.Sanitize()
		stmts = append(stmts, "REVOKE INSERT ON "+t+" FROM "+r,
			"GRANT INSERT ("+strings.Join(cols, ", ")+") ON "+t+" TO "+r)
	}
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

// CurrentRole names the PostgreSQL role the store is connected as (serve --migrate grants it
// when it is not the owner that migrated).
func (s *Store) CurrentRole(ctx context.Context) (string, error) {
	if s.dialect != DialectPostgres {
		return "", errors.New("current role: database roles are PostgreSQL's; SQLite has none")
	}
	var role string
	if err := s.sqlDB.QueryRowContext(ctx, "SELECT current_user").Scan(&role); err != nil {
		return "", fmt.Errorf("current role: %w", err)
	}
	return role, nil
}
