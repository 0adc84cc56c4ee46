package store_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

func TestReportsAreStoredInChunksAndNeverChangeOncePublished(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		lee, park := person("lee"), person("park")
		// Two and a half chunks, with every chunk's bytes distinct.
		draft := bytes.Repeat([]byte("0123456789abcdef"), store.ReportChunkSize*5/2/16)
		draft[store.ReportChunkSize] = 'X'
		insert := func(id string, version int, replaces string, bundle []byte) (*store.Report, error) {
			var r *store.Report
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				r, err = s.ReportInsertTx(ctx, tx, &store.ReportInsertParams{
					ID: id, Version: version, ReplacesID: replaces, Profile: "kr-efsr", Period: "2026",
					PeriodStart: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), PeriodEnd: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
					Lang: "ko", CreatedBy: lee, At: at(0), ManifestSHA256: "m1", SigningKeyFingerprint: "fp", Bundle: bytes.NewReader(bundle),
				})
				return err
			})
			return r, err
		}
		r, err := insert("R-1", 1, "", draft)
		if err != nil {
			t.Fatalf("ReportInsertTx: %v", err)
		}
		if r.State != store.ReportDraft || r.Size != int64(len(draft)) || r.CreatedBy != lee || r.PublishedAt != nil {
			t.Errorf("inserted report = %+v", r)
		}
		var got bytes.Buffer
		if n, err := s.ReportBundleCopy(ctx, "R-1", &got); err != nil || n != int64(len(draft)) || !bytes.Equal(got.Bytes(), draft) {
			t.Fatalf("ReportBundleCopy = %d bytes, %v; want the %d bytes stored", n, err, len(draft))
		}
		if _, err := s.ReportBundleCopy(ctx, "R-none", &got); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReportBundleCopy(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := insert("R-x", 2, "R-1", draft); !errors.Is(err, store.ErrInvalidTransition) {
			t.Errorf("a correction of a draft = %v, want ErrInvalidTransition", err)
		}
		if _, err := insert("R-y", 2, "R-none", draft); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a correction of an unknown report = %v, want ErrNotFound", err)
		}

		published := []byte("the signed-off bundle")
		publish := func(id string) (*store.Report, error) {
			var r *store.Report
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				r, err = s.ReportPublishTx(ctx, tx, &store.ReportPublishParams{ID: id, By: park, At: at(time.Hour), ManifestSHA256: "m2", Bundle: bytes.NewReader(published)})
				return err
			})
			return r, err
		}
		p, err := publish("R-1")
		if err != nil {
			t.Fatalf("ReportPublishTx: %v", err)
		}
		if p.State != store.ReportPublished || p.PublishedBy != park || p.PublishedAt == nil || !p.PublishedAt.Equal(wantTime(at(time.Hour))) ||
			p.ManifestSHA256 != "m2" || p.Size != int64(len(published)) {
			t.Errorf("published report = %+v", p)
		}
		if g, err := s.ReportGet(ctx, "R-1"); err != nil || g.State != store.ReportPublished || g.PublishedBy != park || g.Size != p.Size {
			t.Errorf("ReportGet after publish = %+v, %v", g, err)
		}
		got.Reset()
		if _, err := s.ReportBundleCopy(ctx, "R-1", &got); err != nil || !bytes.Equal(got.Bytes(), published) {
			t.Errorf("bundle after publish = %q, %v; want the published bundle", got.Bytes(), err)
		}
		if _, err := publish("R-1"); !errors.Is(err, store.ErrReportPublished) {
			t.Errorf("publishing twice = %v, want ErrReportPublished", err)
		}
		// Nobody rewrites a published report, not even with SQL of their own.
		db := s.DBForTest()
		for _, stmt := range []string{
			"UPDATE reports SET published_by_name = 'mallory' WHERE id = 'R-1'",
			"DELETE FROM reports WHERE id = 'R-1'",
			"UPDATE report_chunks SET data = data WHERE report_id = 'R-1'",
			"DELETE FROM report_chunks WHERE report_id = 'R-1'",
			"INSERT INTO report_chunks (report_id, n, data) VALUES ('R-1', 7, 'x')",
		} {
			if err := db.Exec(stmt).Error; err == nil || !strings.Contains(err.Error(), "published") {
				t.Errorf("%s = %v, want refused: the report is published", stmt, err)
			}
		}

		c, err := insert("R-2", 2, "R-1", []byte("the correction"))
		if err != nil || c.ReplacesID != "R-1" || c.Version != 2 || c.State != store.ReportDraft {
			t.Fatalf("correction = %+v, %v", c, err)
		}
		all, err := s.ReportList(ctx, nil)
		if err != nil || len(all) != 2 {
			t.Fatalf("ReportList = %+v, %v", all, err)
		}
		pub, err := s.ReportList(ctx, &store.ReportListParams{State: store.ReportPublished})
		if err != nil || len(pub) != 1 || pub[0].ID != "R-1" {
			t.Errorf("ReportList(published) = %+v, %v; want R-1 alone", pub, err)
		}
		if _, err := s.ReportGet(ctx, "R-none"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReportGet(unknown) = %v, want ErrNotFound", err)
		}
	})
}
