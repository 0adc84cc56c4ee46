package pages_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// auditRow matches one row of the audit table: its operation and its outcome's word.
var auditRow = regexp.MustCompile(`(?s)<td class="mono">([a-z_.]+)</td>\s*<td class="mono">(?:<a href="/runs/[^"]+">)?([^<]*)(?:</a>)?</td>\s*<td><span class="badge (ok|bad|warn)"><span aria-hidden="true">.</span> (ok|denied|failed)</span>`)

// The audit page lists the recorded operations newest first, filters them, pages them and
// checks the chain when asked; only admin and compliance may open it.
func TestAuditPage(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	forbiddenFor(t, c, "/audit", control.OpAuditRead)
	c.submit(t)
	// Sixty refused attempts of the viewer's, each recorded.
	for range 60 {
		if _, err := c.ctl.UserList(ctx, c.callers[drills.RoleViewer]); control.CategoryOf(err) != control.CategoryForbidden {
			t.Fatalf("UserList as viewer: %v", err)
		}
	}
	first := c.get(t, drills.RoleCompliance, "/audit", "Accept-Language", "en")
	rows := auditRow.FindAllStringSubmatch(first.body, -1)
	if first.status != http.StatusOK || len(rows) != 50 || !strings.Contains(first.body, `id="audit-next"`) || !strings.Contains(first.body, "Head: row ") {
		t.Fatalf("the audit page: %d with %d rows, want 50 and a next page:\n%s", first.status, len(rows), excerpt(first.body))
	}
	if rows[0][1] != "user.read" || rows[0][4] != "denied" {
		t.Errorf("the newest row is %s %s, want the viewer's denied user.read", rows[0][1], rows[0][4])
	}
	next := regexp.MustCompile(`href="/audit\?([^"]+)" id="audit-next"`).FindStringSubmatch(first.body)
	second := c.get(t, drills.RoleCompliance, "/audit?"+html.UnescapeString(next[1]), "Accept-Language", "en")
	more := auditRow.FindAllStringSubmatch(second.body, -1)
	if len(more) == 0 || !strings.Contains(second.body, "run.submit") {
		t.Errorf("the second page has %d rows and no run.submit:\n%s", len(more), excerpt(second.body))
	}

	for _, f := range []struct {
		query string
		want  func(op, target, outcome string) bool
		least int
	}{
		{"actor=sre&outcome=ok", func(op, _, _ string) bool { return op == "run.submit" }, 1},
		{"outcome=ok&operation=user.create", func(op, _, outcome string) bool { return op == "user.create" && outcome == "ok" }, 5},
		{"target=viewer", func(_, target, _ string) bool { return target == "viewer" }, 1},
		{"text=SANGAM-SITE-LOSS", func(op, _, _ string) bool { return op == "run.submit" }, 1},
		{"from=2027-03-01&to=2027-03-02&outcome=denied", func(_, _, outcome string) bool { return outcome == "denied" }, 50},
	} {
		got := c.get(t, drills.RoleAdmin, "/audit?"+f.query, "Accept-Language", "en")
		rows := auditRow.FindAllStringSubmatch(got.body, -1)
		if got.status != http.StatusOK || len(rows) < f.least {
			t.Errorf("/audit?%s: %d with %d rows, want at least %d:\n%s", f.query, got.status, len(rows), f.least, excerpt(got.body))
		}
		for _, r := range rows {
			if !f.want(r[1], r[2], r[4]) {
				t.Errorf("/audit?%s shows %s %s %s", f.query, r[1], r[2], r[4])
			}
		}
	}
	if none := c.get(t, drills.RoleAdmin, "/audit?from=2027-03-03&to=2027-03-04", "Accept-Language", "en"); !strings.Contains(none.body, "No recorded operation matches.") {
		t.Errorf("a day with nothing recorded shows rows")
	}
	// A text search without a start date reads the last 90 days, and says so.
	if got := c.get(t, drills.RoleAdmin, "/audit?text=submitted", "Accept-Language", "en"); !strings.Contains(got.body, `name="from" type="date" value="2026-12-02"`) || !strings.Contains(got.body, "last 90 days") {
		t.Errorf("a text search without a start date does not say its window:\n%s", excerpt(got.body))
	}
	for _, bad := range []struct{ query, field string }{{"from=March", "from"}, {"outcome=maybe", "outcome"}, {"cursor=x", "cursor"}, {"to=2027-01-01&from=2027-02-01", "until"}} {
		if got := c.get(t, drills.RoleAdmin, "/audit?"+bad.query); got.status != http.StatusBadRequest || !strings.Contains(got.body, bad.field) {
			t.Errorf("/audit?%s: %d, want 400 naming %s", bad.query, got.status, bad.field)
		}
	}
	verified := c.get(t, drills.RoleCompliance, "/audit?verify=1", "Accept-Language", "en")
	if !strings.Contains(verified.body, `id="audit-verified"`) || !strings.Contains(verified.body, "Verified: ") {
		t.Errorf("the chain check does not say verified:\n%s", excerpt(verified.body))
	}
	if runs := c.get(t, drills.RoleAdmin, "/audit?operation=run.submit").body; !regexp.MustCompile(`<a href="/runs/[0-9a-f-]{36}">`).MatchString(runs) {
		t.Errorf("a run operation's target does not link to the run")
	}
	if nav := c.get(t, drills.RoleCompliance, "/").body; !strings.Contains(nav, `href="/audit"`) {
		t.Errorf("compliance's navigation lacks the audit log")
	}
	if nav := c.get(t, drills.RoleAuditor, "/reports").body; strings.Contains(nav, `href="/audit"`) {
		t.Errorf("the auditor's navigation offers the audit log")
	}
}
