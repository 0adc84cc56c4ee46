-- firedrill initial schema (PostgreSQL). Keep sqlite/00001_initial.sql equivalent.
-- All times are UTC with millisecond precision; durations are stored in milliseconds.

-- +goose Up
CREATE TABLE estate_snapshots (
    sha256     text           PRIMARY KEY,
    file       text           NOT NULL DEFAULT '',
    source     text           NOT NULL,
    created_at timestamptz(3) NOT NULL
);

-- Sites hold only *references* to credentials (token_ref: env:NAME or file:/path), never secrets.
CREATE TABLE sites (
    name             text           PRIMARY KEY,
    role             text           NOT NULL,
    ingress          text           NOT NULL DEFAULT '',
    nomad_address    text           NOT NULL DEFAULT '',
    nomad_region     text           NOT NULL DEFAULT '',
    nomad_datacenter text           NOT NULL DEFAULT '',
    nomad_namespace  text           NOT NULL DEFAULT '',
    token_ref        text           NOT NULL DEFAULT '',
    databases        jsonb          NOT NULL DEFAULT '[]',
    estate_sha256    text           NOT NULL REFERENCES estate_snapshots (sha256),
    updated_at       timestamptz(3) NOT NULL
);

CREATE TABLE services (
    name          text           PRIMARY KEY,
    description   text           NOT NULL DEFAULT '',
    owner         text           NOT NULL DEFAULT '',
    criticality   text           NOT NULL,
    rto_ms        bigint         NOT NULL,
    rpo_ms        bigint         NOT NULL,
    depends_on    jsonb          NOT NULL DEFAULT '[]',
    nomad_job     text           NOT NULL DEFAULT '',
    checks        jsonb          NOT NULL DEFAULT '[]',
    canary        jsonb,
    estate_sha256 text           NOT NULL REFERENCES estate_snapshots (sha256),
    updated_at    timestamptz(3) NOT NULL
);

CREATE TABLE plans (
    id         text           PRIMARY KEY,
    name       text           NOT NULL,
    file       text           NOT NULL DEFAULT '',
    sha256     text           NOT NULL,
    source     text           NOT NULL,
    created_at timestamptz(3) NOT NULL,
    CONSTRAINT plans_name_sha256_key UNIQUE (name, sha256)
);

-- lease_epoch is the fencing token: every write for a run is conditional on it.
CREATE TABLE runs (
    id                text           PRIMARY KEY,
    plan_id           text           NOT NULL REFERENCES plans (id),
    plan_name         text           NOT NULL,
    estate_sha256     text           NOT NULL DEFAULT '',
    from_site         text           NOT NULL DEFAULT '',
    to_site           text           NOT NULL DEFAULT '',
    state             text           NOT NULL,
    state_reason      text           NOT NULL DEFAULT '',
    triggered_by      text           NOT NULL DEFAULT '',
    created_at        timestamptz(3) NOT NULL,
    started_at        timestamptz(3),
    ended_at          timestamptz(3),
    t0                timestamptz(3),
    t1                timestamptz(3),
    rto_actual_ms     bigint,
    objectives_met    boolean,
    lease_owner       text           NOT NULL DEFAULT '',
    lease_epoch       bigint         NOT NULL DEFAULT 0,
    lease_expires_at  timestamptz(3),
    lease_duration_ms bigint         NOT NULL DEFAULT 0,
    updated_at        timestamptz(3) NOT NULL
);
CREATE INDEX runs_state_idx ON runs (state);
CREATE INDEX runs_created_at_idx ON runs (created_at DESC, id DESC);
CREATE INDEX runs_plan_name_created_at_idx ON runs (plan_name, created_at DESC);

CREATE TABLE step_results (
    id          text           PRIMARY KEY,
    run_id      text           NOT NULL REFERENCES runs (id),
    seq         integer        NOT NULL,
    step_key    text           NOT NULL,
    step_name   text           NOT NULL DEFAULT '',
    action      text           NOT NULL,
    site        text           NOT NULL DEFAULT '',
    service     text           NOT NULL DEFAULT '',
    attempt     integer        NOT NULL DEFAULT 1,
    state       text           NOT NULL,
    idempotent  boolean        NOT NULL DEFAULT false,
    timeout_ms  bigint         NOT NULL DEFAULT 0,
    started_at  timestamptz(3) NOT NULL,
    ended_at    timestamptz(3),
    duration_ms bigint,
    error       text           NOT NULL DEFAULT '',
    evidence    jsonb,
    CONSTRAINT step_results_run_id_step_key_attempt_key UNIQUE (run_id, step_key, attempt)
);

CREATE TABLE measurements (
    id               text           PRIMARY KEY,
    run_id           text           NOT NULL REFERENCES runs (id),
    service          text           NOT NULL,
    criticality      text           NOT NULL DEFAULT '',
    rto_objective_ms bigint         NOT NULL,
    rto_actual_ms    bigint,
    restored         boolean        NOT NULL,
    restored_at      timestamptz(3),
    rto_met          boolean        NOT NULL,
    rpo_objective_ms bigint         NOT NULL,
    rpo_actual_ms    bigint,
    rpo_lost_rows    bigint,
    rpo_met          boolean,
    resolution_ms    bigint         NOT NULL DEFAULT 0,
    reason           text           NOT NULL DEFAULT '',
    evidence         jsonb,
    CONSTRAINT measurements_run_id_service_key UNIQUE (run_id, service)
);

-- run_events is the append-only timeline of a run that compliance reports print.
CREATE TABLE run_events (
    id       bigint         GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    run_id   text           NOT NULL REFERENCES runs (id),
    seq      integer        NOT NULL,
    at       timestamptz(3) NOT NULL,
    kind     text           NOT NULL,
    step_key text           NOT NULL DEFAULT '',
    message  text           NOT NULL DEFAULT '',
    data     jsonb,
    CONSTRAINT run_events_run_id_seq_key UNIQUE (run_id, seq)
);

-- +goose StatementBegin
CREATE FUNCTION run_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'run_events is append-only';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER run_events_append_only
    BEFORE UPDATE OR DELETE ON run_events
    FOR EACH ROW EXECUTE FUNCTION run_events_append_only();

-- +goose Down
DROP TABLE run_events;
DROP FUNCTION run_events_append_only();
DROP TABLE measurements;
DROP TABLE step_results;
DROP TABLE runs;
DROP TABLE plans;
DROP TABLE services;
DROP TABLE sites;
DROP TABLE estate_snapshots;
