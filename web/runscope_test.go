package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// An auditor reads through the API the runs a published report covers, and gets 403, saying
// why, for every other run, whether it exists or not. A viewer reads them all.
func TestAuditorReadsOnlyCoveredRuns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	get := func(caller, path string) *reply { return b.do(t, caller, request{method: "GET", path: path}) }
	post := func(caller, path string, v any) *reply {
		return b.do(t, caller, request{method: "POST", path: path, body: jsonBody(t, v)})
	}
	sre, compliance, auditor, viewer := drills.RoleSRE, drills.RoleCompliance, drills.RoleAuditor, drills.RoleViewer

	// One run rejected (it ends blocked, inside the report), one exported after the report.
	var covered, uncovered control.RunSummary
	post(sre, "/api/v1/runs", control.RunSubmitParams{PlanFile: "plans/site-loss.hcl", PlanSource: b.planSrc}).decode(t, 201, &covered)
	post(compliance, "/api/v1/runs/"+covered.ID+"/reject", control.ApprovalDecideParams{Comment: "not this week"}).decode(t, 200, &control.ApprovalOutcome{})
	b.clock.Advance(time.Second) // a report covers the runs ended before it
	var draft control.ReportView
	post(compliance, "/api/v1/reports", control.ReportExportParams{Profile: "kr-efsr", Period: "2027"}).decode(t, 201, &draft)
	b.do(t, compliance, request{method: "POST", path: "/api/v1/reports/" + draft.ID + "/publish"}).decode(t, 200, &draft)
	post(sre, "/api/v1/runs", control.RunSubmitParams{PlanFile: "plans/site-loss.hcl", PlanSource: b.planSrc}).decode(t, 201, &uncovered)

	get(auditor, "/api/v1/runs/"+covered.ID).decode(t, 200, &control.RunView{})
	for _, id := range []string{uncovered.ID, noSuchRun} {
		r := get(auditor, "/api/v1/runs/"+id)
		if r.status != 403 {
			t.Errorf("the auditor reads run %s: %s, want 403", id, r)
			continue
		}
		if e := r.apiError(t).Error; e.Code != string(control.CategoryForbidden) || e.Message == "" {
			t.Errorf("the refusal = %+v, want forbidden with a message", e)
		}
	}
	var list control.RunList
	get(auditor, "/api/v1/runs").decode(t, 200, &list)
	if len(list.Runs) != 1 || list.Runs[0].ID != covered.ID {
		t.Errorf("the auditor's run list = %+v, want the covered run alone", list.Runs)
	}
	// The report says which runs it covers, to whoever may read it.
	var rr control.ReportRuns
	get(auditor, "/api/v1/reports/"+draft.ID+"/runs").decode(t, 200, &rr)
	if rr.Total != 1 || len(rr.Runs) != 1 || rr.Runs[0].ID != covered.ID {
		t.Errorf("the report's runs = %+v, want the covered run", rr)
	}
	if r := get(auditor, "/api/v1/reports/"+draft.ID+"/runs?limit=x"); r.status != 400 || r.apiError(t).Error.Field != "limit" {
		t.Errorf("a limit that is no number: %s, want 400 naming limit", r)
	}
	if r := get(viewer, "/api/v1/reports/"+draft.ID+"/runs"); r.status != 403 {
		t.Errorf("the viewer reads the report's runs: %s, want 403", r)
	}
	var key control.PublicKeyView
	get(auditor, "/api/v1/signing-key").decode(t, 200, &key)
	if key.Fingerprint != draft.SigningKeyFingerprint || !strings.Contains(key.PEM, "BEGIN PUBLIC KEY") {
		t.Errorf("the signing key = %+v, want the one that signed %s (%s)", key, draft.ID, draft.SigningKeyFingerprint)
	}
	if r := get(viewer, "/api/v1/signing-key"); r.status != 403 {
		t.Errorf("the viewer reads the signing key: %s, want 403", r)
	}
	get(viewer, "/api/v1/runs/"+uncovered.ID).decode(t, 200, &control.RunView{})
	get(viewer, "/api/v1/runs").decode(t, 200, &list)
	if len(list.Runs) != 2 {
		t.Errorf("the viewer's run list = %+v, want both runs", list.Runs)
	}
}
