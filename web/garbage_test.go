package web_test

import (
	"bytes"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/web"
)

// allowedCaller returns a role the route allows.
func allowedCaller(rt web.Route) string {
	for _, role := range drills.Roles {
		if rt.Allows([]string{role}) {
			return role
		}
	}
	return drills.RoleAdmin
}

// wrongValue returns a JSON value of another type than the Go type decodes from.
func wrongValue(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		// An optional field takes its element's JSON (or null).
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return `12`
	case reflect.Bool:
		return `"yes"`
	case reflect.Slice:
		return `{"a":1}`
	}
	return `"x"`
}

type garbage struct {
	name        string
	body        []byte
	contentType string
	status      int
	// field is the field the error must name ("" when none).
	field string
}

// garbageFor lists the bodies every route must refuse.
func garbageFor(rt web.Route) []garbage {
	ten := append([]byte(`{"comment":"`), bytes.Repeat([]byte("x"), 10<<20)...)
	ten = append(ten, `"}`...)
	gs := []garbage{
		{name: "invalid JSON", body: []byte(`{"reason": "x",`), status: 400},
		{name: "not JSON at all", body: []byte(`reason=x`), status: 400},
		{name: "unknown field", body: []byte(`{"bogus": 1}`), status: 400, field: "bogus"},
		{name: "two JSON values", body: []byte(`{} {}`), status: 400},
		{name: "an array", body: []byte(`[{}]`), status: 400},
		{name: "null", body: []byte(`null`), status: 400},
		{name: "a string", body: []byte(`"x"`), status: 400},
		{name: "10 MB body", body: ten, status: 413},
		{name: "wrong content type", body: []byte(`{}`), contentType: "text/plain", status: 415},
		{name: "form content type", body: []byte(`a=b`), contentType: "application/x-www-form-urlencoded", status: 415},
		{name: "no content type", body: []byte(`{}`), contentType: "-", status: 415},
		{name: "other charset", body: []byte(`{}`), contentType: "application/json; charset=latin1", status: 415},
	}
	if rt.Body == nil {
		return gs
	}
	gs = append(gs, garbage{name: "empty body", body: nil, status: 400})
	for i := range rt.Body.NumField() {
		f := rt.Body.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || name == "" {
			continue
		}
		gs = append(gs,
			garbage{name: "wrong type for " + name, body: fmt.Appendf(nil, `{%q: %s}`, name, wrongValue(f.Type)), status: 400, field: name},
			garbage{name: "field name in upper case " + name, body: fmt.Appendf(nil, `{%q: null}`, strings.ToUpper(name)), status: 400, field: strings.ToUpper(name)},
		)
		if f.Type.Kind() == reflect.Slice {
			gs = append(gs, garbage{name: "wrong element type for " + name, body: fmt.Appendf(nil, `{%q: [1]}`, name), status: 400, field: name})
		}
	}
	return gs
}

// badQueries lists query strings every route must refuse with the parameter named.
func badQueries(rt web.Route) map[string]string {
	qs := map[string]string{"bogus=1": "bogus"}
	switch rt.Pattern {
	case "/api/v1/runs":
		for q, p := range map[string]string{
			"limit=abc": "limit", "limit=0": "limit", "limit=1001": "limit", "limit=-1": "limit", "limit=1.5": "limit", "limit=1&limit=2": "limit",
			"since=yesterday": "since", "since=2027-01-01": "since", "until=2027-13-01T00:00:00Z": "until",
			"state=exploded": "state", "state=pending&state=PENDING": "state", "plan=a&plan=b": "plan", "cursor=a&cursor=b": "cursor",
		} {
			qs[q] = p
		}
	case "/api/v1/calendar":
		for q, p := range map[string]string{
			"to=2027-12-31": "from", "from=2027-01-01": "to", "from=2027/01/01&to=2027-12-31": "from",
			"from=2027-01-01&to=31.12.2027": "to", "from=2027-02-30&to=2027-12-31": "from", "from=2027-01-01&from=2027-01-02&to=2027-12-31": "from",
		} {
			qs[q] = p
		}
	case "/api/v1/tokens", "/api/v1/role-grants":
		qs["user=a&user=b"] = "user"
	case "/api/v1/findings":
		for q, p := range map[string]string{
			"status=closed": "status", "status=OPEN": "status", "overdue=yes": "overdue", "overdue=1": "overdue", "overdue=true&overdue=false": "overdue",
			"limit=0": "limit", "limit=1001": "limit", "limit=x": "limit", "service=a&service=b": "service", "run=a&run=b": "run", "cursor=x": "cursor",
		} {
			qs[q] = p
		}
	}
	return qs
}

// snapshot reads everything a request could change, as the admin and the compliance officer
// see it; last_used_at is left out (it changes with every authenticated request).
func snapshot(t *testing.T, b *bundle) string {
	t.Helper()
	var out strings.Builder
	lastUsed := regexp.MustCompile(`"last_used_at":"[^"]*",?`)
	for _, p := range []struct{ caller, path string }{
		{drills.RoleAdmin, "/api/v1/runs?limit=1000"}, {drills.RoleAdmin, "/api/v1/freeze"}, {drills.RoleAdmin, "/api/v1/schedules"},
		{drills.RoleAdmin, "/api/v1/users"}, {drills.RoleAdmin, "/api/v1/role-grants"}, {drills.RoleAdmin, "/api/v1/tokens"},
		{drills.RoleCompliance, "/api/v1/approvals"}, {drills.RoleCompliance, "/api/v1/findings?limit=1000"},
	} {
		r := b.do(t, p.caller, request{method: "GET", path: p.path})
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %s", p.path, r)
		}
		fmt.Fprintf(&out, "%s\n%s\n", p.path, lastUsed.ReplaceAll(r.body, nil))
	}
	return out.String()
}

// TestEveryRouteRefusesGarbage feeds every route invalid JSON, wrong types, unknown fields,
// a 10 MB body, wrong content types and bad query parameters, as a caller the route allows:
// each answers the 4xx that says what is wrong, naming the field, never a 5xx, and nothing
// changes.
func TestEveryRouteRefusesGarbage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// A run to aim the run routes at, so that a body that slipped through would change it.
	r := b.do(t, drills.RoleSRE, request{method: "POST", path: "/api/v1/runs", body: jsonBody(t, map[string]string{
		"plan_file": "plans/site-loss.hcl", "plan_source": b.planSrc})})
	var run struct {
		ID string `json:"id"`
	}
	r.decode(t, http.StatusCreated, &run)
	// A finding to aim the finding routes at, for the same reason.
	var finding struct {
		Finding struct {
			ID string `json:"id"`
		} `json:"finding"`
	}
	b.do(t, drills.RoleCompliance, request{method: "POST", path: "/api/v1/findings", body: []byte(`{"title":"garbage target","severity":"low"}`)}).
		decode(t, http.StatusCreated, &finding)
	paths := map[string]string{"{id}": run.ID, "{key}": "verify", "{name}": drills.RoleViewer, "{role}": drills.RoleViewer}
	before := snapshot(t, b)

	for _, rt := range web.Routes() {
		if rt.Public {
			continue
		}
		path := rt.Pattern
		if strings.HasPrefix(path, "/api/v1/schedules/") {
			path = strings.Replace(path, "{name}", scheduleName, 1)
		}
		if strings.HasPrefix(path, "/api/v1/tokens/") {
			path = strings.Replace(path, "{id}", noSuchRun, 1)
		}
		if strings.HasPrefix(path, "/api/v1/findings/") {
			path = strings.Replace(path, "{id}", finding.Finding.ID, 1)
		}
		for k, v := range paths {
			path = strings.ReplaceAll(path, k, v)
		}
		caller := allowedCaller(rt)
		for _, g := range garbageFor(rt) {
			r := b.do(t, caller, request{method: rt.Method, path: path, body: g.body, contentType: g.contentType})
			what := fmt.Sprintf("%s %s with %s", rt.Method, path, g.name)
			if r.status != g.status {
				t.Errorf("%s = %s, want %d", what, truncate(r.body), g.status)
				continue
			}
			if e := r.apiError(t); e.Error.Field != g.field {
				t.Errorf("%s: error names field %q, want %q (%s)", what, e.Error.Field, g.field, e.Error.Message)
			}
		}
		for q, param := range badQueries(rt) {
			r := b.do(t, caller, request{method: rt.Method, path: path + "?" + q, body: validBody(rt)})
			what := fmt.Sprintf("%s %s?%s", rt.Method, path, q)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s = %s, want 400", what, r)
				continue
			}
			if e := r.apiError(t); e.Error.Field != param {
				t.Errorf("%s: error names %q, want the parameter %q (%s)", what, e.Error.Field, param, e.Error.Message)
			}
		}
	}
	if after := snapshot(t, b); after != before {
		t.Errorf("garbage changed what the API shows:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// validBody returns a body the route's decoding accepts, so that a bad query is what the
// server refuses.
func validBody(rt web.Route) []byte {
	if rt.Body == nil {
		return nil
	}
	return []byte(`{}`)
}

// TestUnknownPathsAndMethods checks the replies outside the route table: 404 in the API's
// error shape for an unknown /api/v1 path, 405 with Allow for a known path asked with another
// method.
func TestUnknownPathsAndMethods(t *testing.T) {
	t.Parallel()
	b := setupServer(t)
	for _, rq := range []request{
		{method: "GET", path: "/api/v1/nothing"},
		{method: "GET", path: "/api/v1/runs/x/y/z"},
		{method: "GET", path: "/api/v2/runs"},
	} {
		r := b.do(t, callerNone, rq)
		if r.status != http.StatusNotFound {
			t.Errorf("%s %s = %s, want 404", rq.method, rq.path, r)
		}
		if strings.HasPrefix(rq.path, "/api/v1/") && r.apiError(t).Error.Code != "not_found" {
			t.Errorf("%s %s: code %q, want not_found", rq.method, rq.path, r.apiError(t).Error.Code)
		}
	}
	for _, c := range []struct{ method, path, allow string }{
		{"DELETE", "/api/v1/runs", "GET, HEAD, POST"},
		{"PATCH", "/api/v1/freeze", "DELETE, GET, HEAD, PUT"},
		{"GET", "/api/v1/runs/" + noSuchRun + "/approve", "POST"},
		{"POST", "/api/v1/openapi.json", "GET, HEAD"},
		{"POST", "/healthz", "GET, HEAD"},
	} {
		r := b.do(t, callerNone, request{method: c.method, path: c.path})
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != c.allow {
			t.Errorf("%s %s = %s Allow %q, want 405 Allow %q", c.method, c.path, r, r.header.Get("Allow"), c.allow)
		}
		if r.apiError(t).Error.Code != "method_not_allowed" {
			t.Errorf("%s %s: code %q, want method_not_allowed", c.method, c.path, r.apiError(t).Error.Code)
		}
	}
	var health map[string]string
	b.do(t, callerNone, request{method: "GET", path: "/healthz"}).decode(t, http.StatusOK, &health)
	if health["status"] != "ok" || health["database"] != "postgres" {
		t.Errorf("GET /healthz = %v, want ok on postgres", health)
	}
}
