-- The trusted engine: schedules and their persisted fires, leases (the scheduler's leader),
-- people and their roles, approvals, freezes, operator aborts and the notification outbox.
-- See postgres/00003_engine.sql.

-- +goose Up
CREATE TABLE schedules (
    name           TEXT           NOT NULL PRIMARY KEY,
    plan_name      TEXT           NOT NULL,
    plan_file      TEXT           NOT NULL DEFAULT '',
    spec           TEXT          NOT NULL,
    paused         BOOLEAN        NOT NULL DEFAULT false,
    paused_by      TEXT           NOT NULL DEFAULT '',
    paused_reason  TEXT           NOT NULL DEFAULT '',
    paused_at      DATETIME,
    last_fire_time DATETIME,
    next_fire_time DATETIME,
    updated_at     DATETIME NOT NULL
);

ALTER TABLE runs ADD COLUMN schedule_name text;
ALTER TABLE runs ADD COLUMN fire_time DATETIME;
ALTER TABLE runs ADD COLUMN approval_policy TEXT;
ALTER TABLE runs ADD COLUMN approval_deadline DATETIME;
ALTER TABLE runs ADD COLUMN abort_requested_at DATETIME;
ALTER TABLE runs ADD COLUMN abort_requested_by TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN abort_reason TEXT NOT NULL DEFAULT '';
-- A schedule's fire can create one run, whatever replicas, restarts or clock steps do.
CREATE UNIQUE INDEX runs_schedule_fire_key ON runs (schedule_name, fire_time);
CREATE INDEX runs_lease_expires_at_idx ON runs (lease_expires_at);

-- Every fire is decided once and the decision kept (ran, skipped as missed, in a blackout, ...).
CREATE TABLE schedule_fires (
    schedule_name TEXT           NOT NULL REFERENCES schedules (name),
    fire_time     DATETIME NOT NULL,
    decision      TEXT           NOT NULL,
    reason        TEXT           NOT NULL DEFAULT '',
    run_id        TEXT           REFERENCES runs (id),
    decided_by    TEXT           NOT NULL DEFAULT '',
    decided_at    DATETIME NOT NULL,
    PRIMARY KEY (schedule_name, fire_time)
);

-- Named leases with a fencing epoch: "scheduler" is held by the one replica that fires schedules.
CREATE TABLE leases (
    name       TEXT           NOT NULL PRIMARY KEY,
    owner      TEXT           NOT NULL,
    epoch      INTEGER         NOT NULL,
    expires_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);

CREATE TABLE users (
    name       TEXT           NOT NULL PRIMARY KEY,
    roles      TEXT          NOT NULL,
    disabled   BOOLEAN        NOT NULL DEFAULT false,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);

CREATE TABLE approvals (
    id         TEXT           NOT NULL PRIMARY KEY,
    run_id     TEXT           NOT NULL REFERENCES runs (id),
    approver   TEXT           NOT NULL,
    roles      TEXT          NOT NULL,
    decision   TEXT           NOT NULL,
    comment    TEXT           NOT NULL DEFAULT '',
    decided_at DATETIME NOT NULL,
    CONSTRAINT approvals_run_id_approver_key UNIQUE (run_id, approver)
);

CREATE TABLE freezes (
    id        TEXT           NOT NULL PRIMARY KEY,
    reason    TEXT           NOT NULL,
    set_by    TEXT           NOT NULL,
    set_at    DATETIME NOT NULL,
    lifted_by TEXT           NOT NULL DEFAULT '',
    lifted_at DATETIME
);

-- Notifications are written here first and sent by a worker with retries, so a slow or
-- failing receiver never blocks a drill and nothing is lost across a restart.
CREATE TABLE notifications (
    id              TEXT           NOT NULL PRIMARY KEY,
    run_id          text,
    event           TEXT           NOT NULL,
    channel         TEXT           NOT NULL,
    payload         TEXT          NOT NULL,
    state           TEXT           NOT NULL,
    attempts        INTEGER        NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    last_error      TEXT           NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    sent_at         DATETIME
);
CREATE INDEX notifications_due_idx ON notifications (state, next_attempt_at);

-- +goose Down
DROP TABLE notifications;
DROP TABLE freezes;
DROP TABLE approvals;
DROP TABLE users;
DROP TABLE leases;
DROP TABLE schedule_fires;
DROP INDEX runs_lease_expires_at_idx;
DROP INDEX runs_schedule_fire_key;
ALTER TABLE runs DROP COLUMN abort_reason;
ALTER TABLE runs DROP COLUMN abort_requested_by;
ALTER TABLE runs DROP COLUMN abort_requested_at;
ALTER TABLE runs DROP COLUMN approval_deadline;
ALTER TABLE runs DROP COLUMN approval_policy;
ALTER TABLE runs DROP COLUMN fire_time;
ALTER TABLE runs DROP COLUMN schedule_name;
DROP TABLE schedules;
