-- See postgres/00011_findings.sql. SQLite has no sequences: a finding's seq is the largest
-- plus one, safe because SQLite has one writer and firedrill's transactions are IMMEDIATE.

-- +goose Up
CREATE TABLE findings (
    id                        TEXT     NOT NULL PRIMARY KEY,
    seq                       INTEGER  NOT NULL,
    kind                      TEXT     NOT NULL,
    run_id                    TEXT     REFERENCES runs (id),
    service                   TEXT,
    plan                      TEXT,
    step_key                  TEXT     NOT NULL DEFAULT '',
    title                     TEXT     NOT NULL,
    description               TEXT     NOT NULL DEFAULT '',
    severity                  TEXT     NOT NULL,
    owner                     TEXT     NOT NULL DEFAULT '',
    root_cause                TEXT     NOT NULL DEFAULT '',
    due_at                    DATETIME,
    status                    TEXT     NOT NULL,
    risk_accepted_by_kind     TEXT     NOT NULL DEFAULT '',
    risk_accepted_by_name     TEXT     NOT NULL DEFAULT '',
    risk_accepted_by_via      TEXT     NOT NULL DEFAULT '',
    risk_accepted_by_token_id TEXT     NOT NULL DEFAULT '',
    risk_accepted_at          DATETIME,
    risk_reason               TEXT     NOT NULL DEFAULT '',
    closed_by_run_id          TEXT     REFERENCES runs (id),
    closed_at                 DATETIME,
    created_by_kind           TEXT     NOT NULL,
    created_by_name           TEXT     NOT NULL,
    created_by_via            TEXT     NOT NULL DEFAULT '',
    created_by_token_id       TEXT     NOT NULL DEFAULT '',
    created_at                DATETIME NOT NULL,
    updated_at                DATETIME NOT NULL,
    CONSTRAINT findings_seq_key UNIQUE (seq),
    CHECK (kind IN ('manual', 'step_failed', 'objective_missed', 'objective_not_evidenced',
        'dependency_uncovered', 'rollback_failed')),
    CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    CHECK (status IN ('open', 'in_progress', 'fixed', 'retested', 'risk_accepted')),
    CHECK ((status = 'retested') = (closed_by_run_id IS NOT NULL)),
    CHECK ((status = 'risk_accepted') = (risk_accepted_at IS NOT NULL AND risk_reason <> ''))
);
CREATE INDEX findings_status_seq_idx ON findings (status, seq);
CREATE INDEX findings_service_seq_idx ON findings (service, seq);
CREATE INDEX findings_run_id_idx ON findings (run_id);

CREATE TABLE finding_updates (
    id          INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    finding_id  TEXT     NOT NULL REFERENCES findings (id),
    at          DATETIME NOT NULL,
    by_kind     TEXT     NOT NULL,
    by_name     TEXT     NOT NULL,
    by_via      TEXT     NOT NULL DEFAULT '',
    by_token_id TEXT     NOT NULL DEFAULT '',
    changes     TEXT     NOT NULL,
    comment     TEXT     NOT NULL DEFAULT '',
    CHECK (json_valid(changes))
);
CREATE INDEX finding_updates_finding_id_idx ON finding_updates (finding_id, id);

CREATE TABLE run_participants (
    id                   INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    run_id               TEXT     NOT NULL REFERENCES runs (id),
    name                 TEXT     NOT NULL,
    role                 TEXT     NOT NULL,
    intended             BOOLEAN  NOT NULL,
    attended             BOOLEAN  NOT NULL,
    recorded_by_kind     TEXT     NOT NULL,
    recorded_by_name     TEXT     NOT NULL,
    recorded_by_via      TEXT     NOT NULL DEFAULT '',
    recorded_by_token_id TEXT     NOT NULL DEFAULT '',
    at                   DATETIME NOT NULL
);
CREATE INDEX run_participants_run_id_idx ON run_participants (run_id, id);

CREATE TABLE run_notes (
    id          INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    run_id      TEXT     NOT NULL REFERENCES runs (id),
    kind        TEXT     NOT NULL,
    text        TEXT     NOT NULL,
    by_kind     TEXT     NOT NULL,
    by_name     TEXT     NOT NULL,
    by_via      TEXT     NOT NULL DEFAULT '',
    by_token_id TEXT     NOT NULL DEFAULT '',
    at          DATETIME NOT NULL,
    CHECK (kind IN ('deviation', 'lesson'))
);
CREATE INDEX run_notes_run_id_idx ON run_notes (run_id, id);

-- +goose StatementBegin
CREATE TRIGGER finding_updates_no_update BEFORE UPDATE ON finding_updates
BEGIN
    SELECT RAISE(ABORT, 'finding_updates is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER finding_updates_no_delete BEFORE DELETE ON finding_updates
BEGIN
    SELECT RAISE(ABORT, 'finding_updates is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER run_participants_no_update BEFORE UPDATE ON run_participants
BEGIN
    SELECT RAISE(ABORT, 'run_participants is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER run_participants_no_delete BEFORE DELETE ON run_participants
BEGIN
    SELECT RAISE(ABORT, 'run_participants is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER run_notes_no_update BEFORE UPDATE ON run_notes
BEGIN
    SELECT RAISE(ABORT, 'run_notes is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER run_notes_no_delete BEFORE DELETE ON run_notes
BEGIN
    SELECT RAISE(ABORT, 'run_notes is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE run_notes;
DROP TABLE run_participants;
DROP TABLE finding_updates;
DROP TABLE findings;
