package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/web"
)

const brokenPlan = `plan "broken" {
  from     = "sangam"
  to       = "atlantis"
  services = ["auth"]
}
`

// TestOpenAPIValidatesEveryRoute drives every route through a drill's life on a real server
// over PostgreSQL with the example estate — successes and refusals — and validates every
// request the server accepted and every reply against web/openapi.json. Each route must have
// had a success and (unless public) a refusal validated.
func TestOpenAPIValidatesEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	do := func(caller, method, path string, body any) *reply {
		t.Helper()
		rq := request{method: method, path: path}
		switch v := body.(type) {
		case nil:
		case string:
			rq.body = []byte(v)
		default:
			rq.body = jsonBody(t, v)
		}
		return b.do(t, caller, rq)
	}
	expect := func(r *reply, status int) {
		t.Helper()
		if r.status != status {
			t.Errorf("status %d, want %d: %s", r.status, status, truncate(r.body))
		}
	}
	sre, sre2, compliance, admin, viewer := drills.RoleSRE, "sre2", drills.RoleCompliance, drills.RoleAdmin, drills.RoleViewer

	// The document itself, and who the caller is.
	expect(do(callerNone, "GET", "/api/v1/openapi.json", nil), 200)
	var me control.Whoami
	b.do(t, sre, request{method: "GET", path: "/api/v1/whoami", header: http.Header{web.ViaHeader: {"cli"}}}).decode(t, 200, &me)
	if me.Actor.Name != sre || me.Actor.Via != drills.ViaCLI || !slices.Contains(me.Operations, control.OpRunSubmit) {
		t.Errorf("whoami as sre via cli = %+v", me)
	}
	expect(do(callerNone, "GET", "/api/v1/whoami", nil), 401)

	// Plans: validation answers 200 either way; submitting an invalid plan is a 400 with the
	// plan's diagnostics.
	approvalPlan := b.planSrc
	var v control.PlanValidation
	do(sre, "POST", "/api/v1/plans/validate", control.PlanValidateParams{PlanFile: "plans/site-loss.hcl", PlanSource: approvalPlan}).decode(t, 200, &v)
	if !v.Valid {
		t.Errorf("site-loss is invalid: %+v", v.Diagnostics)
	}
	do(sre, "POST", "/api/v1/plans/validate", control.PlanValidateParams{PlanFile: "plans/broken.hcl", PlanSource: brokenPlan}).decode(t, 200, &v)
	if v.Valid || len(v.Diagnostics) == 0 || v.Diagnostics[0].File != "plans/broken.hcl" || v.Diagnostics[0].Line == 0 {
		t.Errorf("validate a broken plan = %+v, want invalid with positioned diagnostics", v)
	}
	r := do(sre, "POST", "/api/v1/runs", control.RunSubmitParams{PlanFile: "plans/broken.hcl", PlanSource: brokenPlan})
	expect(r, 400)
	if r.status == 400 && len(r.apiError(t).Error.Diagnostics) == 0 {
		t.Errorf("submit a broken plan: no diagnostics in %s", r.body)
	}
	expect(do(viewer, "POST", "/api/v1/plans/validate", control.PlanValidateParams{PlanFile: "p.hcl", PlanSource: brokenPlan}), 403)

	// Submit: the run awaits approval of an sre and a compliance officer (the estate's
	// default), not the requester.
	var run control.RunSummary
	do(sre, "POST", "/api/v1/runs", control.RunSubmitParams{PlanFile: "plans/site-loss.hcl", PlanSource: approvalPlan, Comment: "quarterly"}).decode(t, 201, &run)
	if run.State != drills.RunAwaitingApproval || run.RequestedBy.Name != sre {
		t.Errorf("submitted run = %+v, want awaiting_approval requested by sre", run)
	}
	var second control.RunSummary
	do(sre2, "POST", "/api/v1/runs", control.RunSubmitParams{PlanFile: "plans/site-loss.hcl", PlanSource: approvalPlan}).decode(t, 201, &second)

	// Lists and reads.
	var list control.RunList
	do(viewer, "GET", "/api/v1/runs?limit=1", nil).decode(t, 200, &list)
	if len(list.Runs) != 1 || list.NextCursor == "" {
		t.Errorf("first page of 1 = %+v, want one run and a cursor", list)
	} else {
		do(viewer, "GET", "/api/v1/runs?limit=1&cursor="+url.QueryEscape(list.NextCursor), nil).decode(t, 200, &list)
		if len(list.Runs) != 1 {
			t.Errorf("second page = %+v", list)
		}
	}
	since := url.QueryEscape(testStart.Format(time.RFC3339))
	do(viewer, "GET", "/api/v1/runs?state=awaiting_approval&state=pending&requested_by=sre&since="+since, nil).decode(t, 200, &list)
	if len(list.Runs) != 1 || list.Runs[0].ID != run.ID {
		t.Errorf("runs requested by sre = %+v, want %s", list.Runs, run.ID)
	}
	expect(do(viewer, "GET", "/api/v1/runs?cursor=not-a-cursor", nil), 400)
	var view control.RunView
	do(viewer, "GET", "/api/v1/runs/"+run.ID, nil).decode(t, 200, &view)
	if view.Run.ID != run.ID || !slices.Equal(slices.Sorted(slices.Values(view.MissingRoles)), []string{drills.RoleCompliance, drills.RoleSRE}) {
		t.Errorf("run view = %+v, want missing compliance and sre", view)
	}
	expect(do(viewer, "GET", "/api/v1/runs/"+noSuchRun, nil), 404)

	// Approvals: the requester cannot approve; a second sre and a compliance officer can.
	var waiting struct {
		Approvals []control.ApprovalWaiting `json:"approvals"`
	}
	do(compliance, "GET", "/api/v1/approvals", nil).decode(t, 200, &waiting)
	if len(waiting.Approvals) != 2 || !waiting.Approvals[0].CanApprove {
		t.Errorf("approvals for compliance = %+v, want both runs, approvable", waiting.Approvals)
	}
	r = do(sre, "POST", "/api/v1/runs/"+run.ID+"/approve", `{"comment":"mine"}`)
	if r.status != 403 && r.status != 409 {
		t.Errorf("the requester approving = %s, want refused", r)
	}
	var outcome control.ApprovalOutcome
	do(sre2, "POST", "/api/v1/runs/"+run.ID+"/approve", `{"comment":"looks right"}`).decode(t, 200, &outcome)
	if outcome.PolicyMet || !slices.Equal(outcome.MissingRoles, []string{drills.RoleCompliance}) {
		t.Errorf("after sre2 approved: %+v, want compliance missing", outcome)
	}
	do(compliance, "POST", "/api/v1/runs/"+run.ID+"/approve", `{}`).decode(t, 200, &outcome)
	if !outcome.PolicyMet || outcome.Run.State != drills.RunPending {
		t.Errorf("after compliance approved: %+v, want pending", outcome)
	}
	expect(do(compliance, "POST", "/api/v1/runs/"+noSuchRun+"/approve", `{}`), 404)
	do(compliance, "POST", "/api/v1/runs/"+second.ID+"/reject", `{"comment":"not this week"}`).decode(t, 200, &outcome)
	if outcome.Run.State != drills.RunBlocked {
		t.Errorf("rejected run = %+v, want blocked", outcome.Run)
	}
	expect(do(sre, "POST", "/api/v1/runs/"+second.ID+"/reject", `{}`), 409)

	// A step waiting for a person: a worker would claim the approved run and reach a manual
	// step; the test stands in for the worker.
	epoch, err := b.st.RunClaim(ctx, &store.RunClaimParams{RunID: run.ID, Owner: "web-test", LeaseFor: time.Hour})
	if err != nil {
		t.Fatalf("RunClaim: %v", err)
	}
	if _, err := b.st.StepStart(ctx, &store.StepStartParams{RunID: run.ID, Epoch: epoch, Key: "call-van", Action: drills.ActionManual}); err != nil {
		t.Fatalf("StepStart: %v", err)
	}
	var decision control.DecisionView
	do(sre, "POST", "/api/v1/runs/"+run.ID+"/steps/call-van/decision", `{"decision":"done","comment":"VAN operator confirmed"}`).decode(t, 200, &decision)
	if decision.StepKey != "call-van" || decision.Decision != "done" || decision.By.Name != sre {
		t.Errorf("decision = %+v", decision)
	}
	expect(do(sre, "POST", "/api/v1/runs/"+run.ID+"/steps/call-van/decision", `{"decision":"failed"}`), 409)
	expect(do(sre, "POST", "/api/v1/runs/"+run.ID+"/steps/call-van/decision", `{"decision":"maybe"}`), 400)
	do(viewer, "GET", "/api/v1/runs/"+run.ID, nil).decode(t, 200, &view)

	// Abort.
	expect(do(sre, "POST", "/api/v1/runs/"+run.ID+"/abort", `{"reason":""}`), 400)
	do(compliance, "POST", "/api/v1/runs/"+run.ID+"/abort", `{"reason":"drill window closed"}`).decode(t, 200, &run)
	if run.AbortRequestedAt == nil || run.AbortReason != "drill window closed" {
		t.Errorf("aborted run = %+v", run)
	}
	expect(do(sre, "POST", "/api/v1/runs/"+second.ID+"/abort", `{"reason":"ended already"}`), 409)
	do(viewer, "GET", "/api/v1/runs/"+run.ID, nil).decode(t, 200, &view)

	// Freeze on (aborting what runs), read, off.
	var freeze control.FreezeView
	do(viewer, "GET", "/api/v1/freeze", nil).decode(t, 200, &freeze)
	if freeze.Active {
		t.Errorf("freeze before any = %+v", freeze)
	}
	expect(do(admin, "PUT", "/api/v1/freeze", `{"reason":""}`), 400)
	do(compliance, "PUT", "/api/v1/freeze", `{"reason":"incident 4711","abort_running":true}`).decode(t, 200, &freeze)
	if !freeze.Active || freeze.SetBy == nil || freeze.SetBy.Name != compliance {
		t.Errorf("freeze on = %+v", freeze)
	}
	do(viewer, "GET", "/api/v1/freeze", nil).decode(t, 200, &freeze)
	do(sre, "DELETE", "/api/v1/freeze", nil).decode(t, 200, &freeze)
	if freeze.Active {
		t.Errorf("freeze off = %+v", freeze)
	}

	// Schedules, the calendar, services, sites.
	var schedules struct {
		Schedules []control.ScheduleView `json:"schedules"`
	}
	do(viewer, "GET", "/api/v1/schedules", nil).decode(t, 200, &schedules)
	if len(schedules.Schedules) != 1 || schedules.Schedules[0].Name != scheduleName {
		t.Errorf("schedules = %+v", schedules)
	}
	var detail control.ScheduleDetail
	do(viewer, "GET", "/api/v1/schedules/"+scheduleName, nil).decode(t, 200, &detail)
	expect(do(viewer, "GET", "/api/v1/schedules/nothing", nil), 404)
	var sched control.ScheduleView
	do(compliance, "POST", "/api/v1/schedules/"+scheduleName+"/pause", `{"reason":"audit week"}`).decode(t, 200, &sched)
	do(compliance, "POST", "/api/v1/schedules/"+scheduleName+"/resume", `{}`).decode(t, 200, &sched)
	expect(do(compliance, "POST", "/api/v1/schedules/nothing/pause", `{"reason":"audit week"}`), 404)
	var cal control.Calendar
	do(viewer, "GET", "/api/v1/calendar?from=2027-01-01&to=2027-12-31", nil).decode(t, 200, &cal)
	expect(do(viewer, "GET", "/api/v1/calendar?from=2027-12-31&to=2027-01-01", nil), 400)
	var services struct {
		Services []control.ServiceView `json:"services"`
	}
	do(viewer, "GET", "/api/v1/services", nil).decode(t, 200, &services)
	if len(services.Services) != 3 {
		t.Errorf("services = %+v, want auth, payments, remittance", services)
	}
	var sites struct {
		Sites []control.SiteView `json:"sites"`
	}
	do(viewer, "GET", "/api/v1/sites", nil).decode(t, 200, &sites)
	if len(sites.Sites) != 3 {
		t.Errorf("sites = %+v, want sangam, yatap, busan", sites)
	}
	if strings.Contains(string(do(viewer, "GET", "/api/v1/sites", nil).body), "NOMAD_TOKEN") {
		t.Error("sites show the estate's secret references")
	}

	// Regulator profiles: anyone who reads may read them, auditors included.
	var profileList struct {
		Profiles []control.ProfileSummary `json:"profiles"`
	}
	do(drills.RoleAuditor, "GET", "/api/v1/profiles", nil).decode(t, 200, &profileList)
	if len(profileList.Profiles) != 5 || profileList.Profiles[1].ID != "kr-efsr" {
		t.Errorf("profiles = %+v, want the five shipped, by id", profileList)
	}
	var profile control.ProfileView
	do(viewer, "GET", "/api/v1/profiles/kr-efsr", nil).decode(t, 200, &profile)
	if profile.Regulator["ko"] != "금융위원회" || len(profile.Ceilings) != 1 || *profile.Ceilings[0].RTOMS != 3*60*60*1000 {
		t.Errorf("profile kr-efsr = %+v, want the FSC and a 3h core ceiling", profile)
	}
	expect(do(viewer, "GET", "/api/v1/profiles/kr-efsa", nil), 404)
	// Every role may read profiles: the refusal is to a caller without a token.
	expect(do(callerNone, "GET", "/api/v1/profiles", nil), 401)

	// Users and roles.
	var users struct {
		Users []control.UserView `json:"users"`
	}
	do(admin, "GET", "/api/v1/users", nil).decode(t, 200, &users)
	var user control.UserView
	do(admin, "POST", "/api/v1/users", control.UserCreateParams{Name: "carol", Roles: []string{drills.RoleCompliance}}).decode(t, 201, &user)
	expect(do(admin, "POST", "/api/v1/users", control.UserCreateParams{Name: "carol", Roles: []string{drills.RoleCompliance}}), 409)
	expect(do(admin, "POST", "/api/v1/users", control.UserCreateParams{Name: "dave", Roles: []string{"superuser"}}), 400)
	do(admin, "GET", "/api/v1/users/carol", nil).decode(t, 200, &user)
	expect(do(admin, "GET", "/api/v1/users/nobody", nil), 404)
	do(admin, "POST", "/api/v1/users/carol/roles", `{"role":"auditor"}`).decode(t, 200, &user)
	if !slices.Contains(user.Roles, drills.RoleAuditor) {
		t.Errorf("after the grant: %+v", user)
	}
	do(admin, "DELETE", "/api/v1/users/carol/roles/auditor", nil).decode(t, 200, &user)
	expect(do(admin, "DELETE", "/api/v1/users/nobody/roles/auditor", nil), 404)
	do(admin, "PUT", "/api/v1/users/carol/password", `{"password":"carol's long passphrase"}`).decode(t, 200, &user)
	expect(do(admin, "PUT", "/api/v1/users/carol/password", `{"password":"short"}`), 400)
	expect(do(admin, "PUT", "/api/v1/users/nobody/password", `{"password":"a long enough password"}`), 404)
	var grants struct {
		Grants []control.RoleGrantView `json:"grants"`
	}
	do(admin, "GET", "/api/v1/role-grants?user=carol", nil).decode(t, 200, &grants)
	if len(grants.Grants) != 3 {
		t.Errorf("carol's grants = %+v, want compliance and auditor granted, auditor revoked", grants.Grants)
	}
	do(admin, "GET", "/api/v1/role-grants", nil).decode(t, 200, &grants)

	// Tokens: a new one works until it is revoked; disabling a user stops theirs.
	var tok control.NewToken
	do(admin, "POST", "/api/v1/tokens", control.TokenCreateParams{User: "carol", Description: "laptop", ExpiresIn: "720h"}).decode(t, 201, &tok)
	if !strings.HasPrefix(tok.Secret, "fdt_") {
		t.Errorf("new token = %+v", tok)
	}
	b.tokens["carol"] = tok.Secret
	expect(do(admin, "POST", "/api/v1/tokens", control.TokenCreateParams{User: "nobody"}), 404)
	expect(do(admin, "POST", "/api/v1/tokens", control.TokenCreateParams{User: "carol", ExpiresIn: "soon"}), 400)
	do("carol", "GET", "/api/v1/whoami", nil).decode(t, 200, &me)
	var tokens struct {
		Tokens []control.TokenView `json:"tokens"`
	}
	do(admin, "GET", "/api/v1/tokens?user=carol", nil).decode(t, 200, &tokens)
	if len(tokens.Tokens) != 1 || tokens.Tokens[0].LastUsedAt == nil || strings.Contains(string(do(admin, "GET", "/api/v1/tokens", nil).body), tok.Secret) {
		t.Errorf("carol's tokens = %+v, want one, used, without its secret", tokens)
	}
	var revoked control.TokenView
	do(admin, "DELETE", "/api/v1/tokens/"+tok.ID, nil).decode(t, 200, &revoked)
	if revoked.RevokedAt == nil {
		t.Errorf("revoked token = %+v", revoked)
	}
	expect(do("carol", "GET", "/api/v1/whoami", nil), 401)
	expect(do(admin, "DELETE", "/api/v1/tokens/"+noSuchRun, nil), 404)
	do(admin, "POST", "/api/v1/tokens", control.TokenCreateParams{User: "carol"}).decode(t, 201, &tok)
	b.tokens["carol"] = tok.Secret
	do(admin, "POST", "/api/v1/users/carol/disable", nil).decode(t, 200, &user)
	if !user.Disabled {
		t.Errorf("disabled user = %+v", user)
	}
	expect(do("carol", "GET", "/api/v1/whoami", nil), 401)
	expect(do(admin, "POST", "/api/v1/users/nobody/disable", nil), 404)

	// Findings, and what people record about the run.
	var fd control.FindingDetail
	do(sre, "POST", "/api/v1/findings", control.FindingAddParams{Title: "runbook misses the DNS step", Severity: "medium", Service: "payments",
		RunID: run.ID, Owner: "dana", DueAt: "2027-03-31"}).decode(t, 201, &fd)
	if fd.Finding.Status != drills.FindingOpen || fd.Finding.Plan != run.Plan || fd.Finding.DueAt == nil || len(fd.History) != 1 {
		t.Errorf("added finding = %+v", fd)
	}
	expect(do(sre, "POST", "/api/v1/findings", control.FindingAddParams{Title: "x", Severity: "medium", Service: "atlantis"}), 400)
	var findings control.FindingList
	do(viewer, "GET", "/api/v1/findings?status=open&service=payments&run="+run.ID+"&overdue=false&limit=10", nil).decode(t, 200, &findings)
	if len(findings.Findings) != 1 || findings.Findings[0].ID != fd.Finding.ID {
		t.Errorf("findings = %+v, want %s", findings, fd.Finding.ID)
	}
	expect(do(viewer, "GET", "/api/v1/findings?cursor=x", nil), 400)
	do(viewer, "GET", "/api/v1/findings/"+fd.Finding.ID, nil).decode(t, 200, &fd)
	expect(do(viewer, "GET", "/api/v1/findings/F-999999", nil), 404)
	do(compliance, "PATCH", "/api/v1/findings/"+fd.Finding.ID, `{"status":"in_progress","root_cause":"the runbook predates the DNS move","comment":"OPS-88"}`).decode(t, 200, &fd)
	if fd.Finding.Status != drills.FindingInProgress || len(fd.History) != 2 {
		t.Errorf("updated finding = %+v", fd)
	}
	expect(do(sre, "PATCH", "/api/v1/findings/"+fd.Finding.ID, `{"status":"retested"}`), 400)
	expect(do(sre, "PATCH", "/api/v1/findings/"+fd.Finding.ID, `{}`), 400)
	expect(do(sre, "POST", "/api/v1/findings/"+fd.Finding.ID+"/accept-risk", `{"reason":"x"}`), 403)
	expect(do(compliance, "POST", "/api/v1/findings/"+fd.Finding.ID+"/accept-risk", `{"reason":" "}`), 400)
	do(compliance, "POST", "/api/v1/findings/"+fd.Finding.ID+"/accept-risk", `{"reason":"the DNS move is done in Q1"}`).decode(t, 200, &fd)
	if fd.Finding.Status != drills.FindingRiskAccepted || fd.Finding.RiskAcceptedBy == nil || fd.Finding.RiskAcceptedBy.Name != compliance {
		t.Errorf("accepted finding = %+v", fd.Finding)
	}
	var participants struct {
		Participants []control.ParticipantView `json:"participants"`
	}
	do(sre, "POST", "/api/v1/runs/"+run.ID+"/participants", `{"participants":[{"name":"kim","role":"incident commander","attended":true},{"name":"lee","role":"dba","attended":false,"intended":true}]}`).decode(t, 200, &participants)
	if len(participants.Participants) != 2 || !participants.Participants[1].Intended || participants.Participants[1].Attended {
		t.Errorf("participants = %+v", participants)
	}
	expect(do(sre, "POST", "/api/v1/runs/"+run.ID+"/participants", `{"participants":[]}`), 400)
	expect(do(sre, "POST", "/api/v1/runs/"+noSuchRun+"/participants", `{"participants":[{"name":"kim","role":"ic","attended":true}]}`), 404)
	var note control.NoteView
	do(compliance, "POST", "/api/v1/runs/"+run.ID+"/notes", `{"kind":"deviation","text":"failover started 20 minutes late"}`).decode(t, 201, &note)
	expect(do(compliance, "POST", "/api/v1/runs/"+run.ID+"/notes", `{"kind":"rumour","text":"x"}`), 400)
	do(viewer, "GET", "/api/v1/runs/"+run.ID, nil).decode(t, 200, &view)
	if len(view.Participants) != 2 || len(view.Notes) != 1 || len(view.Findings) != 1 {
		t.Errorf("run view: participants %+v notes %+v findings %+v", view.Participants, view.Notes, view.Findings)
	}
	reportStory(t, do, expect)

	// The audit log holds what the story did, the refusals included.
	var audit control.AuditList
	do(compliance, "GET", "/api/v1/audit?operation=finding.accept_risk&outcome=ok&limit=10", nil).decode(t, 200, &audit)
	if len(audit.Entries) != 1 || audit.Entries[0].Actor.Name != compliance || audit.Entries[0].AuditSeq == 0 || audit.HeadSeq < audit.Entries[0].AuditSeq {
		t.Errorf("the audit log's accepted risk = %+v (head %d)", audit.Entries, audit.HeadSeq)
	}
	expect(do(compliance, "GET", "/api/v1/audit?outcome=maybe", nil), 400)

	// Refusals of the routes the story above only saw succeed.
	for _, rq := range []struct{ caller, method, path, body string }{
		{viewer, "GET", "/api/v1/approvals", ""},
		{drills.RoleAuditor, "GET", "/api/v1/freeze", ""},
		{viewer, "DELETE", "/api/v1/freeze", ""},
		{drills.RoleAuditor, "GET", "/api/v1/schedules", ""},
		{sre, "POST", "/api/v1/schedules/" + scheduleName + "/resume", "{}"},
		{drills.RoleAuditor, "GET", "/api/v1/services", ""},
		{drills.RoleAuditor, "GET", "/api/v1/sites", ""},
		{sre, "GET", "/api/v1/users", ""},
		{viewer, "GET", "/api/v1/role-grants", ""},
		{sre, "GET", "/api/v1/tokens", ""},
		{drills.RoleAuditor, "GET", "/api/v1/findings", ""},
		{viewer, "POST", "/api/v1/findings", `{"title":"x","severity":"low"}`},
		{drills.RoleAuditor, "GET", "/api/v1/findings/F-1", ""},
		{viewer, "POST", "/api/v1/runs/" + run.ID + "/notes", `{"kind":"lesson","text":"x"}`},
		{drills.RoleAuditor, "GET", "/api/v1/audit", ""},
	} {
		var body any
		if rq.body != "" {
			body = rq.body
		}
		expect(do(rq.caller, rq.method, rq.path, body), 403)
	}
	expect(do(admin, "POST", "/api/v1/users/viewer/roles", `{"role":"superuser"}`), 400)

	// Every route had a success and, unless it is public, a refusal validated.
	for _, rt := range web.Routes() {
		key := rt.Method + " " + rt.Pattern
		st := b.openapi.statuses(key)
		if !slices.ContainsFunc(st, func(s int) bool { return s < 300 }) {
			t.Errorf("%s: no success validated against openapi.json (statuses %v)", key, st)
		}
		if !rt.Public && !slices.ContainsFunc(st, func(s int) bool { return s >= 400 }) {
			t.Errorf("%s: no refusal validated against openapi.json (statuses %v)", key, st)
		}
	}
}
