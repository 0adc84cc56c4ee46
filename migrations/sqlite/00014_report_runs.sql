-- See postgres/00014_report_runs.sql.

-- +goose Up
CREATE TABLE report_runs (
    report_id TEXT NOT NULL REFERENCES reports (id),
    run_id    TEXT NOT NULL REFERENCES runs (id),
    PRIMARY KEY (report_id, run_id)
);
CREATE INDEX report_runs_run_id_idx ON report_runs (run_id);

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
