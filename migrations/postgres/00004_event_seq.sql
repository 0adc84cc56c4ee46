-- Each run numbers its timeline with a counter on the run row: every writer bumps it under the
-- run's row lock, so numbers are unique and gapless even when one statement fences, writes
-- and appends its event at once. Keep sqlite/00004_event_seq.sql equivalent.

-- +goose Up
ALTER TABLE runs ADD COLUMN event_seq bigint NOT NULL DEFAULT 0;
UPDATE runs SET event_seq = COALESCE((SELECT MAX(seq) FROM run_events WHERE run_events.run_id = runs.id), 0);

-- +goose Down
ALTER TABLE runs DROP COLUMN event_seq;
