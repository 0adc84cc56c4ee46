-- See postgres/00014_report_runs.sql.

-- +goose Up
CREATE TABLE report_runs (
    report_id TEXT NOT NULL REFERENCES reports (id),
    run_id    TEXT NOT NULL REFERENCES runs (id),
    PRIMARY KEY (report_id, run_id)
);
CREATE INDEX report_runs_run_id_idx ON report_runs (run_id);

-- The reports exported before this table (see postgres/00014_report_runs.sql).
INSERT INTO report_runs (report_id, run_id)
SELECT reports.id, runs.id FROM reports JOIN runs
    ON runs.created_at >= reports.period_start AND runs.created_at < reports.period_end
    AND runs.state IN ('succeeded', 'failed', 'blocked', 'aborted', 'rolled_back', 'rollback_failed')
    AND runs.ended_at < reports.created_at;

-- +goose StatementBegin
CREATE TRIGGER report_runs_published_no_insert BEFORE INSERT ON report_runs
WHEN EXISTS (SELECT 1 FROM reports WHERE id = NEW.report_id AND state = 'published')
BEGIN
    SELECT RAISE(ABORT, 'report is published: the runs it covers never change');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER report_runs_published_no_update BEFORE UPDATE ON report_runs
WHEN EXISTS (SELECT 1 FROM reports WHERE id = OLD.report_id AND state = 'published')
BEGIN
    SELECT RAISE(ABORT, 'report is published: the runs it covers never change');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER report_runs_published_no_delete BEFORE DELETE ON report_runs
WHEN EXISTS (SELECT 1 FROM reports WHERE id = OLD.report_id AND state = 'published')
BEGIN
    SELECT RAISE(ABORT, 'report is published: the runs it covers never change');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE report_runs;
