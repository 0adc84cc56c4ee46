-- The control plane: typed actors, API tokens, role grants and the operations log.
-- See postgres/00005_control_plane.sql (the backfill rules are the same). SQLite adds and drops
-- one column per statement.

-- +goose Up
ALTER TABLE runs ADD COLUMN plan_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN requested_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN requested_name TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN requested_via TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN requested_token_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN forced BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE runs ADD COLUMN abort_by_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN abort_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN abort_by_via TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN abort_by_token_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN abort_stop_condition TEXT NOT NULL DEFAULT '';

UPDATE runs SET plan_sha256 = COALESCE((SELECT sha256 FROM plans WHERE plans.id = runs.plan_id), '');
UPDATE runs SET forced = true, triggered_by = substr(triggered_by, 1, instr(triggered_by, ' (forced: ') - 1)
    WHERE instr(triggered_by, ' (forced: ') > 0;
UPDATE runs SET requested_kind = 'local', requested_name = substr(triggered_by, 5), requested_via = 'cli'
    WHERE triggered_by LIKE 'cli:_%';
UPDATE runs SET requested_kind = 'schedule', requested_name = substr(triggered_by, 10)
    WHERE triggered_by LIKE 'schedule:_%';
UPDATE runs SET requested_kind = 'system', requested_name = CASE WHEN triggered_by = '' THEN 'unknown' ELSE triggered_by END
    WHERE requested_kind = '';
UPDATE runs SET abort_by_kind = 'stop_condition', abort_by_name = substr(abort_requested_by, 28),
        abort_stop_condition = substr(abort_requested_by, 28)
    WHERE abort_requested_by LIKE 'firedrill (stop condition) _%';
UPDATE runs SET abort_by_kind = 'local', abort_by_via = 'cli',
        abort_by_name = CASE WHEN abort_requested_by LIKE 'cli:_%' THEN substr(abort_requested_by, 5) ELSE abort_requested_by END
    WHERE abort_requested_by <> '' AND abort_by_kind = '';
UPDATE runs SET abort_by_kind = 'system', abort_by_name = 'unknown'
    WHERE abort_requested_at IS NOT NULL AND abort_by_kind = '';
ALTER TABLE runs DROP COLUMN triggered_by;
ALTER TABLE runs DROP COLUMN abort_requested_by;
CREATE INDEX runs_requested_name_created_at_idx ON runs (requested_name, created_at DESC, id DESC);
CREATE INDEX runs_schedule_name_created_at_idx ON runs (schedule_name, created_at DESC, id DESC);
CREATE INDEX runs_state_created_at_idx ON runs (state, created_at DESC, id DESC);

ALTER TABLE approvals RENAME COLUMN approver TO approver_name;
ALTER TABLE approvals ADD COLUMN approver_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN approver_via TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN approver_token_id TEXT NOT NULL DEFAULT '';
UPDATE approvals SET approver_kind = 'local', approver_via = 'cli';

ALTER TABLE step_decisions ADD COLUMN decided_by_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE step_decisions ADD COLUMN decided_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE step_decisions ADD COLUMN decided_by_via TEXT NOT NULL DEFAULT '';
ALTER TABLE step_decisions ADD COLUMN decided_by_token_id TEXT NOT NULL DEFAULT '';
UPDATE step_decisions SET decided_by_kind = 'local', decided_by_via = 'cli',
    decided_by_name = CASE WHEN decided_by LIKE 'cli:_%' THEN substr(decided_by, 5) ELSE decided_by END;
ALTER TABLE step_decisions DROP COLUMN decided_by;

ALTER TABLE freezes ADD COLUMN set_by_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE freezes ADD COLUMN set_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE freezes ADD COLUMN set_by_via TEXT NOT NULL DEFAULT '';
ALTER TABLE freezes ADD COLUMN set_by_token_id TEXT NOT NULL DEFAULT '';
ALTER TABLE freezes ADD COLUMN lifted_by_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE freezes ADD COLUMN lifted_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE freezes ADD COLUMN lifted_by_via TEXT NOT NULL DEFAULT '';
ALTER TABLE freezes ADD COLUMN lifted_by_token_id TEXT NOT NULL DEFAULT '';
UPDATE freezes SET set_by_kind = 'local', set_by_via = 'cli',
    set_by_name = CASE WHEN set_by LIKE 'cli:_%' THEN substr(set_by, 5) ELSE set_by END;
UPDATE freezes SET lifted_by_kind = 'local', lifted_by_via = 'cli',
    lifted_by_name = CASE WHEN lifted_by LIKE 'cli:_%' THEN substr(lifted_by, 5) ELSE lifted_by END
    WHERE lifted_by <> '';
ALTER TABLE freezes DROP COLUMN set_by;
ALTER TABLE freezes DROP COLUMN lifted_by;

-- At most one freeze is on, whatever concurrent requests do.
CREATE UNIQUE INDEX freezes_one_active_key ON freezes ((lifted_at IS NULL)) WHERE lifted_at IS NULL;

ALTER TABLE schedules ADD COLUMN paused_by_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN paused_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN paused_by_via TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN paused_by_token_id TEXT NOT NULL DEFAULT '';
UPDATE schedules SET paused_by_kind = 'system', paused_by_name = 'estate' WHERE paused_by = 'estate';
UPDATE schedules SET paused_by_kind = 'local', paused_by_via = 'cli', paused_by_name = paused_by
    WHERE paused_by NOT IN ('', 'estate');
ALTER TABLE schedules DROP COLUMN paused_by;

ALTER TABLE users ADD COLUMN created_by_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN created_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN created_by_via TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN created_by_token_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled_at DATETIME;
ALTER TABLE users ADD COLUMN disabled_by_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled_by_via TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled_by_token_id TEXT NOT NULL DEFAULT '';
UPDATE users SET created_by_kind = 'system', created_by_name = 'legacy';
UPDATE users SET disabled_at = updated_at, disabled_by_kind = 'system', disabled_by_name = 'legacy' WHERE disabled;

CREATE TABLE role_grants (
    id          TEXT     NOT NULL PRIMARY KEY,
    user_name   TEXT     NOT NULL REFERENCES users (name),
    role        TEXT     NOT NULL,
    change      TEXT     NOT NULL,
    by_kind     TEXT     NOT NULL,
    by_name     TEXT     NOT NULL,
    by_via      TEXT     NOT NULL DEFAULT '',
    by_token_id TEXT     NOT NULL DEFAULT '',
    at          DATETIME NOT NULL,
    CHECK (change IN ('grant', 'revoke'))
);
CREATE INDEX role_grants_user_name_at_idx ON role_grants (user_name, at);
INSERT INTO role_grants (id, user_name, role, change, by_kind, by_name, at)
    SELECT 'legacy:' || u.name || ':' || r.value, u.name, r.value, 'grant', 'system', 'legacy', u.created_at
    FROM users u, json_each(u.roles) AS r;

CREATE TABLE api_tokens (
    id                  TEXT     NOT NULL PRIMARY KEY,
    user_name           TEXT     NOT NULL REFERENCES users (name),
    description         TEXT     NOT NULL DEFAULT '',
    secret_hash         TEXT     NOT NULL,
    roles               TEXT     NOT NULL,
    created_at          DATETIME NOT NULL,
    created_by_kind     TEXT     NOT NULL,
    created_by_name     TEXT     NOT NULL,
    created_by_via      TEXT     NOT NULL DEFAULT '',
    created_by_token_id TEXT     NOT NULL DEFAULT '',
    expires_at          DATETIME NOT NULL,
    last_used_at        DATETIME,
    revoked_at          DATETIME,
    revoked_by_kind     TEXT     NOT NULL DEFAULT '',
    revoked_by_name     TEXT     NOT NULL DEFAULT '',
    revoked_by_via      TEXT     NOT NULL DEFAULT '',
    revoked_by_token_id TEXT     NOT NULL DEFAULT '',
    CONSTRAINT api_tokens_secret_hash_key UNIQUE (secret_hash),
    CHECK (json_valid(roles))
);
CREATE INDEX api_tokens_user_name_idx ON api_tokens (user_name);

CREATE TABLE operations (
    id             INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    at             DATETIME NOT NULL,
    actor_kind     TEXT     NOT NULL,
    actor_name     TEXT     NOT NULL,
    actor_via      TEXT     NOT NULL DEFAULT '',
    actor_token_id TEXT     NOT NULL DEFAULT '',
    operation      TEXT     NOT NULL,
    target         TEXT     NOT NULL DEFAULT '',
    outcome        TEXT     NOT NULL,
    message        TEXT     NOT NULL DEFAULT '',
    detail         TEXT,
    CHECK (outcome IN ('ok', 'denied', 'failed')),
    CHECK (detail IS NULL OR json_valid(detail))
);
CREATE INDEX operations_at_idx ON operations (at);
CREATE INDEX operations_target_idx ON operations (target);

-- +goose StatementBegin
CREATE TRIGGER operations_no_update BEFORE UPDATE ON operations
BEGIN
    SELECT RAISE(ABORT, 'operations is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER operations_no_delete BEFORE DELETE ON operations
BEGIN
    SELECT RAISE(ABORT, 'operations is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER role_grants_no_update BEFORE UPDATE ON role_grants
BEGIN
    SELECT RAISE(ABORT, 'role_grants is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER role_grants_no_delete BEFORE DELETE ON role_grants
BEGIN
    SELECT RAISE(ABORT, 'role_grants is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE operations;
DROP INDEX freezes_one_active_key;
DROP TABLE api_tokens;
DROP TABLE role_grants;

ALTER TABLE users DROP COLUMN created_by_kind;
ALTER TABLE users DROP COLUMN created_by_name;
ALTER TABLE users DROP COLUMN created_by_via;
ALTER TABLE users DROP COLUMN created_by_token_id;
ALTER TABLE users DROP COLUMN disabled_at;
ALTER TABLE users DROP COLUMN disabled_by_kind;
ALTER TABLE users DROP COLUMN disabled_by_name;
ALTER TABLE users DROP COLUMN disabled_by_via;
ALTER TABLE users DROP COLUMN disabled_by_token_id;

ALTER TABLE schedules ADD COLUMN paused_by TEXT NOT NULL DEFAULT '';
UPDATE schedules SET paused_by = paused_by_name;
ALTER TABLE schedules DROP COLUMN paused_by_kind;
ALTER TABLE schedules DROP COLUMN paused_by_name;
ALTER TABLE schedules DROP COLUMN paused_by_via;
ALTER TABLE schedules DROP COLUMN paused_by_token_id;

ALTER TABLE freezes ADD COLUMN set_by TEXT NOT NULL DEFAULT '';
ALTER TABLE freezes ADD COLUMN lifted_by TEXT NOT NULL DEFAULT '';
UPDATE freezes SET set_by = set_by_name, lifted_by = lifted_by_name;
ALTER TABLE freezes DROP COLUMN set_by_kind;
ALTER TABLE freezes DROP COLUMN set_by_name;
ALTER TABLE freezes DROP COLUMN set_by_via;
ALTER TABLE freezes DROP COLUMN set_by_token_id;
ALTER TABLE freezes DROP COLUMN lifted_by_kind;
ALTER TABLE freezes DROP COLUMN lifted_by_name;
ALTER TABLE freezes DROP COLUMN lifted_by_via;
ALTER TABLE freezes DROP COLUMN lifted_by_token_id;

ALTER TABLE step_decisions ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';
UPDATE step_decisions SET decided_by = decided_by_name;
ALTER TABLE step_decisions DROP COLUMN decided_by_kind;
ALTER TABLE step_decisions DROP COLUMN decided_by_name;
ALTER TABLE step_decisions DROP COLUMN decided_by_via;
ALTER TABLE step_decisions DROP COLUMN decided_by_token_id;

ALTER TABLE approvals DROP COLUMN approver_kind;
ALTER TABLE approvals DROP COLUMN approver_via;
ALTER TABLE approvals DROP COLUMN approver_token_id;
ALTER TABLE approvals RENAME COLUMN approver_name TO approver;

DROP INDEX runs_state_created_at_idx;
DROP INDEX runs_schedule_name_created_at_idx;
DROP INDEX runs_requested_name_created_at_idx;
ALTER TABLE runs ADD COLUMN triggered_by TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN abort_requested_by TEXT NOT NULL DEFAULT '';
UPDATE runs SET triggered_by = CASE requested_kind
        WHEN 'local' THEN 'cli:' || requested_name
        WHEN 'user' THEN 'cli:' || requested_name
        WHEN 'schedule' THEN 'schedule:' || requested_name
        ELSE requested_name END
    || CASE WHEN forced THEN ' (forced: dependency validation skipped)' ELSE '' END;
UPDATE runs SET abort_requested_by = CASE abort_by_kind
        WHEN 'stop_condition' THEN 'firedrill (stop condition) ' || abort_by_name
        ELSE abort_by_name END;
ALTER TABLE runs DROP COLUMN plan_sha256;
ALTER TABLE runs DROP COLUMN requested_kind;
ALTER TABLE runs DROP COLUMN requested_name;
ALTER TABLE runs DROP COLUMN requested_via;
ALTER TABLE runs DROP COLUMN requested_token_id;
ALTER TABLE runs DROP COLUMN forced;
ALTER TABLE runs DROP COLUMN abort_by_kind;
ALTER TABLE runs DROP COLUMN abort_by_name;
ALTER TABLE runs DROP COLUMN abort_by_via;
ALTER TABLE runs DROP COLUMN abort_by_token_id;
ALTER TABLE runs DROP COLUMN abort_stop_condition;
