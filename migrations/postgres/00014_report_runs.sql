-- The runs each report covers (issue 10: the regulator portal). An auditor reads the runs a
-- published report covers and no other; this table says which those are: exactly the drills of
-- the report's bundle (report.json and runs.csv), written in the export's transaction. Like
-- the report once it is published, its runs never change: the trigger refuses to add, change
-- or remove a published report's rows, whoever asks. Keep sqlite/00014_report_runs.sql
-- equivalent.

-- +goose Up
CREATE TABLE report_runs (
    report_id text NOT NULL REFERENCES reports (id),
    run_id    text NOT NULL REFERENCES runs (id),
    PRIMARY KEY (report_id, run_id)
);
-- Is this run covered by a published report: asked on every run an auditor reads.
CREATE INDEX report_runs_run_id_idx ON report_runs (run_id);

-- The reports exported before this table: the runs their export covered, chosen again as the
-- export chose them (created in the period, ended before the export), before the trigger
-- freezes the published ones.
INSERT INTO report_runs (report_id, run_id)
SELECT reports.id, runs.id FROM reports JOIN runs
    ON runs.created_at >= reports.period_start AND runs.created_at < reports.period_end
    AND runs.state IN ('succeeded', 'failed', 'blocked', 'aborted', 'rolled_back', 'rollback_failed')
    AND runs.ended_at < reports.created_at;

-- +goose StatementBegin
CREATE FUNCTION report_runs_published_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    rid text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        rid := NEW.report_id;
    ELSE
        rid := OLD.report_id;
    END IF;
    IF EXISTS (SELECT 1 FROM reports WHERE id = rid AND state = 'published') THEN
        RAISE EXCEPTION 'report % is published: the runs it covers never change', rid USING ERRCODE = 'P0001';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER report_runs_published_immutable BEFORE INSERT OR UPDATE OR DELETE ON report_runs
    FOR EACH ROW EXECUTE FUNCTION report_runs_published_immutable();

-- +goose Down
DROP TABLE report_runs;
DROP FUNCTION report_runs_published_immutable();
