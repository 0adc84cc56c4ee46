-- See postgres/00015_audit_pending.sql. On SQLite the store appends every audit row itself in
-- the fact's transaction (one writer: nothing queues on the head), so nothing is ever pending;
-- the table exists so that both dialects have the same tables and the store reads it alike.

-- +goose Up
CREATE TABLE audit_pending (
    id      INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    at      DATETIME NOT NULL,
    source  TEXT     NOT NULL,
    run_id  TEXT     NOT NULL DEFAULT '',
    ref     INTEGER  NOT NULL,
    content TEXT     NOT NULL,
    CHECK (source IN ('run_event', 'operation')),
    UNIQUE (source, run_id, ref)
);

-- +goose Down
DROP TABLE audit_pending;
