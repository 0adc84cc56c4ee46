-- The hash-chained audit log; see postgres/00007_audit_log.sql. SQLite has no SHA-256 in SQL,
-- so the store appends each row itself, in the transaction that inserts the run event or the
-- operation (SQLite has a single writer: the chain cannot fork), with the same content and
-- hash as PostgreSQL's trigger.

-- +goose Up
CREATE TABLE audit_log (
    seq       INTEGER  NOT NULL PRIMARY KEY,
    at        DATETIME NOT NULL,
    source    TEXT     NOT NULL,
    run_id    TEXT     NOT NULL DEFAULT '',
    ref       INTEGER  NOT NULL,
    content   TEXT     NOT NULL,
    prev_hash TEXT     NOT NULL,
    hash      TEXT     NOT NULL,
    CHECK (source IN ('run_event', 'operation')),
    UNIQUE (source, run_id, ref)
);

CREATE TABLE audit_head (
    id                INTEGER NOT NULL PRIMARY KEY,
    seq               INTEGER NOT NULL,
    hash              TEXT    NOT NULL,
    prev_hash         TEXT    NOT NULL,
    events_before     INTEGER NOT NULL,
    operations_before INTEGER NOT NULL,
    CHECK (id = 1)
);
INSERT INTO audit_head (id, seq, hash, prev_hash, events_before, operations_before)
    SELECT 1, 0, '0000000000000000000000000000000000000000000000000000000000000000', '',
        (SELECT COALESCE(MAX(id), 0) FROM run_events), (SELECT COALESCE(MAX(id), 0) FROM operations);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_log_no_delete;
DROP TRIGGER audit_log_no_update;
DROP TABLE audit_head;
DROP TABLE audit_log;
