-- The hash-chained audit log: every run event and every control operation is copied, by a
-- trigger in the transaction that inserts it, into audit_log, whose rows form one chain
-- numbered 1, 2, 3, ... Each row stores the previous row's hash and its own:
--
--     hash = hex(sha256(prev_hash || E'\n' || seq || E'\n' || content))
--
-- content is the fact as a JSON object (orchestrator/store/audit.go documents its fields; timestamps
-- are UTC with ms, "2006-01-02T15:04:05.000Z"); the hash covers its stored text exactly, so
-- the encoding never needs to be reproduced to check a link. The first row's prev_hash is 64
-- zeros. Appends are serialized by the single audit_head row, which every append updates (a
-- row lock held to the end of the transaction): the chain cannot fork across replicas.
--
-- The runtime role gets only SELECT on audit_log and audit_head (store.RuntimeRoleGrant); the
-- trigger functions run as the owner (SECURITY DEFINER). events_before / operations_before mark the rows that
-- existed before the log began: they are not in the chain. Keep sqlite/00007_audit_log.sql
-- equivalent (there the store appends, in the same transaction).

-- +goose Up
CREATE TABLE audit_log (
    seq       bigint         PRIMARY KEY,
    at        timestamptz(3) NOT NULL,
    source    text           NOT NULL,
    run_id    text           NOT NULL DEFAULT '',
    ref       bigint         NOT NULL,
    content   text           NOT NULL,
    prev_hash text           NOT NULL,
    hash      text           NOT NULL,
    CONSTRAINT audit_log_source_check CHECK (source IN ('run_event', 'operation')),
    -- Also the index that finds a run's rows (source = 'run_event' AND run_id = ?, by ref).
    CONSTRAINT audit_log_source_ref_key UNIQUE (source, run_id, ref)
);

CREATE TABLE audit_head (
    id                integer PRIMARY KEY,
    seq               bigint  NOT NULL,
    hash              text    NOT NULL,
    prev_hash         text    NOT NULL,
    events_before     bigint  NOT NULL,
    operations_before bigint  NOT NULL,
    CONSTRAINT audit_head_one_row CHECK (id = 1)
);
INSERT INTO audit_head (id, seq, hash, prev_hash, events_before, operations_before)
    SELECT 1, 0, repeat('0', 64), '',
        (SELECT COALESCE(MAX(id), 0) FROM run_events), (SELECT COALESCE(MAX(id), 0) FROM operations);

-- The trigger functions run as the owner (SECURITY DEFINER) so that the runtime role needs no
-- right on audit_head or to INSERT into audit_log. They name their tables with the schema
-- (public) instead of SET search_path, which would cost a configuration save and restore on
-- every event (about half the trigger's time); functions come from pg_catalog, searched
-- first. The hash and the append are written out in each trigger, not shared, for the same
-- reason, and content is built with json_build_object, not jsonb's (a third of the cost). Keep
-- the two in step.

-- +goose StatementBegin
CREATE FUNCTION audit_run_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    s bigint;
    p text;
    h text;
BEGIN
    c := json_build_object(
        'source', 'run_event', 'run_id', NEW.run_id, 'seq', NEW.seq,
        'at', to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'kind', NEW.kind, 'step_key', NEW.step_key, 'message', NEW.message, 'data', NEW.data)::text;
    UPDATE public.audit_head SET seq = seq + 1, prev_hash = hash,
        hash = encode(sha256(convert_to(hash || E'\n' || (seq + 1)::text || E'\n' || c, 'UTF8')), 'hex')
    WHERE id = 1
    RETURNING seq, prev_hash, hash INTO s, p, h;
    INSERT INTO public.audit_log (seq, at, source, run_id, ref, content, prev_hash, hash)
    VALUES (s, NEW.at, 'run_event', NEW.run_id, NEW.seq, c, p, h);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION audit_operation() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    s bigint;
    p text;
    h text;
BEGIN
    c := json_build_object(
        'source', 'operation', 'id', NEW.id,
        'at', to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'actor', json_build_object('kind', NEW.actor_kind, 'name', NEW.actor_name,
                                    'via', NEW.actor_via, 'token_id', NEW.actor_token_id),
        'operation', NEW.operation, 'target', NEW.target, 'outcome', NEW.outcome,
        'message', NEW.message, 'detail', NEW.detail)::text;
    UPDATE public.audit_head SET seq = seq + 1, prev_hash = hash,
        hash = encode(sha256(convert_to(hash || E'\n' || (seq + 1)::text || E'\n' || c, 'UTF8')), 'hex')
    WHERE id = 1
    RETURNING seq, prev_hash, hash INTO s, p, h;
    INSERT INTO public.audit_log (seq, at, source, run_id, ref, content, prev_hash, hash)
    VALUES (s, NEW.at, 'operation', '', NEW.id, c, p, h);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER run_events_audit AFTER INSERT ON run_events
    FOR EACH ROW EXECUTE FUNCTION audit_run_event();
CREATE TRIGGER operations_audit AFTER INSERT ON operations
    FOR EACH ROW EXECUTE FUNCTION audit_operation();
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION firedrill_append_only();

-- +goose Down
DROP TRIGGER operations_audit ON operations;
DROP TRIGGER run_events_audit ON run_events;
DROP FUNCTION audit_operation();
DROP FUNCTION audit_run_event();
DROP TABLE audit_head;
DROP TABLE audit_log;
