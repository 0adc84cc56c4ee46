-- Decisions a person takes on a step: a manual step marked done or failed, or (issue 4) a step
-- whose outcome is unknown after a crash marked done, retried or aborted. Who and when is kept
-- for the compliance report. Keep sqlite/00002_step_decisions.sql equivalent.

-- +goose Up
CREATE TABLE step_decisions (
    id         text           PRIMARY KEY,
    run_id     text           NOT NULL REFERENCES runs (id),
    step_id    text           NOT NULL REFERENCES step_results (id),
    step_key   text           NOT NULL,
    decision   text           NOT NULL,
    decided_by text           NOT NULL,
    comment    text           NOT NULL DEFAULT '',
    decided_at timestamptz(3) NOT NULL,
    CONSTRAINT step_decisions_step_id_key UNIQUE (step_id)
);
CREATE INDEX step_decisions_run_id_idx ON step_decisions (run_id);

-- +goose Down
DROP TABLE step_decisions;
