package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	oreport "github.com/firedrill/firedrill/orchestrator/report"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/report"
)

func init() {
	// The bundle route replies with a zip, which the reply checker reads as a file.
	openapi3filter.RegisterBodyDecoder("application/zip", openapi3filter.FileBodyDecoder)
}

// reportSigningKey is the test server's fixed signing key.
func reportSigningKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("web test signing key"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// listedCompliance stands in for the regulator profiles (part A of issue 9), which these
// tests only carry through the API: one profile, each estate service listed as compliant.
type listedCompliance struct{}

func (listedCompliance) Scope(profile, period, lang string) (*oreport.Scope, error) {
	if profile != "kr-efsr" {
		return nil, &oreport.InvalidError{Field: "profile", Message: "no profile " + profile}
	}
	p, ok := map[string]report.PeriodRef{"2027": {Name: "2027", Start: testStart.AddDate(0, -2, -1), End: testStart.AddDate(1, -2, -1)}}[period]
	if !ok {
		return nil, &oreport.InvalidError{Field: "period", Message: "no period " + period}
	}
	return &oreport.Scope{Profile: report.ProfileRef{ID: profile, Title: "전자금융감독규정"}, Period: p, Lang: "ko"}, nil
}

func (listedCompliance) Evaluate(_ context.Context, _ *oreport.Scope, f *oreport.Facts) (*oreport.Evaluation, error) {
	for _, err := range f.Drills {
		if err != nil {
			return nil, err
		}
	}
	ev := &oreport.Evaluation{Status: drills.Compliant}
	for _, s := range f.Estate.Services {
		ev.Services = append(ev.Services, report.Service{Service: s.Name, Status: drills.Compliant, RTOEvidence: drills.EvidenceNotEvidenced, RPOEvidence: drills.EvidenceNotEvidenced})
	}
	return ev, nil
}

func testReports(t *testing.T, st *store.Store) *control.Reports {
	t.Helper()
	g, err := oreport.New(oreport.Config{Store: st, Compliance: listedCompliance{}})
	if err != nil {
		t.Fatal(err)
	}
	return &control.Reports{Gatherer: g, Key: reportSigningKey(), Institution: "Example Bank", TempDir: t.TempDir()}
}

// reportStory exports, reads, downloads and publishes a report through the API, as the
// people allowed to, and is refused as the others.
func reportStory(t *testing.T, do func(caller, method, path string, body any) *reply, expect func(*reply, int)) {
	t.Helper()
	compliance, auditor, viewer, sre := drills.RoleCompliance, drills.RoleAuditor, drills.RoleViewer, drills.RoleSRE
	var draft control.ReportView
	do(compliance, "POST", "/api/v1/reports", control.ReportExportParams{Profile: "kr-efsr", Period: "2027"}).decode(t, 201, &draft)
	if draft.State != "draft" || draft.Version != 1 || draft.CreatedBy.Name != compliance || draft.Size == 0 {
		t.Errorf("exported report = %+v", draft)
	}
	expect(do(compliance, "POST", "/api/v1/reports", control.ReportExportParams{Profile: "nope", Period: "2027"}), 400)
	expect(do(sre, "POST", "/api/v1/reports", control.ReportExportParams{Profile: "kr-efsr", Period: "2027"}), 403)

	var list struct {
		Reports []control.ReportView `json:"reports"`
	}
	do(auditor, "GET", "/api/v1/reports", nil).decode(t, 200, &list)
	if len(list.Reports) != 0 {
		t.Errorf("the auditor lists %+v before anything is published", list.Reports)
	}
	expect(do(auditor, "GET", "/api/v1/reports/"+draft.ID, nil), 404)
	expect(do(auditor, "GET", "/api/v1/reports/"+draft.ID+"/bundle", nil), 404)
	expect(do(viewer, "GET", "/api/v1/reports", nil), 403)
	var got control.ReportView
	do(compliance, "GET", "/api/v1/reports/"+draft.ID, nil).decode(t, 200, &got)

	zipped := do(compliance, "GET", "/api/v1/reports/"+draft.ID+"/bundle", nil)
	expect(zipped, 200)
	if ct := zipped.header.Get("Content-Type"); ct != "application/zip" {
		t.Errorf("bundle Content-Type = %q", ct)
	}
	v, err := report.Verify(bytes.NewReader(zipped.body), int64(len(zipped.body)), reportSigningKey().Public().(ed25519.PublicKey))
	if err != nil || !v.OK() || v.State != "draft" {
		t.Errorf("the downloaded draft: %+v, %v", v, err)
	}

	var pub control.ReportView
	expect(do(sre, "POST", "/api/v1/reports/"+draft.ID+"/publish", nil), 403)
	do(compliance, "POST", "/api/v1/reports/"+draft.ID+"/publish", nil).decode(t, 200, &pub)
	if pub.State != "published" || pub.PublishedBy == nil || pub.PublishedBy.Name != compliance || pub.ManifestSHA256 == draft.ManifestSHA256 {
		t.Errorf("published report = %+v", pub)
	}
	expect(do(compliance, "POST", "/api/v1/reports/"+draft.ID+"/publish", nil), 409)
	do(auditor, "GET", "/api/v1/reports?state=published", nil).decode(t, 200, &list)
	if len(list.Reports) != 1 || list.Reports[0].ID != draft.ID {
		t.Errorf("the auditor lists %+v, want the published report", list.Reports)
	}
	signed := do(auditor, "GET", "/api/v1/reports/"+draft.ID+"/bundle", nil)
	expect(signed, 200)
	v, err = report.Verify(bytes.NewReader(signed.body), int64(len(signed.body)), reportSigningKey().Public().(ed25519.PublicKey))
	if err != nil || !v.OK() || v.State != "published" {
		t.Errorf("the downloaded published bundle: %+v, %v", v, err)
	}
	var runs control.ReportRuns
	do(auditor, "GET", "/api/v1/reports/"+draft.ID+"/runs?limit=5", nil).decode(t, 200, &runs)
	if int(runs.Total) < len(runs.Runs) {
		t.Errorf("the report's runs = %+v", runs)
	}
	expect(do(viewer, "GET", "/api/v1/reports/"+draft.ID+"/runs", nil), 403)
	var key control.PublicKeyView
	do(auditor, "GET", "/api/v1/signing-key", nil).decode(t, 200, &key)
	if key.Fingerprint != pub.SigningKeyFingerprint {
		t.Errorf("the signing key's fingerprint = %q, want %q", key.Fingerprint, pub.SigningKeyFingerprint)
	}
	expect(do(sre, "GET", "/api/v1/signing-key", nil), 403)
	var correction control.ReportView
	do(compliance, "POST", "/api/v1/reports", control.ReportExportParams{Profile: "kr-efsr", Period: "2027", Replaces: draft.ID}).decode(t, 201, &correction)
	if correction.Version != 2 || correction.Replaces != draft.ID {
		t.Errorf("correction = %+v, want version 2 replacing %s", correction, draft.ID)
	}
}
