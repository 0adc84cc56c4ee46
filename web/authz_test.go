package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/web"
)

// noSuchRun is a well-formed run id that names no run.
const noSuchRun = "00000000-0000-4000-8000-000000000000"

// noSuchFinding is a well-formed finding id that names no finding.
const noSuchFinding = "F-999999"

// routeRequests returns, for every route ("METHOD pattern"), a well-formed request that a
// caller whose roles allow the route may send without the rules refusing it for another
// reason (its targets are users and runs no other request depends on).
func routeRequests(t testing.TB, b *bundle, suffix string) map[string]request {
	return map[string]request{
		"GET /api/v1/openapi.json": {method: "GET", path: "/api/v1/openapi.json"},
		"GET /api/v1/whoami":       {method: "GET", path: "/api/v1/whoami"},
		"GET /api/v1/runs":         {method: "GET", path: "/api/v1/runs?state=pending&limit=10"},
		"POST /api/v1/runs": {method: "POST", path: "/api/v1/runs", body: jsonBody(t, control.RunSubmitParams{
			PlanFile: "plans/site-loss.hcl", PlanSource: b.planSrc, Comment: "authz " + suffix})},
		"GET /api/v1/runs/{id}":                       {method: "GET", path: "/api/v1/runs/" + noSuchRun},
		"POST /api/v1/runs/{id}/approve":              {method: "POST", path: "/api/v1/runs/" + noSuchRun + "/approve", body: []byte(`{"comment":"ok"}`)},
		"POST /api/v1/runs/{id}/reject":               {method: "POST", path: "/api/v1/runs/" + noSuchRun + "/reject", body: []byte(`{}`)},
		"POST /api/v1/runs/{id}/abort":                {method: "POST", path: "/api/v1/runs/" + noSuchRun + "/abort", body: []byte(`{"reason":"authz"}`)},
		"POST /api/v1/runs/{id}/steps/{key}/decision": {method: "POST", path: "/api/v1/runs/" + noSuchRun + "/steps/verify/decision", body: []byte(`{"decision":"done"}`)},
		"GET /api/v1/approvals":                       {method: "GET", path: "/api/v1/approvals"},
		"POST /api/v1/runs/{id}/participants":         {method: "POST", path: "/api/v1/runs/" + noSuchRun + "/participants", body: []byte(`{"participants":[{"name":"kim","role":"ic","attended":true}]}`)},
		"POST /api/v1/runs/{id}/notes":                {method: "POST", path: "/api/v1/runs/" + noSuchRun + "/notes", body: []byte(`{"kind":"lesson","text":"authz"}`)},
		"GET /api/v1/findings":                        {method: "GET", path: "/api/v1/findings?status=open&overdue=true&limit=10"},
		"POST /api/v1/findings":                       {method: "POST", path: "/api/v1/findings", body: jsonBody(t, control.FindingAddParams{Title: "authz " + suffix, Severity: "low"})},
		"GET /api/v1/findings/{id}":                   {method: "GET", path: "/api/v1/findings/" + noSuchFinding},
		"PATCH /api/v1/findings/{id}":                 {method: "PATCH", path: "/api/v1/findings/" + noSuchFinding, body: []byte(`{"comment":"authz"}`)},
		"POST /api/v1/findings/{id}/accept-risk":      {method: "POST", path: "/api/v1/findings/" + noSuchFinding + "/accept-risk", body: []byte(`{"reason":"authz"}`)},
		"GET /api/v1/freeze":                          {method: "GET", path: "/api/v1/freeze"},
		"PUT /api/v1/freeze":                          {method: "PUT", path: "/api/v1/freeze", body: []byte(`{"reason":"authz"}`)},
		"DELETE /api/v1/freeze":                       {method: "DELETE", path: "/api/v1/freeze"},
		"GET /api/v1/schedules":                       {method: "GET", path: "/api/v1/schedules"},
		"GET /api/v1/schedules/{name}":                {method: "GET", path: "/api/v1/schedules/" + scheduleName},
		"POST /api/v1/schedules/{name}/pause":         {method: "POST", path: "/api/v1/schedules/" + scheduleName + "/pause", body: []byte(`{"reason":"authz"}`)},
		"POST /api/v1/schedules/{name}/resume":        {method: "POST", path: "/api/v1/schedules/" + scheduleName + "/resume", body: []byte(`{}`)},
		"GET /api/v1/calendar":                        {method: "GET", path: "/api/v1/calendar?from=2027-01-01&to=2027-12-31"},
		"GET /api/v1/services":                        {method: "GET", path: "/api/v1/services"},
		"GET /api/v1/sites":                           {method: "GET", path: "/api/v1/sites"},
		"POST /api/v1/plans/validate":                 {method: "POST", path: "/api/v1/plans/validate", body: jsonBody(t, control.PlanValidateParams{PlanFile: "plans/site-loss.hcl", PlanSource: b.planSrc})},
		"GET /api/v1/profiles":                        {method: "GET", path: "/api/v1/profiles"},
		"GET /api/v1/profiles/{id}":                   {method: "GET", path: "/api/v1/profiles/kr-efsr"},
		"GET /api/v1/users":                           {method: "GET", path: "/api/v1/users"},
		"POST /api/v1/users":                          {method: "POST", path: "/api/v1/users", body: jsonBody(t, control.UserCreateParams{Name: "new-" + suffix, Roles: []string{drills.RoleViewer}})},
		"GET /api/v1/users/{name}":                    {method: "GET", path: "/api/v1/users/" + drills.RoleViewer},
		"POST /api/v1/users/{name}/disable":           {method: "POST", path: "/api/v1/users/victim-" + suffix + "/disable"},
		"POST /api/v1/users/{name}/roles":             {method: "POST", path: "/api/v1/users/victim-" + suffix + "/roles", body: []byte(`{"role":"auditor"}`)},
		"DELETE /api/v1/users/{name}/roles/{role}":    {method: "DELETE", path: "/api/v1/users/victim-" + suffix + "/roles/viewer"},
		"PUT /api/v1/users/{name}/password":           {method: "PUT", path: "/api/v1/users/victim-" + suffix + "/password", body: []byte(`{"password":"a long enough password"}`)},
		"GET /api/v1/role-grants":                     {method: "GET", path: "/api/v1/role-grants?user=" + drills.RoleViewer},
		"GET /api/v1/tokens":                          {method: "GET", path: "/api/v1/tokens?user=" + drills.RoleViewer},
		"POST /api/v1/tokens":                         {method: "POST", path: "/api/v1/tokens", body: []byte(`{"user":"victim-` + suffix + `","expires_in":"24h"}`)},
		"DELETE /api/v1/tokens/{id}":                  {method: "DELETE", path: "/api/v1/tokens/" + noSuchRun},
		"GET /api/v1/audit":                           {method: "GET", path: "/api/v1/audit?outcome=denied&since=2026-01-01T00:00:00Z&text=may+not&limit=5"},
		"GET /api/v1/reports":                         {method: "GET", path: "/api/v1/reports?state=published&limit=5"},
		"POST /api/v1/reports":                        {method: "POST", path: "/api/v1/reports", body: []byte(`{"profile":"kr-efsr","period":"2026"}`)},
		"GET /api/v1/reports/{id}":                    {method: "GET", path: "/api/v1/reports/R-none"},
		"GET /api/v1/reports/{id}/bundle":             {method: "GET", path: "/api/v1/reports/R-none/bundle"},
		"GET /api/v1/reports/{id}/runs":               {method: "GET", path: "/api/v1/reports/R-none/runs?limit=10"},
		"GET /api/v1/signing-key":                     {method: "GET", path: "/api/v1/signing-key"},
		"POST /api/v1/reports/{id}/publish":           {method: "POST", path: "/api/v1/reports/R-none/publish"},
	}
}

// TestEveryRouteWithEveryCaller walks every route of the route table with every role and
// with every kind of token that must not get in, and checks allow or deny against
// control.Permissions: an allowed caller is neither refused (401, 403) nor met with a 5xx; a
// role the table does not name gets 403; a missing, unknown, expired or revoked token, or a
// disabled user's, gets 401 with WWW-Authenticate: Bearer.
func TestEveryRouteWithEveryCaller(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	admin := b.callers[drills.RoleAdmin]
	callers := append(slices.Clone(drills.Roles), badCallers...)
	for _, caller := range callers {
		// Each caller's writes go to targets of its own.
		suffix := strings.ReplaceAll(caller, " ", "-")
		suffix = strings.ReplaceAll(suffix, "'", "")
		if _, err := b.ctl.UserCreate(ctx, admin, &control.UserCreateParams{Name: "victim-" + suffix, Roles: []string{drills.RoleViewer}}); err != nil {
			t.Fatalf("UserCreate(victim-%s): %v", suffix, err)
		}
		requests := routeRequests(t, b, suffix)
		for _, rt := range web.Routes() {
			key := rt.Method + " " + rt.Pattern
			rq, ok := requests[key]
			if !ok {
				t.Errorf("route %s has no request in the test's table", key)
				continue
			}
			t.Run(key+" as "+caller, func(t *testing.T) {
				t.Parallel()
				r := b.do(t, caller, rq)
				var roles []string
				if drills.IsRole(caller) {
					roles = []string{caller}
				}
				switch {
				case rt.Public || (roles != nil && rt.Allows(roles)):
					if r.status == http.StatusForbidden && control.Scoped(rt.Operation, b.callers[caller]) &&
						strings.Contains(r.apiError(t).Error.Message, control.Scopes[rt.Operation].Reaches) {
						return // allowed, but not to this target: TestAuditorReadsOnlyCoveredRuns checks the scope
					}
					if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden || r.status >= 500 {
						t.Errorf("%s as %s = %s; control.Permissions[%q] = %v allows it", key, caller, r, rt.Operation, control.Permissions[rt.Operation])
					}
				case roles != nil:
					if r.status != http.StatusForbidden || r.apiError(t).Error.Code != string(control.CategoryForbidden) {
						t.Errorf("%s as %s = %s, want 403 forbidden: control.Permissions[%q] = %v", key, caller, r, rt.Operation, control.Permissions[rt.Operation])
					}
				default:
					if r.status != http.StatusUnauthorized || r.apiError(t).Error.Code != string(control.CategoryUnauthenticated) {
						t.Errorf("%s with %s = %s, want 401 unauthenticated", key, caller, r)
					}
					if h := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
						t.Errorf("%s with %s: WWW-Authenticate = %q, want Bearer", key, caller, h)
					}
				}
			})
		}
	}
	if n := len(routeRequests(t, b, "")); n != len(web.Routes()) {
		t.Errorf("the test's table has %d requests for %d routes", n, len(web.Routes()))
	}
}
