-- Every run records the firedrill that created it: version and commit (internal/version), so a
-- report says which build measured it. Runs recorded before are left empty: unknown.
-- Keep the other dialect's 00008_run_version.sql equivalent.

-- +goose Up
ALTER TABLE runs ADD COLUMN firedrill_version text NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN firedrill_commit text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE runs DROP COLUMN firedrill_commit;
ALTER TABLE runs DROP COLUMN firedrill_version;
