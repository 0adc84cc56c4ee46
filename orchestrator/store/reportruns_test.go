package store_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

func TestReportRunsSayWhichRunsPublishedReportsCover(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		covered, draftOnly, neither := insertRun(t, s, b.plan, drills.RunPending), insertRun(t, s, b.plan, drills.RunPending), insertRun(t, s, b.plan, drills.RunPending)
		insert := func(id string, runs ...string) {
			t.Helper()
			err := s.InTx(ctx, func(tx *store.Tx) error {
				if _, err := s.ReportInsertTx(ctx, tx, &store.ReportInsertParams{
					ID: id, Version: 1, Profile: "kr-efsr", Period: "2026",
					PeriodStart: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), PeriodEnd: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
					Lang: "ko", CreatedBy: person("lee"), At: at(0), ManifestSHA256: "m", SigningKeyFingerprint: "fp", Bundle: bytes.NewReader([]byte("zip")),
				}); err != nil {
					return err
				}
				return s.ReportRunInsertTx(ctx, tx, id, runs)
			})
			if err != nil {
				t.Fatalf("insert report %s: %v", id, err)
			}
		}
		insert("R-pub", covered.ID, b.run.ID)
		insert("R-draft", draftOnly.ID, covered.ID)
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			_, err := s.ReportPublishTx(ctx, tx, &store.ReportPublishParams{ID: "R-pub", By: person("park"), At: at(time.Hour), ManifestSHA256: "m2", Bundle: bytes.NewReader([]byte("signed"))})
			return err
		}); err != nil {
			t.Fatal(err)
		}

		rp, err := s.ReportRunList(ctx, &store.ReportRunListParams{ReportID: "R-pub"})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range rp.Runs {
			ids = append(ids, r.ID)
		}
		if want := []string{b.run.ID, covered.ID}; !slices.Equal(ids, want) || rp.Total != 2 {
			t.Errorf("ReportRunList(R-pub) = %v of %d; want %v, oldest first, of 2", ids, rp.Total, want)
		}
		if rp, err := s.ReportRunList(ctx, &store.ReportRunListParams{ReportID: "R-pub", Limit: 1}); err != nil || len(rp.Runs) != 1 || rp.Total != 2 {
			t.Errorf("ReportRunList(limit 1) = %+v, %v; want one run of 2", rp, err)
		}
		for _, tt := range []struct {
			run  string
			want bool
		}{{covered.ID, true}, {b.run.ID, true}, {draftOnly.ID, false}, {neither.ID, false}, {"no-such-run", false}} {
			if got, err := s.RunPublished(ctx, tt.run); err != nil || got != tt.want {
				t.Errorf("RunPublished(%s) = %t, %v; want %t", tt.run, got, err, tt.want)
			}
		}
		page, err := s.RunList(ctx, &store.RunListParams{Published: true})
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, r := range page.Runs {
			listed = append(listed, r.ID)
		}
		if want := []string{covered.ID, b.run.ID}; !slices.Equal(listed, want) {
			t.Errorf("RunList(Published) = %v, want %v (newest first), not the draft's or the uncovered run", listed, want)
		}

		// A published report's runs never change, whoever asks.
		db := s.DBForTest()
		for _, stmt := range []string{
			"INSERT INTO report_runs (report_id, run_id) VALUES ('R-pub', '" + neither.ID + "')",
			"DELETE FROM report_runs WHERE report_id = 'R-pub'",
			"UPDATE report_runs SET run_id = '" + neither.ID + "' WHERE report_id = 'R-pub'",
		} {
			if err := db.Exec(stmt).Error; err == nil || !strings.Contains(err.Error(), "published") {
				t.Errorf("%s = %v, want refused: the report is published", stmt, err)
			}
		}
		if err := db.Exec("DELETE FROM report_runs WHERE report_id = 'R-draft'").Error; err != nil {
			t.Errorf("a draft's runs are not frozen: %v", err)
		}
	})
}

// The reports exported before report_runs get the runs their export covered: those created
// in the period and ended before the export.
func TestReportRunsMigrationBackfillsEarlierReports(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		ended := insertRun(t, s, b.plan, drills.RunPending)
		if err := s.RunFinish(ctx, &store.RunFinishParams{RunID: ended.ID, Epoch: claimRunning(t, s, ended.ID), State: drills.RunSucceeded}); err != nil {
			t.Fatal(err)
		}
		running := insertRun(t, s, b.plan, drills.RunPending)
		got, err := s.RunGet(ctx, ended.ID)
		if err != nil || got.EndedAt == nil {
			t.Fatalf("the ended run: %+v, %v", got, err)
		}
		now := got.EndedAt.Add(time.Minute) // the export, after the run ended
		for _, id := range []string{"R-old", "R-other-period"} {
			start := got.CreatedAt.Add(-time.Hour)
			if id == "R-other-period" {
				start = start.AddDate(-1, 0, 0)
			}
			err := s.InTx(ctx, func(tx *store.Tx) error {
				_, err := s.ReportInsertTx(ctx, tx, &store.ReportInsertParams{
					ID: id, Version: 1, Profile: "kr-efsr", Period: id, PeriodStart: start, PeriodEnd: start.AddDate(0, 0, 1).Add(-time.Hour),
					Lang: "ko", CreatedBy: person("lee"), At: now.Add(time.Hour), ManifestSHA256: "m", SigningKeyFingerprint: "fp", Bundle: bytes.NewReader([]byte("zip")),
				})
				if err != nil {
					return err
				}
				_, err = s.ReportPublishTx(ctx, tx, &store.ReportPublishParams{ID: id, By: person("park"), At: now.Add(2 * time.Hour), ManifestSHA256: "m2", Bundle: bytes.NewReader([]byte("signed"))})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// As if the reports were exported before 00014: no rows, then the migration.
		if _, err := s.MigrateDownTo(ctx, 13); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			report string
			want   []string
		}{{"R-old", []string{ended.ID}}, {"R-other-period", nil}} {
			rp, err := s.ReportRunList(ctx, &store.ReportRunListParams{ReportID: tt.report})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range rp.Runs {
				ids = append(ids, r.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("after the migration %s covers %v, want %v (not the running %s)", tt.report, ids, tt.want, running.ID)
			}
		}
	})
}
