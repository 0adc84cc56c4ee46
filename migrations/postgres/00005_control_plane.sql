-- The control plane: who acted is stored as a typed actor in columns (kind, name, via, token
-- id), never parsed from a string; people are authenticated by API tokens stored only as
-- SHA-256 hashes; every role grant and revocation, and every control operation, is kept in an
-- append-only table. Keep sqlite/00005_control_plane.sql equivalent.
--
-- Old free-text actors are carried over: a run's triggered_by "cli:x" becomes the local person
-- x via cli, "schedule:x" the schedule x, anything else the system; " (forced: ...)" becomes the
-- forced column. Names typed with --by (approvers, deciders, freezes, pauses, aborts) become
-- local people via cli: they were never authenticated. A stop condition's abort keeps its
-- condition in abort_stop_condition.

-- +goose Up
ALTER TABLE runs
    ADD COLUMN plan_sha256          text    NOT NULL DEFAULT '',
    ADD COLUMN requested_kind       text    NOT NULL DEFAULT '',
    ADD COLUMN requested_name       text    NOT NULL DEFAULT '',
    ADD COLUMN requested_via        text    NOT NULL DEFAULT '',
    ADD COLUMN requested_token_id   text    NOT NULL DEFAULT '',
    ADD COLUMN forced               boolean NOT NULL DEFAULT false,
    ADD COLUMN abort_by_kind        text    NOT NULL DEFAULT '',
    ADD COLUMN abort_by_name        text    NOT NULL DEFAULT '',
    ADD COLUMN abort_by_via         text    NOT NULL DEFAULT '',
    ADD COLUMN abort_by_token_id    text    NOT NULL DEFAULT '',
    ADD COLUMN abort_stop_condition text    NOT NULL DEFAULT '';

UPDATE runs SET plan_sha256 = plans.sha256 FROM plans WHERE plans.id = runs.plan_id;
UPDATE runs SET forced = true, triggered_by = substr(triggered_by, 1, strpos(triggered_by, ' (forced: ') - 1)
    WHERE strpos(triggered_by, ' (forced: ') > 0;
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
-- The run list filters by requester and schedule, newest first, paged on (created_at, id).
CREATE INDEX runs_requested_name_created_at_idx ON runs (requested_name, created_at DESC, id DESC);
CREATE INDEX runs_schedule_name_created_at_idx ON runs (schedule_name, created_at DESC, id DESC);
CREATE INDEX runs_state_created_at_idx ON runs (state, created_at DESC, id DESC);

ALTER TABLE approvals RENAME COLUMN approver TO approver_name;
ALTER TABLE approvals
    ADD COLUMN approver_kind     text NOT NULL DEFAULT '',
    ADD COLUMN approver_via      text NOT NULL DEFAULT '',
    ADD COLUMN approver_token_id text NOT NULL DEFAULT '';
UPDATE approvals SET approver_kind = 'local', approver_via = 'cli';

ALTER TABLE step_decisions
    ADD COLUMN decided_by_kind     text NOT NULL DEFAULT '',
    ADD COLUMN decided_by_name     text NOT NULL DEFAULT '',
    ADD COLUMN decided_by_via      text NOT NULL DEFAULT '',
    ADD COLUMN decided_by_token_id text NOT NULL DEFAULT '';
UPDATE step_decisions SET decided_by_kind = 'local', decided_by_via = 'cli',
    decided_by_name = CASE WHEN decided_by LIKE 'cli:_%' THEN substr(decided_by, 5) ELSE decided_by END;
ALTER TABLE step_decisions DROP COLUMN decided_by;

ALTER TABLE freezes
    ADD COLUMN set_by_kind        text NOT NULL DEFAULT '',
    ADD COLUMN set_by_name        text NOT NULL DEFAULT '',
    ADD COLUMN set_by_via         text NOT NULL DEFAULT '',
    ADD COLUMN set_by_token_id    text NOT NULL DEFAULT '',
    ADD COLUMN lifted_by_kind     text NOT NULL DEFAULT '',
    ADD COLUMN lifted_by_name     text NOT NULL DEFAULT '',
    ADD COLUMN lifted_by_via      text NOT NULL DEFAULT '',
    ADD COLUMN lifted_by_token_id text NOT NULL DEFAULT '';
UPDATE freezes SET set_by_kind = 'local', set_by_via = 'cli',
    set_by_name = CASE WHEN set_by LIKE 'cli:_%' THEN substr(set_by, 5) ELSE set_by END;
UPDATE freezes SET lifted_by_kind = 'local', lifted_by_via = 'cli',
    lifted_by_name = CASE WHEN lifted_by LIKE 'cli:_%' THEN substr(lifted_by, 5) ELSE lifted_by END
    WHERE lifted_by <> '';
ALTER TABLE freezes DROP COLUMN set_by;
ALTER TABLE freezes DROP COLUMN lifted_by;

-- At most one freeze is on, whatever concurrent requests do.
CREATE UNIQUE INDEX freezes_one_active_key ON freezes ((lifted_at IS NULL)) WHERE lifted_at IS NULL;

ALTER TABLE schedules
    ADD COLUMN paused_by_kind     text NOT NULL DEFAULT '',
    ADD COLUMN paused_by_name     text NOT NULL DEFAULT '',
    ADD COLUMN paused_by_via      text NOT NULL DEFAULT '',
    ADD COLUMN paused_by_token_id text NOT NULL DEFAULT '';
UPDATE schedules SET paused_by_kind = 'system', paused_by_name = 'estate' WHERE paused_by = 'estate';
UPDATE schedules SET paused_by_kind = 'local', paused_by_via = 'cli', paused_by_name = paused_by
    WHERE paused_by NOT IN ('', 'estate');
ALTER TABLE schedules DROP COLUMN paused_by;

ALTER TABLE users
    ADD COLUMN created_by_kind      text NOT NULL DEFAULT '',
    ADD COLUMN created_by_name      text NOT NULL DEFAULT '',
    ADD COLUMN created_by_via       text NOT NULL DEFAULT '',
    ADD COLUMN created_by_token_id  text NOT NULL DEFAULT '',
    ADD COLUMN disabled_at          timestamptz(3),
    ADD COLUMN disabled_by_kind     text NOT NULL DEFAULT '',
    ADD COLUMN disabled_by_name     text NOT NULL DEFAULT '',
    ADD COLUMN disabled_by_via      text NOT NULL DEFAULT '',
    ADD COLUMN disabled_by_token_id text NOT NULL DEFAULT '';
UPDATE users SET created_by_kind = 'system', created_by_name = 'legacy';
UPDATE users SET disabled_at = updated_at, disabled_by_kind = 'system', disabled_by_name = 'legacy' WHERE disabled;

-- Every grant and revocation of a role, in the transaction of the change.
CREATE TABLE role_grants (
    id          text           PRIMARY KEY,
    user_name   text           NOT NULL REFERENCES users (name),
    role        text           NOT NULL,
    change      text           NOT NULL,
    by_kind     text           NOT NULL,
    by_name     text           NOT NULL,
    by_via      text           NOT NULL DEFAULT '',
    by_token_id text           NOT NULL DEFAULT '',
    at          timestamptz(3) NOT NULL,
    CONSTRAINT role_grants_change_check CHECK (change IN ('grant', 'revoke'))
);
CREATE INDEX role_grants_user_name_at_idx ON role_grants (user_name, at);
INSERT INTO role_grants (id, user_name, role, change, by_kind, by_name, at)
    SELECT 'legacy:' || u.name || ':' || r.role, u.name, r.role, 'grant', 'system', 'legacy', u.created_at
    FROM users u, jsonb_array_elements_text(u.roles) AS r(role);

-- API tokens. Only the SHA-256 of a token is kept; the token itself is shown once.
CREATE TABLE api_tokens (
    id                  text           PRIMARY KEY,
    user_name           text           NOT NULL REFERENCES users (name),
    description         text           NOT NULL DEFAULT '',
    secret_hash         text           NOT NULL,
    roles               jsonb          NOT NULL,
    created_at          timestamptz(3) NOT NULL,
    created_by_kind     text           NOT NULL,
    created_by_name     text           NOT NULL,
    created_by_via      text           NOT NULL DEFAULT '',
    created_by_token_id text           NOT NULL DEFAULT '',
    expires_at          timestamptz(3) NOT NULL,
    last_used_at        timestamptz(3),
    revoked_at          timestamptz(3),
    revoked_by_kind     text           NOT NULL DEFAULT '',
    revoked_by_name     text           NOT NULL DEFAULT '',
    revoked_by_via      text           NOT NULL DEFAULT '',
    revoked_by_token_id text           NOT NULL DEFAULT '',
    CONSTRAINT api_tokens_secret_hash_key UNIQUE (secret_hash)
);
CREATE INDEX api_tokens_user_name_idx ON api_tokens (user_name);

-- Every operation a person (or firedrill) took through the control plane, allowed or not.
CREATE TABLE operations (
    id             bigint         GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at             timestamptz(3) NOT NULL,
    actor_kind     text           NOT NULL,
    actor_name     text           NOT NULL,
    actor_via      text           NOT NULL DEFAULT '',
    actor_token_id text           NOT NULL DEFAULT '',
    operation      text           NOT NULL,
    target         text           NOT NULL DEFAULT '',
    outcome        text           NOT NULL,
    message        text           NOT NULL DEFAULT '',
    detail         jsonb,
    CONSTRAINT operations_outcome_check CHECK (outcome IN ('ok', 'denied', 'failed'))
);
CREATE INDEX operations_at_idx ON operations (at);
CREATE INDEX operations_target_idx ON operations (target);

-- +goose StatementBegin
CREATE FUNCTION firedrill_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER operations_append_only
    BEFORE UPDATE OR DELETE ON operations
    FOR EACH ROW EXECUTE FUNCTION firedrill_append_only();
CREATE TRIGGER role_grants_append_only
    BEFORE UPDATE OR DELETE ON role_grants
    FOR EACH ROW EXECUTE FUNCTION firedrill_append_only();

-- +goose Down
DROP TABLE operations;
DROP INDEX freezes_one_active_key;
DROP TABLE api_tokens;
DROP TABLE role_grants;
DROP FUNCTION firedrill_append_only();

ALTER TABLE users
    DROP COLUMN created_by_kind, DROP COLUMN created_by_name, DROP COLUMN created_by_via,
    DROP COLUMN created_by_token_id, DROP COLUMN disabled_at, DROP COLUMN disabled_by_kind,
    DROP COLUMN disabled_by_name, DROP COLUMN disabled_by_via, DROP COLUMN disabled_by_token_id;

ALTER TABLE schedules ADD COLUMN paused_by text NOT NULL DEFAULT '';
UPDATE schedules SET paused_by = paused_by_name;
ALTER TABLE schedules
    DROP COLUMN paused_by_kind, DROP COLUMN paused_by_name, DROP COLUMN paused_by_via, DROP COLUMN paused_by_token_id;

ALTER TABLE freezes ADD COLUMN set_by text NOT NULL DEFAULT '', ADD COLUMN lifted_by text NOT NULL DEFAULT '';
UPDATE freezes SET set_by = set_by_name, lifted_by = lifted_by_name;
ALTER TABLE freezes
    DROP COLUMN set_by_kind, DROP COLUMN set_by_name, DROP COLUMN set_by_via, DROP COLUMN set_by_token_id,
    DROP COLUMN lifted_by_kind, DROP COLUMN lifted_by_name, DROP COLUMN lifted_by_via, DROP COLUMN lifted_by_token_id;

ALTER TABLE step_decisions ADD COLUMN decided_by text NOT NULL DEFAULT '';
UPDATE step_decisions SET decided_by = decided_by_name;
ALTER TABLE step_decisions
    DROP COLUMN decided_by_kind, DROP COLUMN decided_by_name, DROP COLUMN decided_by_via, DROP COLUMN decided_by_token_id;

ALTER TABLE approvals DROP COLUMN approver_kind, DROP COLUMN approver_via, DROP COLUMN approver_token_id;
ALTER TABLE approvals RENAME COLUMN approver_name TO approver;

DROP INDEX runs_state_created_at_idx;
DROP INDEX runs_schedule_name_created_at_idx;
DROP INDEX runs_requested_name_created_at_idx;
ALTER TABLE runs ADD COLUMN triggered_by text NOT NULL DEFAULT '', ADD COLUMN abort_requested_by text NOT NULL DEFAULT '';
UPDATE runs SET triggered_by = CASE requested_kind
        WHEN 'local' THEN 'cli:' || requested_name
        WHEN 'user' THEN 'cli:' || requested_name
        WHEN 'schedule' THEN 'schedule:' || requested_name
        ELSE requested_name END
    || CASE WHEN forced THEN ' (forced: dependency validation skipped)' ELSE '' END;
UPDATE runs SET abort_requested_by = CASE abort_by_kind
        WHEN 'stop_condition' THEN 'firedrill (stop condition) ' || abort_by_name
        ELSE abort_by_name END;
ALTER TABLE runs
    DROP COLUMN plan_sha256, DROP COLUMN requested_kind, DROP COLUMN requested_name, DROP COLUMN requested_via,
    DROP COLUMN requested_token_id, DROP COLUMN forced, DROP COLUMN abort_by_kind, DROP COLUMN abort_by_name,
    DROP COLUMN abort_by_via, DROP COLUMN abort_by_token_id, DROP COLUMN abort_stop_condition;
