-- Which scheduler replicas were alive, and since when: a fire is settled by the schedule's
-- missed-fire policy only when no replica was alive at its time (a leader that died just
-- before a fire leaves it to the next leader, which runs it late rather than skips it).
-- Each replica's row spans its latest unbroken run of passes. Keep sqlite/00009 equivalent.

-- +goose Up
CREATE TABLE scheduler_replicas (
    owner      text           PRIMARY KEY,
    started_at timestamptz(3) NOT NULL,
    seen_at    timestamptz(3) NOT NULL
);

-- +goose Down
DROP TABLE scheduler_replicas;
