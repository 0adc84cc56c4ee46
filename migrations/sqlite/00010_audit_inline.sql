-- See postgres/00010_audit_inline.sql. On SQLite the store appends every audit row itself
-- (appendEvent), so no event is audited inline and the column stays false; it exists so that
-- both dialects have the same run_events columns. runs_lease_expires_at_idx goes as on PostgreSQL
-- (no query needs it; the claim selects by state).

-- +goose Up
DROP INDEX runs_lease_expires_at_idx;
ALTER TABLE run_events ADD COLUMN audited_inline BOOLEAN NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE run_events DROP COLUMN audited_inline;
CREATE INDEX runs_lease_expires_at_idx ON runs (lease_expires_at);
