-- See postgres/00012_reports.sql.

-- +goose Up
CREATE TABLE reports (
    id                      TEXT     NOT NULL PRIMARY KEY,
    version                 INTEGER  NOT NULL CHECK (version >= 1),
    replaces_id             TEXT     REFERENCES reports (id),
    profile                 TEXT     NOT NULL,
    period                  TEXT     NOT NULL,
    period_start            DATETIME NOT NULL,
    period_end              DATETIME NOT NULL,
    lang                    TEXT     NOT NULL,
    state                   TEXT     NOT NULL CHECK (state IN ('draft', 'published')),
    created_by_kind         TEXT     NOT NULL,
    created_by_name         TEXT     NOT NULL,
    created_by_via          TEXT     NOT NULL DEFAULT '',
    created_by_token_id     TEXT     NOT NULL DEFAULT '',
    created_at              DATETIME NOT NULL,
    published_by_kind       TEXT     NOT NULL DEFAULT '',
    published_by_name       TEXT     NOT NULL DEFAULT '',
    published_by_via        TEXT     NOT NULL DEFAULT '',
    published_by_token_id   TEXT     NOT NULL DEFAULT '',
    published_at            DATETIME,
    manifest_sha256         TEXT     NOT NULL,
    size                    INTEGER  NOT NULL,
    signing_key_fingerprint TEXT     NOT NULL,
    CHECK ((state = 'published') = (published_at IS NOT NULL))
);
CREATE INDEX reports_created_at_idx ON reports (created_at DESC, id DESC);
CREATE INDEX reports_state_created_at_idx ON reports (state, created_at DESC, id DESC);

CREATE TABLE report_chunks (
    report_id TEXT    NOT NULL REFERENCES reports (id),
    n         INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (report_id, n)
);

-- +goose StatementBegin
CREATE TRIGGER reports_published_no_update BEFORE UPDATE ON reports
WHEN OLD.state = 'published'
BEGIN
    SELECT RAISE(ABORT, 'report is published: it never changes (a correction is a new version)');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER reports_published_no_delete BEFORE DELETE ON reports
WHEN OLD.state = 'published'
BEGIN
    SELECT RAISE(ABORT, 'report is published: it never changes (a correction is a new version)');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER report_chunks_published_no_insert BEFORE INSERT ON report_chunks
WHEN EXISTS (SELECT 1 FROM reports WHERE id = NEW.report_id AND state = 'published')
BEGIN
    SELECT RAISE(ABORT, 'report is published: its bundle never changes');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER report_chunks_published_no_update BEFORE UPDATE ON report_chunks
WHEN EXISTS (SELECT 1 FROM reports WHERE id = OLD.report_id AND state = 'published')
BEGIN
    SELECT RAISE(ABORT, 'report is published: its bundle never changes');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER report_chunks_published_no_delete BEFORE DELETE ON report_chunks
WHEN EXISTS (SELECT 1 FROM reports WHERE id = OLD.report_id AND state = 'published')
BEGIN
    SELECT RAISE(ABORT, 'report is published: its bundle never changes');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE report_chunks;
DROP TABLE reports;
