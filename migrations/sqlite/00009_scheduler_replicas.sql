-- See postgres/00009_scheduler_replicas.sql.

-- +goose Up
CREATE TABLE scheduler_replicas (
    owner      TEXT     NOT NULL PRIMARY KEY,
    started_at DATETIME NOT NULL,
    seen_at    DATETIME NOT NULL
);

-- +goose Down
DROP TABLE scheduler_replicas;
