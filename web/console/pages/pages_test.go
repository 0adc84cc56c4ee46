package pages_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/web/console/pages"
)

// pageOps is each page with the operation it needs (none: every signed-in caller sees it).
var pageOps = []struct {
	path string
	op   control.Operation
	// want is text the page shows to a caller who may see it.
	want string
}{
	{"/", "", "Dashboard"},
	{"/approvals", control.OpApprovalList, "Approvals inbox"},
	{"/runs", control.OpRunRead, "sangam-site-loss"},
	{"/findings", control.OpFindingRead, "Findings"},
	{"/reports", control.OpReportRead, "Reports"},
	{"/schedules", control.OpScheduleRead, "semiannual-sangam-loss"},
	{"/calendar", control.OpScheduleRead, "Calendar"},
	{"/services/auth", control.OpEstateRead, "Service history"},
}

var everyone = []string{drills.RoleAdmin, drills.RoleSRE, drills.RoleCompliance, drills.RoleAuditor, drills.RoleViewer}

// Every page renders for every role the authorization table lets see it, and answers 403
// naming the roles that would do to the others; nobody signed in goes to /login. The auditor,
// whose console is the regulator portal, has its own test (TestAuditorReachesOnlyThePortal).
func TestEveryPageForEveryRole(t *testing.T) {
	t.Parallel()
	c := setup(t)
	id := c.runDrill(t, "", 8*time.Minute)
	for _, p := range append(pageOps, struct {
		path string
		op   control.Operation
		want string
	}{"/runs/" + id, control.OpRunRead, "Timeline"}) {
		for _, role := range everyone {
			if role == drills.RoleAuditor {
				continue
			}
			got := c.get(t, role, p.path, "Accept-Language", "en")
			allowed := p.op == "" || control.Allowed(p.op, c.callers[role].Roles)
			switch {
			case allowed && (got.status != http.StatusOK || !strings.Contains(got.body, p.want)):
				t.Errorf("%s as %s: %d, want 200 showing %q:\n%s", p.path, role, got.status, p.want, excerpt(got.body))
			case !allowed && (got.status != http.StatusForbidden || !strings.Contains(got.body, strings.Join(control.Permissions[p.op], ", "))):
				t.Errorf("%s as %s: %d, want 403 naming the roles %v:\n%s", p.path, role, got.status, control.Permissions[p.op], excerpt(got.body))
			}
			if allowed && strings.Contains(got.body, "err.") {
				t.Errorf("%s as %s shows a message key, not its text", p.path, role)
			}
		}
		if got := c.get(t, "", p.path); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/login") {
			t.Errorf("%s signed out: %d to %q, want 303 to /login", p.path, got.status, got.location)
		}
	}
	// The navigation shows only the pages the caller may open.
	nav := c.get(t, drills.RoleViewer, "/").body
	if strings.Contains(nav, `href="/approvals"`) || strings.Contains(nav, `href="/reports"`) || !strings.Contains(nav, `href="/findings"`) {
		t.Errorf("the viewer's navigation offers the wrong pages:\n%s", excerpt(nav))
	}
}

// The dashboard shows each service's last drill and figures against the objective, the
// freeze, and what waits for my approval; overdue is said in words, not colour alone.
func TestDashboard(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	id := c.runDrill(t, "", 8*time.Minute)
	waiting := c.submit(t)
	if _, err := c.ctl.FreezeOn(ctx, c.callers[drills.RoleCompliance], &control.FreezeOnParams{Reason: "year-end close"}); err != nil {
		t.Fatal(err)
	}
	body := c.get(t, "sre2", "/?profile=kr-efsr", "Accept-Language", "en").body
	for _, want := range []string{"/runs/" + id, "8m00s", "30m00s", "✓", "met", "Change freeze in force", "year-end close",
		"/approvals#run-" + waiting, "Waiting for my approval", "remittance"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q:\n%s", want, excerpt(body))
		}
	}
	// The compliance column is the profile's evaluation of this year, in words with a mark.
	if !strings.Contains(body, "kr-efsr 2027") || !regexp.MustCompile(`<span class="badge (ok|warn|bad)"><span aria-hidden="true">[✓⚠✕]</span> (compliant|at risk|non-compliant)</span>`).MatchString(body) {
		t.Errorf("the dashboard has no compliance column under kr-efsr 2027:\n%s", excerpt(body))
	}
	// The requester cannot approve their own run: nothing waits for sre.
	if own := c.get(t, drills.RoleSRE, "/").body; strings.Contains(own, "/approvals#run-"+waiting) {
		t.Errorf("the requester's dashboard offers their own run for approval")
	}
	// A year on, every service is overdue: said in words and marked with an icon.
	c.clock.Advance(400 * 24 * time.Hour)
	late := c.get(t, drills.RoleViewer, "/", "Accept-Language", "ko").body
	if !strings.Contains(late, "기한 초과") || !strings.Contains(late, "⚠") {
		t.Errorf("a year later the dashboard does not say overdue in Korean with an icon:\n%s", excerpt(late))
	}
}

// Without a chosen profile the dashboard opens on the first one that speaks the reader's
// language: a Korean page on kr-efsr, whose reasons are Korean, not on eu-dora's English.
func TestDashboardDefaultsToAProfileInTheReadersLanguage(t *testing.T) {
	t.Parallel()
	c := setup(t)
	for lang, want := range map[string]string{"ko": "kr-efsr 2027", "en": "eu-dora 2027"} {
		if body := c.get(t, drills.RoleCompliance, "/", "Accept-Language", lang).body; !strings.Contains(body, want) {
			t.Errorf("the %s dashboard does not open on %s:\n%s", lang, want, excerpt(body))
		}
	}
}

// A server started without an estate still shows its dashboard (approvals, findings), saying
// why there are no services, instead of failing the page with a conflict.
func TestDashboardWithoutAnEstate(t *testing.T) {
	t.Parallel()
	c := setup(t)
	bare, err := control.New(control.Config{Store: c.st, Clock: c.clock})
	if err != nil {
		t.Fatal(err)
	}
	h, err := pages.New(pages.Config{Control: bare, Clock: c.clock,
		Caller:    func(*http.Request) (*control.Caller, error) { return c.callers[drills.RoleCompliance], nil },
		CSRFToken: func(*http.Request) string { return csrfToken }})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/?lang=en", nil)
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "No estate is loaded") || !strings.Contains(rec.Body.String(), "Open findings") {
		t.Errorf("the dashboard without an estate: %d\n%s", rec.Code, excerpt(rec.Body.String()))
	}
}

// Approving and rejecting go through control with the caller's role; the forms carry the
// CSRF token; a caller without the role is refused and nothing changes.
func TestApprovals(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	id := c.submit(t)
	inbox := c.get(t, "sre2", "/approvals", "Accept-Language", "en").body
	if !strings.Contains(inbox, `action="/approvals/`+id+`/approve"`) || !strings.Contains(inbox, `name="csrf_token" value="`+csrfToken+`"`) ||
		!strings.Contains(inbox, "SRE, Compliance officer") || !strings.Contains(inbox, "auth, payments, remittance") || !strings.Contains(inbox, "wait-allocations") {
		t.Fatalf("sre2's inbox has no approve form with the CSRF token and the missing roles:\n%s", excerpt(inbox))
	}
	// The roles as people read them, in Korean too.
	if ko := c.get(t, "sre2", "/approvals", "Accept-Language", "ko").body; !strings.Contains(ko, "SRE(운영), 준법감시인") {
		t.Errorf("the Korean inbox does not name the missing roles in Korean:\n%s", excerpt(ko))
	}
	if own := c.get(t, drills.RoleSRE, "/approvals").body; strings.Contains(own, `action="/approvals/`+id+`/approve"`) {
		t.Errorf("the requester is offered to approve their own run")
	}
	for _, who := range []string{drills.RoleViewer, drills.RoleAuditor, drills.RoleAdmin} {
		if got := c.post(t, who, "/approvals/"+id+"/approve", url.Values{"csrf_token": {csrfToken}}); got.status != http.StatusForbidden {
			t.Errorf("approve as %s: %d, want 403", who, got.status)
		}
	}
	// The refused attempts are in the audit trail, as control records them for every front end.
	denied, err := c.st.OperationList(ctx, &store.OperationListParams{Outcome: store.OutcomeDenied, ActorName: drills.RoleViewer, Limit: 100})
	if err != nil || len(denied) == 0 || denied[0].Actor.Via != drills.ViaWeb {
		t.Errorf("the viewer's refused approval is not recorded as denied via the web: %+v, %v", denied, err)
	}
	got := c.post(t, "sre2", "/approvals/"+id+"/approve", url.Values{"csrf_token": {csrfToken}, "comment": {"window agreed"}})
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/approvals?done=") {
		t.Fatalf("approve as sre2: %d to %q, want 303 back to the inbox", got.status, got.location)
	}
	v, err := c.ctl.RunGet(ctx, c.callers[drills.RoleAdmin], id)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Approvals) != 1 || v.Approvals[0].By.Name != "sre2" || v.Approvals[0].Comment != "window agreed" || !slices.Equal(v.MissingRoles, []string{drills.RoleCompliance}) {
		t.Errorf("after sre2 approved: approvals %+v, missing %v", v.Approvals, v.MissingRoles)
	}
	got = c.post(t, drills.RoleCompliance, "/approvals/"+id+"/reject", url.Values{"csrf_token": {csrfToken}, "comment": {"not in the freeze"}})
	if got.status != http.StatusSeeOther {
		t.Fatalf("reject as compliance: %d %s", got.status, excerpt(got.body))
	}
	if v, err := c.ctl.RunGet(ctx, c.callers[drills.RoleAdmin], id); err != nil || v.Run.State == drills.RunAwaitingApproval ||
		!slices.ContainsFunc(v.Approvals, func(a control.ApprovalView) bool {
			return a.By.Name == drills.RoleCompliance && a.Comment == "not in the freeze"
		}) {
		t.Errorf("after the rejection: %+v, %v", v, err)
	}
}

// The run detail draws one bar per step, T0 and T1, and the RTO objective; then the evidence,
// approvals and the audit chain's status.
func TestRunDetailTimeline(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ok := c.runDrill(t, "", 8*time.Minute)
	failed := c.runDrill(t, "promote", 0)
	body := c.get(t, drills.RoleViewer, "/runs/"+ok, "Accept-Language", "en").body
	bars := regexp.MustCompile(`<g class="step step-([a-z_]+)">`).FindAllStringSubmatch(body, -1)
	if len(bars) != len(theDrill) {
		t.Errorf("the timeline has %d bars, want one per step (%d)", len(bars), len(theDrill))
	}
	for _, want := range []string{">T0</text>", ">T1</text>", "RTO 30m00s", "Drain Sangam ingress", "Verified: ", "sre2", "ok for the drill window", "<svg class=\"gantt\"", "aria-labelledby=\"gantt-title gantt-desc\""} {
		if !strings.Contains(body, want) {
			t.Errorf("run detail lacks %q", want)
		}
	}
	if !strings.Contains(body, `<pre class="evidence">{&#34;checked&#34;: true}</pre>`) && !strings.Contains(body, `<pre class="evidence">{&#34;checked&#34;:true}</pre>`) {
		t.Errorf("run detail does not show the steps' evidence")
	}
	if list := c.get(t, drills.RoleViewer, "/runs", "Accept-Language", "en").body; !strings.Contains(list, "8m00s") {
		t.Errorf("the run list does not show the run's RTO")
	}
	fb := c.get(t, drills.RoleViewer, "/runs/"+failed, "Accept-Language", "en").body
	if !strings.Contains(fb, `<g class="step step-failed">`) || !strings.Contains(fb, "✕") || !strings.Contains(fb, "remittance depends on auth") || !strings.Contains(fb, "Not passed") {
		t.Errorf("the failed run's detail does not mark the failed step with a cross and its error:\n%s", excerpt(fb))
	}
	if bars := strings.Count(fb, `<g class="step `); bars != 3 {
		t.Errorf("the failed run drew %d bars, want 3 (it stopped at promote)", bars)
	}
	if got := c.get(t, drills.RoleViewer, "/runs/no-such-run"); got.status != http.StatusNotFound {
		t.Errorf("an unknown run: %d, want 404", got.status)
	}
	hist := c.get(t, drills.RoleSRE, "/services/auth", "Accept-Language", "en").body
	if n := strings.Count(hist, `<g class="pt pt-`); n != 4 { // two drills, an RTO and an RPO point each
		t.Errorf("the history charts have %d points, want 4:\n%s", n, excerpt(hist))
	}
	if !strings.Contains(hist, `class="pt pt-none"`) || !strings.Contains(hist, `polyline class="objective"`) {
		t.Errorf("the history does not mark the unmeasured RTO or draw the objective")
	}
}

// Findings are added and updated through control by the roles that may; the others neither
// see the forms nor get them through.
func TestFindings(t *testing.T) {
	t.Parallel()
	c := setup(t)
	if body := c.get(t, drills.RoleViewer, "/findings").body; strings.Contains(body, `method="post" action="/findings"`) {
		t.Errorf("the viewer is shown the form to add a finding")
	}
	form := url.Values{"csrf_token": {csrfToken}, "title": {"Failover runbook misses the DNS step"}, "severity": {"high"}, "service": {"auth"}, "due_at": {"2027-04-01"}}
	if got := c.post(t, drills.RoleViewer, "/findings", form); got.status != http.StatusForbidden {
		t.Errorf("add as viewer: %d, want 403", got.status)
	}
	bad := url.Values{"csrf_token": {csrfToken}, "title": {"x"}, "severity": {"dire"}}
	if got := c.post(t, drills.RoleSRE, "/findings", bad); got.status != http.StatusBadRequest || !strings.Contains(got.body, "severity") {
		t.Errorf("add with a bad severity: %d, want 400 naming severity:\n%s", got.status, excerpt(got.body))
	}
	got := c.post(t, drills.RoleSRE, "/findings", form)
	if got.status != http.StatusSeeOther {
		t.Fatalf("add as sre: %d %s", got.status, excerpt(got.body))
	}
	list, err := c.ctl.FindingList(context.Background(), c.callers[drills.RoleAdmin], &control.FindingListParams{})
	if err != nil || len(list.Findings) != 1 {
		t.Fatalf("findings after the add: %+v, %v", list, err)
	}
	fid := list.Findings[0].ID
	body := c.get(t, drills.RoleCompliance, "/findings", "Accept-Language", "en").body
	if !strings.Contains(body, "Failover runbook misses the DNS step") || !strings.Contains(body, `action="/findings/`+fid+`"`) {
		t.Errorf("the findings page does not list the finding with its update form:\n%s", excerpt(body))
	}
	if got := c.post(t, drills.RoleCompliance, "/findings/"+fid, url.Values{"csrf_token": {csrfToken}, "status": {"in_progress"}, "owner": {"kim"}, "comment": {"on it"}}); got.status != http.StatusSeeOther {
		t.Fatalf("update as compliance: %d %s", got.status, excerpt(got.body))
	}
	if got := c.post(t, drills.RoleAuditor, "/findings/"+fid, url.Values{"csrf_token": {csrfToken}, "status": {"fixed"}}); got.status != http.StatusForbidden {
		t.Errorf("update as auditor: %d, want 403", got.status)
	}
	d, err := c.ctl.FindingGet(context.Background(), c.callers[drills.RoleAdmin], fid)
	if err != nil || d.Finding.Status != drills.FindingInProgress || d.Finding.Owner != "kim" {
		t.Errorf("after the update: %+v, %v", d, err)
	}
}

// Reports are exported, published and downloaded through control; an auditor sees only
// published ones and no buttons.
func TestReports(t *testing.T) {
	t.Parallel()
	c := setup(t)
	c.runDrill(t, "", 8*time.Minute)
	if got := c.post(t, drills.RoleSRE, "/reports", url.Values{"csrf_token": {csrfToken}, "profile": {"kr-efsr"}, "period": {"2027"}}); got.status != http.StatusForbidden {
		t.Errorf("export as sre: %d, want 403", got.status)
	}
	if got := c.post(t, drills.RoleCompliance, "/reports", url.Values{"csrf_token": {csrfToken}, "profile": {"kr-efsr"}, "period": {"2027-13"}}); got.status != http.StatusBadRequest || !strings.Contains(got.body, "period") {
		t.Errorf("export of an unknown period: %d, want 400 naming the period", got.status)
	}
	got := c.post(t, drills.RoleCompliance, "/reports", url.Values{"csrf_token": {csrfToken}, "profile": {"kr-efsr"}, "period": {"2027"}, "lang": {"ko"}})
	if got.status != http.StatusSeeOther {
		t.Fatalf("export as compliance: %d %s", got.status, excerpt(got.body))
	}
	reports, err := c.ctl.ReportList(context.Background(), c.callers[drills.RoleCompliance], &control.ReportListParams{})
	if err != nil || len(reports) != 1 {
		t.Fatalf("reports: %v, %v", reports, err)
	}
	rid := reports[0].ID
	if body := c.get(t, drills.RoleAuditor, "/reports").body; strings.Contains(body, rid[len(rid)-8:]) {
		t.Errorf("the auditor sees a draft")
	}
	if body := c.get(t, drills.RoleCompliance, "/reports").body; !strings.Contains(body, `action="/reports/`+rid+`/publish"`) {
		t.Errorf("compliance is not offered to publish the draft")
	}
	if got := c.post(t, drills.RoleAdmin, "/reports/"+rid+"/publish", url.Values{"csrf_token": {csrfToken}}); got.status != http.StatusForbidden {
		t.Errorf("publish as admin: %d, want 403", got.status)
	}
	if got := c.post(t, drills.RoleCompliance, "/reports/"+rid+"/publish", url.Values{"csrf_token": {csrfToken}}); got.status != http.StatusSeeOther {
		t.Fatalf("publish as compliance: %d %s", got.status, excerpt(got.body))
	}
	body := c.get(t, drills.RoleAuditor, "/reports").body
	if !strings.Contains(body, rid[len(rid)-8:]) || strings.Contains(body, "/publish") || strings.Contains(body, `method="post" action="/reports"`) {
		t.Errorf("the auditor's reports page: published report missing, or buttons shown:\n%s", excerpt(body))
	}
	zip := c.get(t, drills.RoleAuditor, "/reports/"+rid+"/bundle")
	if zip.status != http.StatusOK || zip.header.Get("Content-Type") != "application/zip" || !strings.HasPrefix(zip.body, "PK") {
		t.Errorf("download as auditor: %d %s", zip.status, zip.header.Get("Content-Type"))
	}
	if got := c.get(t, drills.RoleSRE, "/reports/"+rid+"/bundle"); got.status != http.StatusForbidden {
		t.Errorf("download as sre: %d, want 403", got.status)
	}
}

// Schedules are paused and resumed by compliance only.
func TestSchedulesPauseResume(t *testing.T) {
	t.Parallel()
	c := setup(t)
	const name = "semiannual-sangam-loss"
	if body := c.get(t, drills.RoleSRE, "/schedules").body; strings.Contains(body, "/schedules/"+name+"/pause") {
		t.Errorf("sre is shown the pause button")
	}
	if got := c.post(t, drills.RoleSRE, "/schedules/"+name+"/pause", url.Values{"csrf_token": {csrfToken}, "reason": {"x"}}); got.status != http.StatusForbidden {
		t.Errorf("pause as sre: %d, want 403", got.status)
	}
	if got := c.post(t, drills.RoleCompliance, "/schedules/"+name+"/pause", url.Values{"csrf_token": {csrfToken}, "reason": {"audit week"}}); got.status != http.StatusSeeOther {
		t.Fatalf("pause as compliance: %d %s", got.status, excerpt(got.body))
	}
	body := c.get(t, drills.RoleCompliance, "/schedules", "Accept-Language", "en").body
	if !strings.Contains(body, "paused by compliance") || !strings.Contains(body, "/schedules/"+name+"/resume") {
		t.Errorf("after the pause the page does not say paused or offer resume:\n%s", excerpt(body))
	}
}

// The calendar places each fire on its day in the reader's zone, and says in words (and a
// mark) which fires a blackout skips.
func TestCalendar(t *testing.T) {
	t.Parallel()
	c := setup(t)
	march := c.get(t, drills.RoleViewer, "/calendar?month=2027-03", "Accept-Language", "en").body
	if !regexp.MustCompile(`(?s)<div class="day">15</div>\s*<div class="fire"><span aria-hidden="true">◷</span> 2027-03-15 02:00 KST`).MatchString(march) {
		t.Errorf("March does not show the 02:00 KST fire on the 15th:\n%s", excerpt(march))
	}
	september := c.get(t, drills.RoleViewer, "/calendar?month=2027-09", "Accept-Language", "en").body
	if !strings.Contains(september, `<div class="fire blackout"`) || !strings.Contains(september, "Skipped: semiannual-sangam-loss") || !strings.Contains(september, "holidays") {
		t.Errorf("September does not show the fire the holidays blackout skips:\n%s", excerpt(september))
	}
	// In UTC the 02:00 KST fire falls on the 14th.
	utc := c.get(t, drills.RoleViewer, "/calendar?month=2027-03&tz=UTC", "Accept-Language", "en").body
	if !regexp.MustCompile(`(?s)<div class="day">14</div>\s*<div class="fire">`).MatchString(utc) {
		t.Errorf("in UTC the fire is not on the 14th")
	}
	if got := c.get(t, drills.RoleViewer, "/calendar?month=March"); got.status != http.StatusBadRequest || !strings.Contains(got.body, "month") {
		t.Errorf("a bad month: %d, want 400 naming the month", got.status)
	}
}

// Every state-changing form on every page carries the CSRF token.
func TestEveryPostFormCarriesTheCSRFToken(t *testing.T) {
	t.Parallel()
	c := setup(t)
	id := c.runDrill(t, "", 8*time.Minute)
	c.submit(t)
	if _, err := c.ctl.FindingAdd(context.Background(), c.callers[drills.RoleSRE], &control.FindingAddParams{Title: "a finding", Severity: "low"}); err != nil {
		t.Fatal(err)
	}
	form := regexp.MustCompile(`(?s)<form method="post"[^>]*>.*?</form>`)
	forms := 0
	for _, path := range []string{"/", "/approvals", "/findings", "/reports", "/schedules", "/runs/" + id} {
		for _, role := range []string{drills.RoleCompliance, "sre2"} {
			for _, f := range form.FindAllString(c.get(t, role, path).body, -1) {
				forms++
				if !strings.Contains(f, `<input type="hidden" name="csrf_token" value="`+csrfToken+`">`) {
					t.Errorf("%s as %s: a form without the CSRF token: %s", path, role, f)
				}
			}
		}
	}
	if forms < 6 {
		t.Errorf("only %d forms checked; the pages lost their forms", forms)
	}
}

// The language follows Accept-Language, and the lang switch overrides it and is remembered;
// dates follow the tz setting.
func TestLanguageAndZone(t *testing.T) {
	t.Parallel()
	c := setup(t)
	id := c.runDrill(t, "", 8*time.Minute)
	ko := c.get(t, drills.RoleViewer, "/runs", "Accept-Language", "ko-KR,ko;q=0.9,en;q=0.5")
	if !strings.Contains(ko.body, "훈련 실행") || !strings.Contains(ko.body, `lang="ko"`) || !strings.Contains(ko.body, "KST") {
		t.Errorf("Korean Accept-Language: no Korean page in Seoul time:\n%s", excerpt(ko.body))
	}
	en := c.get(t, drills.RoleViewer, "/runs/"+id+"?lang=en&tz=UTC", "Accept-Language", "ko")
	if !strings.Contains(en.body, "Timeline") || !strings.Contains(en.body, " UTC") || strings.Contains(en.body, "KST") {
		t.Errorf("lang=en&tz=UTC: not an English page in UTC")
	}
	cookies := en.header.Values("Set-Cookie")
	if len(cookies) != 2 || !strings.Contains(strings.Join(cookies, ";"), "HttpOnly") {
		t.Errorf("the switches are not remembered in HttpOnly cookies: %v", cookies)
	}
	// The switch keeps the page's own query (its filter) and drops the one-time notice.
	filtered := c.get(t, drills.RoleViewer, "/runs?state=succeeded&done=approved&lang=ko")
	if !strings.Contains(filtered.body, `<input type="hidden" name="state" value="succeeded">`) || strings.Contains(filtered.body, `name="done"`) || strings.Contains(filtered.body, `type="hidden" name="lang"`) {
		t.Errorf("the language switch does not carry the page's filter over, or carries what it sets itself:\n%s", excerpt(filtered.body))
	}
	if bad := c.get(t, drills.RoleViewer, "/runs?tz=Mars/Olympus", "Accept-Language", "en"); bad.status != http.StatusOK || !strings.Contains(bad.body, "KST") {
		t.Errorf("an unknown zone does not fall back to Seoul")
	}
}

func excerpt(s string) string {
	if i := strings.Index(s, `<main`); i >= 0 {
		s = s[i:]
	}
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}
