-- See postgres/00004_event_seq.sql.

-- +goose Up
ALTER TABLE runs ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET event_seq = COALESCE((SELECT MAX(seq) FROM run_events WHERE run_events.run_id = runs.id), 0);

-- +goose Down
ALTER TABLE runs DROP COLUMN event_seq;
