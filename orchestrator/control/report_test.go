package control_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/firedrill/firedrill/orchestrator/control"
	oreport "github.com/firedrill/firedrill/orchestrator/report"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/report"
)

func TestReportsFromExportToPublicationAreRecorded(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	g, err := oreport.New(oreport.Config{Store: f.st, Compliance: oreport.ProfileCompliance{}})
	if err != nil {
		t.Fatal(err)
	}
	seed := sha256.Sum256([]byte("control report test"))
	key := ed25519.NewKeyFromSeed(seed[:])
	ctl, err := control.New(control.Config{Store: f.st, Clock: f.clk, Estate: &control.Estate{Path: estatePath, Estate: f.estate, Source: f.src},
		Reports: &control.Reports{Gatherer: g, Key: key, Institution: "Example Bank", TempDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	officer, _ := f.person("lee", "compliance")
	auditor, _ := f.person("fsc", "auditor")
	now := f.clk.Now().UTC()
	period := now.AddDate(0, 0, -7).Format(time.DateOnly) + ".." + now.Format(time.DateOnly)

	for _, bad := range []struct {
		p     control.ReportExportParams
		field string
	}{
		{control.ReportExportParams{Period: period}, "profile"},
		{control.ReportExportParams{Profile: "kr-efsr"}, "period"},
		{control.ReportExportParams{Profile: "nope", Period: period}, "profile"},
		{control.ReportExportParams{Profile: "kr-efsr", Period: "2026-13"}, "period"},
		{control.ReportExportParams{Profile: "kr-efsr", Period: period, Lang: "fr"}, "lang"},
	} {
		e := wantCategory(t, "ReportExport", func() error { _, err := ctl.ReportExport(ctx, officer, &bad.p); return err }(), control.CategoryInvalid)
		if e != nil && e.Field != bad.field {
			t.Errorf("ReportExport(%+v) names %q, want %q", bad.p, e.Field, bad.field)
		}
	}
	draft, err := ctl.ReportExport(ctx, officer, &control.ReportExportParams{Profile: "kr-efsr", Period: period})
	if err != nil {
		t.Fatalf("ReportExport: %v", err)
	}
	if draft.State != store.ReportDraft || draft.Lang != "ko" || draft.CreatedBy != officer.Actor {
		t.Errorf("draft = %+v", draft)
	}
	if ops := f.operations(&store.OperationListParams{Operation: "report.export", Target: draft.ID, Outcome: store.OutcomeOK}); len(ops) != 1 || ops[0].Actor != officer.Actor {
		t.Errorf("the export's record = %+v, want one by the officer", ops)
	}
	wantCategory(t, "the auditor reads a draft", func() error { _, err := ctl.ReportGet(ctx, auditor, draft.ID); return err }(), control.CategoryNotFound)
	wantCategory(t, "a correction of a draft", func() error {
		_, err := ctl.ReportExport(ctx, officer, &control.ReportExportParams{Profile: "kr-efsr", Period: period, Replaces: draft.ID})
		return err
	}(), control.CategoryInvalid)

	f.clk.Advance(time.Hour)
	pub, err := ctl.ReportPublish(ctx, officer, draft.ID)
	if err != nil {
		t.Fatalf("ReportPublish: %v", err)
	}
	if pub.State != store.ReportPublished || pub.PublishedBy == nil || *pub.PublishedBy != officer.Actor || !pub.PublishedAt.Equal(f.clk.Now().UTC().Truncate(time.Millisecond)) {
		t.Errorf("published = %+v", pub)
	}
	if ops := f.operations(&store.OperationListParams{Operation: "report.publish", Target: draft.ID, Outcome: store.OutcomeOK}); len(ops) != 1 {
		t.Errorf("the publication's record = %+v", ops)
	}
	wantCategory(t, "publishing twice", func() error { _, err := ctl.ReportPublish(ctx, officer, draft.ID); return err }(), control.CategoryConflict)
	if ops := f.operations(&store.OperationListParams{Operation: "report.publish", Target: draft.ID, Outcome: store.OutcomeFailed}); len(ops) != 1 {
		t.Errorf("the refused second publication's record = %+v", ops)
	}

	var bundle bytes.Buffer
	if err := ctl.ReportBundle(ctx, auditor, draft.ID, nil, &bundle); err != nil {
		t.Fatalf("the auditor downloads the published report: %v", err)
	}
	v, err := report.Verify(bytes.NewReader(bundle.Bytes()), int64(bundle.Len()), key.Public().(ed25519.PublicKey))
	if err != nil || !v.OK() || v.State != report.StatePublished {
		t.Errorf("the published bundle: %+v, %v", v, err)
	}
	b, err := report.OpenBundle(bytes.NewReader(bundle.Bytes()), int64(bundle.Len()))
	if err != nil || b.Header.SignOff == nil || b.Header.SignOff.PublishedBy != officer.Actor.String() {
		t.Errorf("the published report's sign-off = %+v, %v", b.Header.SignOff, err)
	}
	list, err := ctl.ReportList(ctx, auditor, nil)
	if err != nil || len(list) != 1 {
		t.Errorf("the auditor's list = %+v, %v", list, err)
	}
	fix, err := ctl.ReportExport(ctx, officer, &control.ReportExportParams{Profile: "kr-efsr", Period: period, Replaces: draft.ID})
	if err != nil || fix.Version != 2 || fix.Replaces != draft.ID {
		t.Errorf("the correction = %+v, %v", fix, err)
	}
	if list, err := ctl.ReportList(ctx, auditor, nil); err != nil || len(list) != 1 {
		t.Errorf("the auditor sees the correction's draft: %+v, %v", list, err)
	}
}
