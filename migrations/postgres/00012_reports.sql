-- Compliance report bundles (issue 9, part C). A report row names what was reported (profile,
-- period, language), who exported it and, once published, who signed it off; its bundle (the
-- signed zip) is kept in report_chunks, 1 MiB a row, so export and download stream on both
-- dialects and every replica serves the same bytes. A published report never changes: the
-- triggers below refuse to update or delete a published row or its chunks, whoever asks (the
-- runtime role included). A correction is a new report, version + 1, naming in replaces_id the
-- published report it replaces. Keep sqlite/00012_reports.sql equivalent.

-- +goose Up
CREATE TABLE reports (
    id                      text           PRIMARY KEY,
    version                 integer        NOT NULL,
    replaces_id             text           REFERENCES reports (id),
    profile                 text           NOT NULL,
    period                  text           NOT NULL,
    period_start            timestamptz(3) NOT NULL,
    period_end              timestamptz(3) NOT NULL,
    lang                    text           NOT NULL,
    state                   text           NOT NULL,
    created_by_kind         text           NOT NULL,
    created_by_name         text           NOT NULL,
    created_by_via          text           NOT NULL DEFAULT '',
    created_by_token_id     text           NOT NULL DEFAULT '',
    created_at              timestamptz(3) NOT NULL,
    published_by_kind       text           NOT NULL DEFAULT '',
    published_by_name       text           NOT NULL DEFAULT '',
    published_by_via        text           NOT NULL DEFAULT '',
    published_by_token_id   text           NOT NULL DEFAULT '',
    published_at            timestamptz(3),
    manifest_sha256         text           NOT NULL,
    size                    bigint         NOT NULL,
    signing_key_fingerprint text           NOT NULL,
    CONSTRAINT reports_state_check CHECK (state IN ('draft', 'published')),
    CONSTRAINT reports_version_check CHECK (version >= 1),
    CONSTRAINT reports_published_check CHECK ((state = 'published') = (published_at IS NOT NULL))
);
-- The list: newest first, paged on (created_at, id); auditors read the published ones.
CREATE INDEX reports_created_at_idx ON reports (created_at DESC, id DESC);
CREATE INDEX reports_state_created_at_idx ON reports (state, created_at DESC, id DESC);

CREATE TABLE report_chunks (
    report_id text    NOT NULL REFERENCES reports (id),
    n         integer NOT NULL,
    data      bytea   NOT NULL,
    PRIMARY KEY (report_id, n)
);

-- +goose StatementBegin
CREATE FUNCTION reports_published_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'published' THEN
        RAISE EXCEPTION 'report % is published: it never changes (a correction is a new version)', OLD.id
            USING ERRCODE = 'P0001';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION report_chunks_published_immutable() RETURNS trigger
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
        RAISE EXCEPTION 'report % is published: its bundle never changes', rid USING ERRCODE = 'P0001';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER reports_published_immutable BEFORE UPDATE OR DELETE ON reports
    FOR EACH ROW EXECUTE FUNCTION reports_published_immutable();
CREATE TRIGGER report_chunks_published_immutable BEFORE INSERT OR UPDATE OR DELETE ON report_chunks
    FOR EACH ROW EXECUTE FUNCTION report_chunks_published_immutable();

-- +goose Down
DROP TABLE report_chunks;
DROP TABLE reports;
DROP FUNCTION report_chunks_published_immutable();
DROP FUNCTION reports_published_immutable();
