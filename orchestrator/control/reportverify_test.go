package control_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	oreport "github.com/firedrill/firedrill/orchestrator/report"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/report"
	"github.com/firedrill/firedrill/report/reporttest"
)

// reporting is the fixture's control with reports wired in, and the key that signs them.
func (f *fixture) reporting() (*control.Control, ed25519.PrivateKey) {
	f.t.Helper()
	g, err := oreport.New(oreport.Config{Store: f.st, Compliance: oreport.ProfileCompliance{}})
	if err != nil {
		f.t.Fatal(err)
	}
	seed := sha256.Sum256([]byte("control report test"))
	key := ed25519.NewKeyFromSeed(seed[:])
	ctl, err := control.New(control.Config{Store: f.st, Clock: f.clk, Estate: &control.Estate{Path: estatePath, Estate: f.estate, Source: f.src},
		Reports: &control.Reports{Gatherer: g, Key: key, Institution: "Example Bank", TempDir: f.t.TempDir()}})
	if err != nil {
		f.t.Fatal(err)
	}
	return ctl, key
}

func runIDsOf(runs []control.RunSummary) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	slices.Sort(ids)
	return ids
}

// An auditor reads the runs a published report covers, and is refused every other: a run of
// a draft, a run after the report, a run that does not exist. A caller who also holds a role
// that reads every run is not narrowed.
func TestAuditorReadsTheRunsOfPublishedReportsOnly(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	ctl, _ := f.reporting()
	sre, _ := f.person("kim", drills.RoleSRE)
	officer, _ := f.person("lee", drills.RoleCompliance)
	auditor, _ := f.person("fsc", drills.RoleAuditor)
	both, _ := f.person("both", drills.RoleAuditor, drills.RoleViewer)
	auth := store.MeasurementInput{Service: "auth", RTOObjective: time.Minute}
	first := f.drillAuth(sre, drills.RunSucceeded, "", auth)
	f.clk.Advance(time.Minute)
	second := f.drillAuth(sre, drills.RunFailed, "", auth)
	f.clk.Advance(time.Minute)
	now := f.clk.Now().UTC()
	period := now.AddDate(0, 0, -7).Format(time.DateOnly) + ".." + now.Format(time.DateOnly)
	draft, err := ctl.ReportExport(ctx, officer, &control.ReportExportParams{Profile: "kr-efsr", Period: period})
	if err != nil {
		t.Fatalf("ReportExport: %v", err)
	}
	covered := []string{first, second}
	slices.Sort(covered)
	if rr, err := ctl.ReportRuns(ctx, officer, &control.ReportRunsParams{ID: draft.ID}); err != nil || rr.Total != 2 || !slices.Equal(runIDsOf(rr.Runs), covered) {
		t.Fatalf("the draft's runs = %+v, %v; want %v", rr, err, covered)
	}
	// A draft covers nothing an auditor may read yet.
	wantCategory(t, "the auditor reads a run of a draft", func() error { _, err := ctl.RunGet(ctx, auditor, first); return err }(), control.CategoryForbidden)
	if list, err := ctl.RunListGet(ctx, auditor, nil); err != nil || len(list.Runs) != 0 {
		t.Errorf("the auditor's run list before publication = %+v, %v; want none", list, err)
	}
	wantCategory(t, "the auditor reads the draft's runs", func() error {
		_, err := ctl.ReportRuns(ctx, auditor, &control.ReportRunsParams{ID: draft.ID})
		return err
	}(), control.CategoryNotFound)

	if _, err := ctl.ReportPublish(ctx, officer, draft.ID); err != nil {
		t.Fatalf("ReportPublish: %v", err)
	}
	f.clk.Advance(time.Minute)
	later := f.drillAuth(sre, drills.RunSucceeded, "", auth)
	for _, id := range covered {
		if v, err := ctl.RunGet(ctx, auditor, id); err != nil || v.Run.ID != id {
			t.Errorf("the auditor reads covered run %s: %v", id, err)
		}
	}
	for _, id := range []string{later, "no-such-run"} {
		e := wantCategory(t, "the auditor reads run "+id, func() error { _, err := ctl.RunGet(ctx, auditor, id); return err }(), control.CategoryForbidden)
		if e != nil && !strings.Contains(e.Message, "no published report covers run "+id) {
			t.Errorf("the refusal says %q; want it to say no published report covers the run", e.Message)
		}
	}
	// Every read of one run is scoped alike: the live view's events and objectives too.
	wantCategory(t, "the auditor follows an uncovered run's events", func() error {
		_, err := ctl.RunEventsAfter(ctx, auditor, &control.RunEventsParams{RunID: later})
		return err
	}(), control.CategoryForbidden)
	wantCategory(t, "the auditor reads an uncovered run's objectives", func() error { _, err := ctl.RunObjectives(ctx, auditor, later); return err }(), control.CategoryForbidden)
	if _, err := ctl.RunEventsAfter(ctx, auditor, &control.RunEventsParams{RunID: first}); err != nil {
		t.Errorf("the auditor follows a covered run's events: %v", err)
	}
	if denied := f.operations(&store.OperationListParams{Outcome: store.OutcomeDenied, Operation: string(control.OpRunRead), Target: later}); len(denied) != 3 || denied[0].Actor != auditor.Actor {
		t.Errorf("the refused reads' records = %+v, want three by the auditor (the run, its events, its objectives)", denied)
	}
	list, err := ctl.RunListGet(ctx, auditor, nil)
	if err != nil || !slices.Equal(runIDsOf(list.Runs), covered) {
		t.Errorf("the auditor's run list = %v, %v; want the covered runs %v", runIDsOf(list.Runs), err, covered)
	}
	if rr, err := ctl.ReportRuns(ctx, auditor, &control.ReportRunsParams{ID: draft.ID}); err != nil || !slices.Equal(runIDsOf(rr.Runs), covered) {
		t.Errorf("the auditor's runs of the published report = %+v, %v", rr, err)
	}
	// A service's figures (the dashboard, its history) are scoped alike.
	drillIDs := func(caller *control.Caller) []string {
		found, err := ctl.ServiceDrillsGet(ctx, caller, &control.ServiceDrillsParams{Services: []string{"auth"}, PerService: 10})
		if err != nil {
			t.Fatalf("ServiceDrillsGet: %v", err)
		}
		var ids []string
		for _, d := range found["auth"] {
			ids = append(ids, d.Run.ID)
		}
		slices.Sort(ids)
		return ids
	}
	if got := drillIDs(auditor); !slices.Equal(got, covered) {
		t.Errorf("the auditor's drills of auth = %v, want the covered runs %v", got, covered)
	}
	if got := drillIDs(both); len(got) != 3 {
		t.Errorf("an auditor and viewer's drills of auth = %v, want all three", got)
	}
	// A viewer too reads every run.
	all := []string{first, second, later}
	slices.Sort(all)
	if list, err := ctl.RunListGet(ctx, both, nil); err != nil || !slices.Equal(runIDsOf(list.Runs), all) {
		t.Errorf("an auditor and viewer's run list = %v, %v; want every run", runIDsOf(list.Runs), err)
	}
	if _, err := ctl.RunGet(ctx, both, later); err != nil {
		t.Errorf("an auditor and viewer reads an uncovered run: %v", err)
	}
}

// ReportVerify checks a bundle as `firedrill report verify` does, with the server's key.
func TestReportVerifyNamesWhatWasAltered(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	ctl, key := f.reporting()
	sre, _ := f.person("kim", drills.RoleSRE)
	officer, _ := f.person("lee", drills.RoleCompliance)
	auditor, _ := f.person("fsc", drills.RoleAuditor)
	viewer, _ := f.person("vic", drills.RoleViewer)
	f.drillAuth(sre, drills.RunSucceeded, "", store.MeasurementInput{Service: "auth", RTOObjective: time.Minute})
	now := f.clk.Now().UTC()
	r, err := ctl.ReportExport(ctx, officer, &control.ReportExportParams{Profile: "kr-efsr", Period: now.Format(time.DateOnly) + ".." + now.Format(time.DateOnly)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.ReportPublish(ctx, officer, r.ID); err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if err := ctl.ReportBundle(ctx, auditor, r.ID, nil, &bundle); err != nil {
		t.Fatal(err)
	}
	v, err := ctl.ReportVerify(ctx, auditor, bytes.NewReader(bundle.Bytes()), int64(bundle.Len()))
	if err != nil || !v.OK() || v.ReportID != r.ID || !v.SignatureValid {
		t.Fatalf("the genuine bundle: %+v, %v", v, err)
	}
	tampered, err := reporttest.Tamper(bundle.Bytes(), report.FileRunsCSV, reporttest.FlipByte)
	if err != nil {
		t.Fatal(err)
	}
	v, err = ctl.ReportVerify(ctx, auditor, bytes.NewReader(tampered), int64(len(tampered)))
	if err != nil || v.OK() || !v.Failed(report.CheckHashes) || v.Failed(report.CheckSignature) {
		t.Fatalf("one byte of runs.csv altered: %+v, %v; want the hashes check failed, the signature holding", v, err)
	}
	if !slices.ContainsFunc(v.Problems, func(p report.Problem) bool { return p.File == report.FileRunsCSV }) {
		t.Errorf("the problems %+v name no %s", v.Problems, report.FileRunsCSV)
	}
	e := wantCategory(t, "a file that is not a zip", func() error {
		_, err := ctl.ReportVerify(ctx, auditor, strings.NewReader("not a zip"), 9)
		return err
	}(), control.CategoryInvalid)
	if e != nil && e.Field != "bundle" {
		t.Errorf("the refusal names %q, want bundle", e.Field)
	}
	wantCategory(t, "an empty upload", func() error { _, err := ctl.ReportVerify(ctx, auditor, strings.NewReader(""), 0); return err }(), control.CategoryInvalid)
	wantCategory(t, "a bundle above the limit", func() error {
		_, err := ctl.ReportVerify(ctx, auditor, strings.NewReader(""), control.MaxReportVerifySize+1)
		return err
	}(), control.CategoryInvalid)
	wantCategory(t, "a viewer verifies", func() error {
		_, err := ctl.ReportVerify(ctx, viewer, bytes.NewReader(bundle.Bytes()), int64(bundle.Len()))
		return err
	}(), control.CategoryForbidden)

	pk, err := ctl.ReportPublicKey(ctx, auditor)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := report.ParsePublicKeyPEM([]byte(pk.PEM))
	if err != nil || !pub.Equal(key.Public()) || pk.Fingerprint != r.SigningKeyFingerprint {
		t.Errorf("the public key = %+v, %v; want the signing key's, fingerprint %s", pk, err, r.SigningKeyFingerprint)
	}
}
