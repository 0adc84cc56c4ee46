-- The trusted engine: schedules and their persisted fires, leases (the scheduler's leader),
-- people and their roles, approvals, freezes, operator aborts and the notification outbox.
-- Keep sqlite/00003_engine.sql equivalent.

-- +goose Up
CREATE TABLE schedules (
    name           text           PRIMARY KEY,
    plan_name      text           NOT NULL,
    plan_file      text           NOT NULL DEFAULT '',
    spec           jsonb          NOT NULL,
    paused         boolean        NOT NULL DEFAULT false,
    paused_by      text           NOT NULL DEFAULT '',
    paused_reason  text           NOT NULL DEFAULT '',
    paused_at      timestamptz(3),
    last_fire_time timestamptz(3),
    next_fire_time timestamptz(3),
    updated_at     timestamptz(3) NOT NULL
);

ALTER TABLE runs ADD COLUMN schedule_name text;
ALTER TABLE runs ADD COLUMN fire_time timestamptz(3);
ALTER TABLE runs ADD COLUMN approval_policy jsonb;
ALTER TABLE runs ADD COLUMN approval_deadline timestamptz(3);
ALTER TABLE runs ADD COLUMN abort_requested_at timestamptz(3);
ALTER TABLE runs ADD COLUMN abort_requested_by text NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN abort_reason text NOT NULL DEFAULT '';
-- A schedule's fire can create one run, whatever replicas, restarts or clock steps do.
CREATE UNIQUE INDEX runs_schedule_fire_key ON runs (schedule_name, fire_time);
CREATE INDEX runs_lease_expires_at_idx ON runs (lease_expires_at);

-- Every fire is decided once and the decision kept (ran, skipped as missed, in a blackout, ...).
CREATE TABLE schedule_fires (
    schedule_name text           NOT NULL REFERENCES schedules (name),
    fire_time     timestamptz(3) NOT NULL,
    decision      text           NOT NULL,
    reason        text           NOT NULL DEFAULT '',
    run_id        text           REFERENCES runs (id),
    decided_by    text           NOT NULL DEFAULT '',
    decided_at    timestamptz(3) NOT NULL,
    PRIMARY KEY (schedule_name, fire_time)
);

-- Named leases with a fencing epoch: "scheduler" is held by the one replica that fires schedules.
CREATE TABLE leases (
    name       text           PRIMARY KEY,
    owner      text           NOT NULL,
    epoch      bigint         NOT NULL,
    expires_at timestamptz(3) NOT NULL,
    updated_at timestamptz(3) NOT NULL
);

CREATE TABLE users (
    name       text           PRIMARY KEY,
    roles      jsonb          NOT NULL,
    disabled   boolean        NOT NULL DEFAULT false,
    created_at timestamptz(3) NOT NULL,
    updated_at timestamptz(3) NOT NULL
);

CREATE TABLE approvals (
    id         text           PRIMARY KEY,
    run_id     text           NOT NULL REFERENCES runs (id),
    approver   text           NOT NULL,
    roles      jsonb          NOT NULL,
    decision   text           NOT NULL,
    comment    text           NOT NULL DEFAULT '',
    decided_at timestamptz(3) NOT NULL,
    CONSTRAINT approvals_run_id_approver_key UNIQUE (run_id, approver)
);

CREATE TABLE freezes (
    id        text           PRIMARY KEY,
    reason    text           NOT NULL,
    set_by    text           NOT NULL,
    set_at    timestamptz(3) NOT NULL,
    lifted_by text           NOT NULL DEFAULT '',
    lifted_at timestamptz(3)
);

-- Notifications are written here first and sent by a worker with retries, so a slow or
-- failing receiver never blocks a drill and nothing is lost across a restart.
CREATE TABLE notifications (
    id              text           PRIMARY KEY,
    run_id          text,
    event           text           NOT NULL,
    channel         text           NOT NULL,
    payload         jsonb          NOT NULL,
    state           text           NOT NULL,
    attempts        integer        NOT NULL DEFAULT 0,
    next_attempt_at timestamptz(3) NOT NULL,
    last_error      text           NOT NULL DEFAULT '',
    created_at      timestamptz(3) NOT NULL,
    sent_at         timestamptz(3)
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
