-- Audit rows are chained in batches instead of in each writer's transaction (issue 11).
--
-- Until now every run event and operation appended its audit row by updating the one
-- audit_head row, whose lock is held to the commit, WAL flush included: every writer of every
-- run queued on that row, one commit at a time, and 50 drills at once or 10,000 co-due
-- schedules spent most of their time waiting for it (bench/README.md, "Scale").
--
-- Now the trigger (and the inline step functions of 00010) only copies the fact's content into
-- audit_pending, in the fact's transaction, without touching audit_head: writers no longer
-- serialize. firedrill_audit_chain, called by each replica (every 10 ms while facts arrive) and before
-- anything reads the chain (store.AuditChain), takes the head row lock once, appends the
-- pending rows in id order with the same content and hash formula as before, deletes them
-- from audit_pending and moves the head: one lock, one commit for a whole batch. The chain is
-- still one gapless sequence, and a fact is still copied in the transaction that commits it,
-- so nothing committed can escape the log: between its commit and the next chaining it is
-- pending, which verification reports as such (store.AuditVerify) instead of as missing.
--
-- Chain order is the order facts are chained, not an order of their ids: a pending row whose
-- transaction commits after a chaining that took later ids is chained by the next one. Within a
-- run it is the run's event order: a run's events are written under the run's row lock, held to
-- the commit, and take their pending id after it.
--
-- The runtime role has no right on audit_pending (store.RuntimeRoleGrant lists it read-only),
-- so it can neither forge nor alter a pending row; the functions run as the owner. (source,
-- run_id, ref) is unique here as in audit_log, so a fact is never queued twice.

-- +goose Up
CREATE TABLE audit_pending (
    id      bigserial      PRIMARY KEY,
    at      timestamptz(3) NOT NULL,
    source  text           NOT NULL,
    run_id  text           NOT NULL DEFAULT '',
    ref     bigint         NOT NULL,
    content text           NOT NULL,
    CONSTRAINT audit_pending_source_check CHECK (source IN ('run_event', 'operation')),
    CONSTRAINT audit_pending_source_ref_key UNIQUE (source, run_id, ref)
);

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_run_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO public.audit_pending (at, source, run_id, ref, content)
    VALUES (NEW.at, 'run_event', NEW.run_id, NEW.seq, json_build_object(
        'source', 'run_event', 'run_id', NEW.run_id, 'seq', NEW.seq,
        'at', to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'kind', NEW.kind, 'step_key', NEW.step_key, 'message', NEW.message, 'data', NEW.data)::text);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_operation() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO public.audit_pending (at, source, run_id, ref, content)
    VALUES (NEW.at, 'operation', '', NEW.id, json_build_object(
        'source', 'operation', 'id', NEW.id,
        'at', to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'actor', json_build_object('kind', NEW.actor_kind, 'name', NEW.actor_name,
                                    'via', NEW.actor_via, 'token_id', NEW.actor_token_id),
        'operation', NEW.operation, 'target', NEW.target, 'outcome', NEW.outcome,
        'message', NEW.message, 'detail', NEW.detail)::text);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION firedrill_step_start(
    p_run_id text, p_epoch bigint, p_at timestamptz, p_step_id text, p_seq integer, p_step_key text,
    p_step_name text, p_action text, p_site text, p_service text, p_attempt integer, p_idempotent boolean,
    p_timeout_ms bigint, p_data jsonb, p_terminal text[]
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    written integer;
BEGIN
    WITH fence AS (
        UPDATE public.runs SET updated_at = p_at, event_seq = event_seq + 1,
            lease_expires_at = CASE WHEN lease_duration_ms > 0
                THEN p_at + lease_duration_ms * interval '1 millisecond' ELSE lease_expires_at END
        WHERE id = p_run_id AND lease_epoch = p_epoch AND state <> ALL (p_terminal)
        RETURNING id, event_seq
    ), step AS (
        INSERT INTO public.step_results (id, run_id, seq, step_key, step_name, action, site, service, attempt,
                                         state, idempotent, timeout_ms, started_at, error)
        SELECT p_step_id, fence.id, p_seq, p_step_key, p_step_name, p_action, p_site, p_service, p_attempt,
               'running', p_idempotent, p_timeout_ms, p_at, '' FROM fence
        RETURNING id
    ), ev AS (
        INSERT INTO public.run_events (run_id, seq, at, kind, step_key, message, data, audited_inline)
        SELECT p_run_id, fence.event_seq, p_at, 'step_started', p_step_key, p_action, p_data, true FROM step, fence
        RETURNING run_id, seq, at, kind, step_key, message, data
    )
    INSERT INTO public.audit_pending (at, source, run_id, ref, content)
    SELECT ev.at, 'run_event', ev.run_id, ev.seq, json_build_object(
        'source', 'run_event', 'run_id', ev.run_id, 'seq', ev.seq,
        'at', to_char(ev.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'kind', ev.kind, 'step_key', ev.step_key, 'message', ev.message, 'data', ev.data)::text
    FROM ev
    RETURNING ref INTO written;
    RETURN written;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION firedrill_step_finish(
    p_run_id text, p_epoch bigint, p_at timestamptz, p_step_id text, p_state text, p_error text,
    p_evidence jsonb, p_terminal text[]
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    written integer;
BEGIN
    WITH fence AS (
        UPDATE public.runs SET updated_at = p_at, event_seq = event_seq + 1,
            lease_expires_at = CASE WHEN lease_duration_ms > 0
                THEN p_at + lease_duration_ms * interval '1 millisecond' ELSE lease_expires_at END
        WHERE id = p_run_id AND lease_epoch = p_epoch AND state <> ALL (p_terminal)
          AND EXISTS (SELECT 1 FROM public.step_results s WHERE s.id = p_step_id AND s.run_id = p_run_id AND s.ended_at IS NULL)
        RETURNING id, event_seq
    ), step AS (
        UPDATE public.step_results AS s SET state = p_state, ended_at = p_at,
            duration_ms = GREATEST(0, floor(extract(epoch FROM (p_at - s.started_at)) * 1000))::bigint,
            error = p_error, evidence = p_evidence
        WHERE s.id = p_step_id AND s.run_id = p_run_id AND s.ended_at IS NULL AND EXISTS (SELECT 1 FROM fence)
        RETURNING s.step_key, s.attempt, s.duration_ms
    ), ev AS (
        INSERT INTO public.run_events (run_id, seq, at, kind, step_key, message, data, audited_inline)
        SELECT p_run_id, fence.event_seq, p_at, 'step_finished', step.step_key, p_error,
               jsonb_build_object('step_id', p_step_id, 'attempt', step.attempt, 'state', p_state,
                                  'duration_ms', step.duration_ms), true
        FROM step, fence
        RETURNING run_id, seq, at, kind, step_key, message, data
    )
    INSERT INTO public.audit_pending (at, source, run_id, ref, content)
    SELECT ev.at, 'run_event', ev.run_id, ev.seq, json_build_object(
        'source', 'run_event', 'run_id', ev.run_id, 'seq', ev.seq,
        'at', to_char(ev.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'kind', ev.kind, 'step_key', ev.step_key, 'message', ev.message, 'data', ev.data)::text
    FROM ev
    RETURNING ref INTO written;
    RETURN written;
END;
$$;
-- +goose StatementEnd

-- firedrill_audit_chain appends at most p_max pending rows to the chain and returns how many
-- it appended, or -1 when p_wait is false and another transaction holds the head (it is
-- chaining: try again shortly). It reads audit_pending before locking anything, so a call with
-- nothing to do writes nothing and costs no commit. The hashes are computed in id order in a
-- loop (each row's hash is the next one's prev_hash), then the rows are moved in two
-- statements.
-- +goose StatementBegin
CREATE FUNCTION firedrill_audit_chain(p_max integer, p_wait boolean) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    s bigint;
    h text;
    p text;
    r record;
    ids bigint[] := '{}';
    seqs bigint[] := '{}';
    prevs text[] := '{}';
    hashes text[] := '{}';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.audit_pending) THEN
        RETURN 0;
    END IF;
    IF p_wait THEN
        SELECT seq, hash, prev_hash INTO s, h, p FROM public.audit_head WHERE id = 1 FOR UPDATE;
    ELSE
        SELECT seq, hash, prev_hash INTO s, h, p FROM public.audit_head WHERE id = 1 FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            RETURN -1;
        END IF;
    END IF;
    IF s IS NULL THEN
        RAISE EXCEPTION 'the audit_head row is missing';
    END IF;
    -- A new statement, a new snapshot: every row committed before the lock was taken, and
    -- none that an earlier chaining moved.
    FOR r IN SELECT q.id, q.content FROM public.audit_pending q ORDER BY q.id LIMIT p_max LOOP
        s := s + 1;
        p := h;
        h := encode(sha256(convert_to(p || E'\n' || s::text || E'\n' || r.content, 'UTF8')), 'hex');
        ids := ids || r.id;
        seqs := seqs || s;
        prevs := prevs || p;
        hashes := hashes || h;
    END LOOP;
    IF cardinality(ids) = 0 THEN
        RETURN 0;
    END IF;
    INSERT INTO public.audit_log (seq, at, source, run_id, ref, content, prev_hash, hash)
    SELECT u.seq, q.at, q.source, q.run_id, q.ref, q.content, u.prev_hash, u.hash
    FROM unnest(ids, seqs, prevs, hashes) AS u(id, seq, prev_hash, hash)
    JOIN public.audit_pending q ON q.id = u.id
    ORDER BY u.seq;
    DELETE FROM public.audit_pending WHERE id = ANY (ids);
    UPDATE public.audit_head SET seq = s, hash = h, prev_hash = p WHERE id = 1;
    RETURN cardinality(ids);
END;
$$;
-- +goose StatementEnd

-- firedrill_audit_chained_head chains everything pending (waiting for a chaining in progress)
-- and returns the head: one round trip for a reader that needs the chain to cover every fact
-- committed before it asked (a report's export, the caches keyed on the head).
-- +goose StatementBegin
CREATE FUNCTION firedrill_audit_chained_head(OUT seq bigint, OUT hash text)
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    LOOP
        EXIT WHEN public.firedrill_audit_chain(2000, true) < 2000;
    END LOOP;
    SELECT h.seq, h.hash INTO seq, hash FROM public.audit_head h WHERE h.id = 1;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- Chain what is pending first, so that going down loses no fact's audit row.
SELECT firedrill_audit_chain(2147483647, true);
DROP FUNCTION firedrill_audit_chained_head();
DROP FUNCTION firedrill_audit_chain(integer, boolean);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_run_event() RETURNS trigger
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
CREATE OR REPLACE FUNCTION audit_operation() RETURNS trigger
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
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION firedrill_step_start(
    p_run_id text, p_epoch bigint, p_at timestamptz, p_step_id text, p_seq integer, p_step_key text,
    p_step_name text, p_action text, p_site text, p_service text, p_attempt integer, p_idempotent boolean,
    p_timeout_ms bigint, p_data jsonb, p_terminal text[]
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    written integer;
BEGIN
    WITH fence AS (
        UPDATE public.runs SET updated_at = p_at, event_seq = event_seq + 1,
            lease_expires_at = CASE WHEN lease_duration_ms > 0
                THEN p_at + lease_duration_ms * interval '1 millisecond' ELSE lease_expires_at END
        WHERE id = p_run_id AND lease_epoch = p_epoch AND state <> ALL (p_terminal)
        RETURNING id, event_seq
    ), step AS (
        INSERT INTO public.step_results (id, run_id, seq, step_key, step_name, action, site, service, attempt,
                                         state, idempotent, timeout_ms, started_at, error)
        SELECT p_step_id, fence.id, p_seq, p_step_key, p_step_name, p_action, p_site, p_service, p_attempt,
               'running', p_idempotent, p_timeout_ms, p_at, '' FROM fence
        RETURNING id
    ), ev AS (
        INSERT INTO public.run_events (run_id, seq, at, kind, step_key, message, data, audited_inline)
        SELECT p_run_id, fence.event_seq, p_at, 'step_started', p_step_key, p_action, p_data, true FROM step, fence
        RETURNING run_id, seq, at, kind, step_key, message, data
    ), content AS (
        SELECT ev.run_id, ev.seq, ev.at, json_build_object(
            'source', 'run_event', 'run_id', ev.run_id, 'seq', ev.seq,
            'at', to_char(ev.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'kind', ev.kind, 'step_key', ev.step_key, 'message', ev.message, 'data', ev.data)::text AS c
        FROM ev
    ), head AS (
        UPDATE public.audit_head AS h SET seq = h.seq + 1, prev_hash = h.hash,
            hash = encode(sha256(convert_to(h.hash || E'\n' || (h.seq + 1)::text || E'\n' || content.c, 'UTF8')), 'hex')
        FROM content WHERE h.id = 1
        RETURNING h.seq, h.prev_hash, h.hash, content.run_id, content.seq AS ref, content.at, content.c
    )
    INSERT INTO public.audit_log (seq, at, source, run_id, ref, content, prev_hash, hash)
    SELECT head.seq, head.at, 'run_event', head.run_id, head.ref, head.c, head.prev_hash, head.hash FROM head
    RETURNING ref INTO written;
    RETURN written;
END;
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION firedrill_step_finish(
    p_run_id text, p_epoch bigint, p_at timestamptz, p_step_id text, p_state text, p_error text,
    p_evidence jsonb, p_terminal text[]
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    written integer;
BEGIN
    WITH fence AS (
        UPDATE public.runs SET updated_at = p_at, event_seq = event_seq + 1,
            lease_expires_at = CASE WHEN lease_duration_ms > 0
                THEN p_at + lease_duration_ms * interval '1 millisecond' ELSE lease_expires_at END
        WHERE id = p_run_id AND lease_epoch = p_epoch AND state <> ALL (p_terminal)
          AND EXISTS (SELECT 1 FROM public.step_results s WHERE s.id = p_step_id AND s.run_id = p_run_id AND s.ended_at IS NULL)
        RETURNING id, event_seq
    ), step AS (
        UPDATE public.step_results AS s SET state = p_state, ended_at = p_at,
            duration_ms = GREATEST(0, floor(extract(epoch FROM (p_at - s.started_at)) * 1000))::bigint,
            error = p_error, evidence = p_evidence
        WHERE s.id = p_step_id AND s.run_id = p_run_id AND s.ended_at IS NULL AND EXISTS (SELECT 1 FROM fence)
        RETURNING s.step_key, s.attempt, s.duration_ms
    ), ev AS (
        INSERT INTO public.run_events (run_id, seq, at, kind, step_key, message, data, audited_inline)
        SELECT p_run_id, fence.event_seq, p_at, 'step_finished', step.step_key, p_error,
               jsonb_build_object('step_id', p_step_id, 'attempt', step.attempt, 'state', p_state,
                                  'duration_ms', step.duration_ms), true
        FROM step, fence
        RETURNING run_id, seq, at, kind, step_key, message, data
    ), content AS (
        SELECT ev.run_id, ev.seq, ev.at, json_build_object(
            'source', 'run_event', 'run_id', ev.run_id, 'seq', ev.seq,
            'at', to_char(ev.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'kind', ev.kind, 'step_key', ev.step_key, 'message', ev.message, 'data', ev.data)::text AS c
        FROM ev
    ), head AS (
        UPDATE public.audit_head AS h SET seq = h.seq + 1, prev_hash = h.hash,
            hash = encode(sha256(convert_to(h.hash || E'\n' || (h.seq + 1)::text || E'\n' || content.c, 'UTF8')), 'hex')
        FROM content WHERE h.id = 1
        RETURNING h.seq, h.prev_hash, h.hash, content.run_id, content.seq AS ref, content.at, content.c
    )
    INSERT INTO public.audit_log (seq, at, source, run_id, ref, content, prev_hash, hash)
    SELECT head.seq, head.at, 'run_event', head.run_id, head.ref, head.c, head.prev_hash, head.hash FROM head
    RETURNING ref INTO written;
    RETURN written;
END;
$$;
-- +goose StatementEnd
DROP TABLE audit_pending;
