-- firedrill initial schema (SQLite). Keep postgres/00001_initial.sql equivalent.
-- All times are UTC with millisecond precision; durations are stored in milliseconds.
-- JSON is TEXT checked with json_valid; primary keys are declared NOT NULL explicitly because
-- SQLite otherwise allows NULL in non-integer primary keys.

-- +goose Up
CREATE TABLE estate_snapshots (
    sha256     TEXT     NOT NULL PRIMARY KEY,
    file       TEXT     NOT NULL DEFAULT '',
    source     TEXT     NOT NULL,
    created_at DATETIME NOT NULL
);

-- Sites hold only *references* to credentials (token_ref: env:NAME or file:/path), never secrets.
CREATE TABLE sites (
    name             TEXT     NOT NULL PRIMARY KEY,
    role             TEXT     NOT NULL,
    ingress          TEXT     NOT NULL DEFAULT '',
    nomad_address    TEXT     NOT NULL DEFAULT '',
    nomad_region     TEXT     NOT NULL DEFAULT '',
    nomad_datacenter TEXT     NOT NULL DEFAULT '',
    nomad_namespace  TEXT     NOT NULL DEFAULT '',
    token_ref        TEXT     NOT NULL DEFAULT '',
    databases        TEXT     NOT NULL DEFAULT '[]',
    estate_sha256    TEXT     NOT NULL REFERENCES estate_snapshots (sha256),
    updated_at       DATETIME NOT NULL,
    CHECK (json_valid(databases))
);

-- "checks" is quoted so that gorm's SQLite DDL parser (used by the migration test) does not
-- take the column for a CHECK constraint. No comments inside CREATE TABLE: that parser reads them.
CREATE TABLE services (
    name          TEXT     NOT NULL PRIMARY KEY,
    description   TEXT     NOT NULL DEFAULT '',
    owner         TEXT     NOT NULL DEFAULT '',
    criticality   TEXT     NOT NULL,
    rto_ms        INTEGER  NOT NULL,
    rpo_ms        INTEGER  NOT NULL,
    depends_on    TEXT     NOT NULL DEFAULT '[]',
    nomad_job     TEXT     NOT NULL DEFAULT '',
    "checks"      TEXT     NOT NULL DEFAULT '[]',
    canary        TEXT,
    estate_sha256 TEXT     NOT NULL REFERENCES estate_snapshots (sha256),
    updated_at    DATETIME NOT NULL,
    CHECK (json_valid(depends_on) AND json_valid(checks) AND (canary IS NULL OR json_valid(canary)))
);

CREATE TABLE plans (
    id         TEXT     NOT NULL PRIMARY KEY,
    name       TEXT     NOT NULL,
    file       TEXT     NOT NULL DEFAULT '',
    sha256     TEXT     NOT NULL,
    source     TEXT     NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT plans_name_sha256_key UNIQUE (name, sha256)
);

-- lease_epoch is the fencing token: every write for a run is conditional on it.
CREATE TABLE runs (
    id                TEXT     NOT NULL PRIMARY KEY,
    plan_id           TEXT     NOT NULL REFERENCES plans (id),
    plan_name         TEXT     NOT NULL,
    estate_sha256     TEXT     NOT NULL DEFAULT '',
    from_site         TEXT     NOT NULL DEFAULT '',
    to_site           TEXT     NOT NULL DEFAULT '',
    state             TEXT     NOT NULL,
    state_reason      TEXT     NOT NULL DEFAULT '',
    triggered_by      TEXT     NOT NULL DEFAULT '',
    created_at        DATETIME NOT NULL,
    started_at        DATETIME,
    ended_at          DATETIME,
    t0                DATETIME,
    t1                DATETIME,
    rto_actual_ms     INTEGER,
    objectives_met    BOOLEAN,
    lease_owner       TEXT     NOT NULL DEFAULT '',
    lease_epoch       INTEGER  NOT NULL DEFAULT 0,
    lease_expires_at  DATETIME,
    lease_duration_ms INTEGER  NOT NULL DEFAULT 0,
    updated_at        DATETIME NOT NULL
);
CREATE INDEX runs_state_idx ON runs (state);
CREATE INDEX runs_created_at_idx ON runs (created_at DESC, id DESC);
CREATE INDEX runs_plan_name_created_at_idx ON runs (plan_name, created_at DESC);

CREATE TABLE step_results (
    id          TEXT     NOT NULL PRIMARY KEY,
    run_id      TEXT     NOT NULL REFERENCES runs (id),
    seq         INTEGER  NOT NULL,
    step_key    TEXT     NOT NULL,
    step_name   TEXT     NOT NULL DEFAULT '',
    action      TEXT     NOT NULL,
    site        TEXT     NOT NULL DEFAULT '',
    service     TEXT     NOT NULL DEFAULT '',
    attempt     INTEGER  NOT NULL DEFAULT 1,
    state       TEXT     NOT NULL,
    idempotent  BOOLEAN  NOT NULL DEFAULT false,
    timeout_ms  INTEGER  NOT NULL DEFAULT 0,
    started_at  DATETIME NOT NULL,
    ended_at    DATETIME,
    duration_ms INTEGER,
    error       TEXT     NOT NULL DEFAULT '',
    evidence    TEXT,
    CONSTRAINT step_results_run_id_step_key_attempt_key UNIQUE (run_id, step_key, attempt),
    CHECK (evidence IS NULL OR json_valid(evidence))
);

CREATE TABLE measurements (
    id               TEXT     NOT NULL PRIMARY KEY,
    run_id           TEXT     NOT NULL REFERENCES runs (id),
    service          TEXT     NOT NULL,
    criticality      TEXT     NOT NULL DEFAULT '',
    rto_objective_ms INTEGER  NOT NULL,
    rto_actual_ms    INTEGER,
    restored         BOOLEAN  NOT NULL,
    restored_at      DATETIME,
    rto_met          BOOLEAN  NOT NULL,
    rpo_objective_ms INTEGER  NOT NULL,
    rpo_actual_ms    INTEGER,
    rpo_lost_rows    INTEGER,
    rpo_met          BOOLEAN,
    resolution_ms    INTEGER  NOT NULL DEFAULT 0,
    reason           TEXT     NOT NULL DEFAULT '',
    evidence         TEXT,
    CONSTRAINT measurements_run_id_service_key UNIQUE (run_id, service),
    CHECK (evidence IS NULL OR json_valid(evidence))
);

-- run_events is the append-only timeline of a run that compliance reports print.
CREATE TABLE run_events (
    id       INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    run_id   TEXT     NOT NULL REFERENCES runs (id),
    seq      INTEGER  NOT NULL,
    at       DATETIME NOT NULL,
    kind     TEXT     NOT NULL,
    step_key TEXT     NOT NULL DEFAULT '',
    message  TEXT     NOT NULL DEFAULT '',
    data     TEXT,
    CONSTRAINT run_events_run_id_seq_key UNIQUE (run_id, seq),
    CHECK (data IS NULL OR json_valid(data))
);

-- +goose StatementBegin
CREATE TRIGGER run_events_no_update BEFORE UPDATE ON run_events
BEGIN
    SELECT RAISE(ABORT, 'run_events is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER run_events_no_delete BEFORE DELETE ON run_events
BEGIN
    SELECT RAISE(ABORT, 'run_events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE run_events;
DROP TABLE measurements;
DROP TABLE step_results;
DROP TABLE runs;
DROP TABLE plans;
DROP TABLE services;
DROP TABLE sites;
DROP TABLE estate_snapshots;
