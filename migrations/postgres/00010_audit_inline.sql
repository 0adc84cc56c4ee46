-- A step's start and finish append their audit row in the statement that writes them, instead
-- of by the run_events trigger (issue 8: the trigger's per-row cost put the per-step overhead
-- over its target). Both writes become SECURITY DEFINER functions owned by the owner, so the
-- runtime role still needs no right on audit_log or audit_head and cannot forge a row: the
-- content is built from the event row the same statement inserts, in the format of
-- 00007_audit_log.sql (orchestrator/store/audit.go), and the append takes the same audit_head
-- row lock, so there is still one gapless chain.
--
-- run_events.audited_inline marks the events these functions insert; the trigger skips them
-- (its WHEN is evaluated without calling the function), so the trigger and the inline path
-- never both write, and every other insert is audited by the trigger as before. The runtime
-- role may not write the column (store.RuntimeRoleGrant grants INSERT on the other columns
-- only), so it cannot mark an event of its own as audited to skip its audit row; the unique
-- (source, run_id, ref) key of audit_log forbids a second row for one event.
--
-- runs_lease_expires_at_idx goes: every step's fence (start and finish) moves lease_expires_at,
-- and an UPDATE that changes an indexed column cannot be HOT, so each step wrote two new
-- entries into every one of the run's nine indexes. No query needs it: the claim
-- (store.RunClaimNext) selects by state through runs_state_created_at_idx, among the few runs
-- in a claimable state, and filters the lease there. Without it the fence changes no indexed
-- column (updated_at, event_seq, lease_expires_at) and the run's row is updated in place.
--
-- The fence (the first CTE) is fencedTx's: it touches the run at the caller's epoch, extends its
-- lease and takes the next timeline number; its extra condition in step_finish makes a fence
-- that passes always lead to an event, so no number is given out for nothing. The UPDATE
-- row-locks the run, and a writer that waited for the lock re-reads the row, so event_seq + 1
-- is always the next free number (00004_event_seq.sql).
--
-- The functions take the terminal run states as an argument (drills.RunStates is their one
-- definition) and write exactly what store/fastpath_pg.go's statements wrote before. Keep
-- sqlite/00010_audit_inline.sql equivalent (there the column exists and stays false: the store
-- appends every audit row itself).

-- +goose Up
DROP INDEX runs_lease_expires_at_idx;

ALTER TABLE run_events ADD COLUMN audited_inline boolean NOT NULL DEFAULT false;

DROP TRIGGER run_events_audit ON run_events;
CREATE TRIGGER run_events_audit AFTER INSERT ON run_events
    FOR EACH ROW WHEN (NOT NEW.audited_inline) EXECUTE FUNCTION audit_run_event();

-- +goose StatementBegin
CREATE FUNCTION firedrill_step_start(
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
CREATE FUNCTION firedrill_step_finish(
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

-- +goose Down
DROP FUNCTION firedrill_step_finish(text, bigint, timestamptz, text, text, text, jsonb, text[]);
DROP FUNCTION firedrill_step_start(text, bigint, timestamptz, text, integer, text, text, text, text, text, integer,
                                   boolean, bigint, jsonb, text[]);
DROP TRIGGER run_events_audit ON run_events;
CREATE TRIGGER run_events_audit AFTER INSERT ON run_events
    FOR EACH ROW EXECUTE FUNCTION audit_run_event();
ALTER TABLE run_events DROP COLUMN audited_inline;
CREATE INDEX runs_lease_expires_at_idx ON runs (lease_expires_at);
