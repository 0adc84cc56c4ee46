-- Decisions a person takes on a step (see postgres/00002_step_decisions.sql).

-- +goose Up
CREATE TABLE step_decisions (
    id         TEXT     NOT NULL PRIMARY KEY,
    run_id     TEXT     NOT NULL REFERENCES runs (id),
    step_id    TEXT     NOT NULL REFERENCES step_results (id),
    step_key   TEXT     NOT NULL,
    decision   TEXT     NOT NULL,
    decided_by TEXT     NOT NULL,
    comment    TEXT     NOT NULL DEFAULT '',
    decided_at DATETIME NOT NULL,
    CONSTRAINT step_decisions_step_id_key UNIQUE (step_id)
);
CREATE INDEX step_decisions_run_id_idx ON step_decisions (run_id);

-- +goose Down
DROP TABLE step_decisions;
