package pages_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// postForm matches a state-changing form of a page.
var postForm = regexp.MustCompile(`(?s)<form method="post"[^>]*>.*?</form>`)

// requireCSRF fails when a post form of body lacks the test's CSRF token, and returns how
// many forms it checked.
func requireCSRF(t *testing.T, what, body string) int {
	t.Helper()
	forms := postForm.FindAllString(body, -1)
	for _, f := range forms {
		if !strings.Contains(f, `<input type="hidden" name="csrf_token" value="`+csrfToken+`">`) {
			t.Errorf("%s: a form without the CSRF token: %s", what, f)
		}
	}
	return len(forms)
}

// forbiddenFor checks that path answers 403 naming op's roles to every role without op,
// and 200 to the others.
func forbiddenFor(t *testing.T, c *console, path string, op control.Operation) {
	t.Helper()
	for _, role := range everyone {
		got := c.get(t, role, path, "Accept-Language", "en")
		allowed := control.Allowed(op, c.callers[role].Roles)
		switch {
		case allowed && got.status != http.StatusOK:
			t.Errorf("%s as %s: %d, want 200:\n%s", path, role, got.status, excerpt(got.body))
		case !allowed && (got.status != http.StatusForbidden || !strings.Contains(got.body, strings.Join(control.Permissions[op], ", "))):
			t.Errorf("%s as %s: %d, want 403 naming %v:\n%s", path, role, got.status, control.Permissions[op], excerpt(got.body))
		}
	}
}

const demoPlanFile = "plans/site-loss.hcl"

// The plans page lists the schedules' plans validated; a plan's page shows its source
// numbered and escaped, what it touches and the approvals it needs, and an SRE starts it
// from there: the run waits for approval.
func TestPlans(t *testing.T) {
	t.Parallel()
	c := setup(t)
	forbiddenFor(t, c, "/plans", control.OpPlanValidate)
	forbiddenFor(t, c, "/plans/view?file="+demoPlanFile, control.OpPlanValidate)

	list := c.get(t, drills.RoleSRE, "/plans", "Accept-Language", "en").body
	for _, want := range []string{`href="/plans/view?file=plans%2fsite-loss.hcl"`, "sangam-site-loss", "semiannual-sangam-loss", "✓</span> Valid", `href="/plans"`} {
		if !strings.Contains(list, want) {
			t.Errorf("the plans page lacks %q:\n%s", want, excerpt(list))
		}
	}
	if strings.Contains(c.get(t, drills.RoleViewer, "/").body, `href="/plans"`) {
		t.Errorf("the viewer's navigation offers the plans page")
	}

	detail := c.get(t, drills.RoleSRE, "/plans/view?file="+url.QueryEscape(demoPlanFile), "Accept-Language", "en").body
	for _, want := range []string{`id="plan-start"`, `name="file" value="plans/site-loss.hcl"`, "The plan is valid against the estate.",
		"sangam → yatap", "auth, payments, remittance", "sre, compliance", "24h", `id="L5"`,
		`<code>plan &#34;sangam-site-loss&#34; {</code>`, "nomad.drain_site", "T0 (disaster declared)"} {
		if !strings.Contains(detail, want) {
			t.Errorf("the plan's page lacks %q:\n%s", want, excerpt(detail))
		}
	}
	if n := requireCSRF(t, "plan page", detail); n < 2 {
		t.Errorf("the plan page has %d post forms, want the start form and sign-out", n)
	}
	// Only those who may submit runs see the button, and the others are refused.
	if comp := c.get(t, drills.RoleCompliance, "/plans/view?file="+demoPlanFile).body; strings.Contains(comp, `id="plan-start"`) {
		t.Errorf("compliance is offered to start a drill")
	}
	if got := c.post(t, drills.RoleCompliance, "/plans/start", url.Values{"csrf_token": {csrfToken}, "file": {demoPlanFile}}); got.status != http.StatusForbidden {
		t.Errorf("start as compliance: %d, want 403", got.status)
	}
	for _, bad := range []string{"firedrill.hcl", "../firedrill.hcl", "plans/none.hcl", "/etc/passwd"} {
		if got := c.get(t, drills.RoleSRE, "/plans/view?file="+url.QueryEscape(bad)); got.status != http.StatusNotFound {
			t.Errorf("plan %q: %d, want 404 (only the plans the server lists are read)", bad, got.status)
		}
	}
	if got := c.get(t, drills.RoleSRE, "/plans/view"); got.status != http.StatusBadRequest || !strings.Contains(got.body, "file") {
		t.Errorf("no file: %d, want 400 naming file", got.status)
	}

	got := c.post(t, drills.RoleSRE, "/plans/start", url.Values{"csrf_token": {csrfToken}, "file": {demoPlanFile}, "comment": {"quarterly drill"}})
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/runs/") {
		t.Fatalf("start as sre: %d to %q, want 303 to the run:\n%s", got.status, got.location, excerpt(got.body))
	}
	id := strings.TrimPrefix(strings.SplitN(got.location, "?", 2)[0], "/runs/")
	run, err := c.ctl.RunGet(context.Background(), c.callers[drills.RoleSRE], id)
	if err != nil {
		t.Fatal(err)
	}
	if run.Run.State != drills.RunAwaitingApproval || run.Run.Plan != "sangam-site-loss" || run.Run.RequestedBy.Name != drills.RoleSRE {
		t.Errorf("the started run is %s of %s by %s, want awaiting_approval of sangam-site-loss by sre", run.Run.State, run.Run.Plan, run.Run.RequestedBy.Name)
	}
	if page := c.get(t, drills.RoleSRE, got.location, "Accept-Language", "en"); page.status != http.StatusOK || !strings.Contains(page.body, "submitted sangam-site-loss") {
		t.Errorf("the run's page after the start: %d without the notice:\n%s", page.status, excerpt(page.body))
	}
}

// Pasted source is validated against the estate: the errors name file:line and mark the
// line; the source is escaped; nothing is started from it.
func TestPlanValidatePasted(t *testing.T) {
	t.Parallel()
	c := setup(t)
	broken := strings.Replace(c.planSrc, `to          = "yatap"`, `to          = "busan"`, 1) + "\n# <script>alert(1)</script>\n"
	got := c.post(t, drills.RoleCompliance, "/plans/validate", url.Values{"csrf_token": {csrfToken}, "plan_source": {broken}})
	if got.status != http.StatusOK {
		t.Fatalf("validate as compliance: %d\n%s", got.status, excerpt(got.body))
	}
	v, err := c.ctl.PlanValidate(context.Background(), c.callers[drills.RoleCompliance], &control.PlanValidateParams{PlanFile: "plans/pasted.hcl", PlanSource: broken})
	if err != nil || v.Valid || len(v.Diagnostics) == 0 {
		t.Fatalf("the broken plan validates: %+v %v", v, err)
	}
	line := v.Diagnostics[0].Line
	for _, want := range []string{"not valid against the estate: " + strconv.Itoa(v.ErrorCount()) + " problem(s)", `href="#L` + strconv.Itoa(line) + `"`, "plans/pasted.hcl:" + strconv.Itoa(line) + ":",
		`<tr id="L` + strconv.Itoa(line) + `" class="src-problem">`, "busan", "&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(got.body, want) {
			t.Errorf("the pasted plan's validation lacks %q:\n%s", want, excerpt(got.body))
		}
	}
	if strings.Contains(got.body, "<script>") || strings.Contains(got.body, `id="plan-start"`) {
		t.Errorf("the pasted plan's page has raw script or a start button")
	}
	ok := c.post(t, drills.RoleAdmin, "/plans/validate", url.Values{"csrf_token": {csrfToken}, "plan_source": {c.planSrc}, "plan_file": {"plans/mine.hcl"}})
	if ok.status != http.StatusOK || !strings.Contains(ok.body, "The plan is valid against the estate.") || !strings.Contains(ok.body, "plans/mine.hcl") {
		t.Errorf("a valid pasted plan: %d\n%s", ok.status, excerpt(ok.body))
	}
	if bad := c.post(t, drills.RoleSRE, "/plans/validate", url.Values{"csrf_token": {csrfToken}, "plan_source": {c.planSrc}, "plan_file": {"../x.hcl"}}); bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "plan_file") {
		t.Errorf("a plan file outside the estate: %d, want 400 naming plan_file", bad.status)
	}
	if got := c.post(t, drills.RoleViewer, "/plans/validate", url.Values{"csrf_token": {csrfToken}, "plan_source": {c.planSrc}}); got.status != http.StatusForbidden {
		t.Errorf("validate as viewer: %d, want 403", got.status)
	}
	huge := url.Values{"csrf_token": {csrfToken}, "plan_source": {strings.Repeat("#", 300<<10)}}
	if got := c.post(t, drills.RoleSRE, "/plans/validate", huge); got.status != http.StatusBadRequest {
		t.Errorf("a 300 KiB paste: %d, want 400", got.status)
	}
}

// The language switch on a page a form answered (a pasted plan's validation, a new token)
// asks for it with GET: it lands on the form's page, not on a 405.
func TestSwitchesOnFormResultsLand(t *testing.T) {
	t.Parallel()
	c := setup(t)
	for _, p := range []struct{ path, to string }{
		{"/plans/validate?lang=ko&tz=Asia%2FSeoul", "/plans?lang=ko&tz=Asia%2FSeoul"},
		{"/users/sre2/tokens?lang=en", "/users/sre2?lang=en"},
	} {
		if got := c.get(t, drills.RoleAdmin, p.path); got.status != http.StatusSeeOther || got.location != p.to {
			t.Errorf("GET %s: %d to %q, want 303 to %s", p.path, got.status, got.location, p.to)
		}
	}
}
