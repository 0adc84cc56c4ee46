package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// GET /api/v1/audit lists the recorded operations newest first with their audit rows, filters
// them, pages them, and is refused to the roles audit.read does not name.
func TestAuditList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The auditor's refused attempt is itself recorded.
	for _, role := range []string{drills.RoleAuditor, drills.RoleViewer, drills.RoleSRE} {
		if r := b.do(t, role, request{method: "GET", path: "/api/v1/audit"}); r.status != http.StatusForbidden {
			t.Errorf("GET /api/v1/audit as %s: %s, want 403", role, r)
		}
	}
	var all control.AuditList
	b.do(t, drills.RoleCompliance, request{method: "GET", path: "/api/v1/audit?limit=500"}).decode(t, http.StatusOK, &all)
	if len(all.Entries) < 10 || all.HeadSeq == 0 || len(all.HeadHash) != 64 {
		t.Fatalf("the audit list has %d entries, head %d %q", len(all.Entries), all.HeadSeq, all.HeadHash)
	}
	for i := 1; i < len(all.Entries); i++ {
		if all.Entries[i].ID >= all.Entries[i-1].ID {
			t.Fatalf("entries are not newest first at %d", i)
		}
	}
	var denied control.AuditList
	b.do(t, drills.RoleAdmin, request{method: "GET", path: "/api/v1/audit?actor=auditor&outcome=denied&operation=audit.read"}).decode(t, http.StatusOK, &denied)
	if len(denied.Entries) != 1 || denied.Entries[0].Actor.Name != drills.RoleAuditor || denied.Entries[0].AuditSeq == 0 {
		t.Errorf("the auditor's refused audit.read: %+v", denied.Entries)
	}
	var page control.AuditList
	b.do(t, drills.RoleAdmin, request{method: "GET", path: "/api/v1/audit?limit=3"}).decode(t, http.StatusOK, &page)
	if len(page.Entries) != 3 || page.NextCursor == "" {
		t.Fatalf("a page of 3: %d entries, cursor %q", len(page.Entries), page.NextCursor)
	}
	var next control.AuditList
	b.do(t, drills.RoleAdmin, request{method: "GET", path: "/api/v1/audit?limit=3&cursor=" + page.NextCursor}).decode(t, http.StatusOK, &next)
	if len(next.Entries) != 3 || next.Entries[0].ID >= page.Entries[2].ID {
		t.Errorf("the next page does not continue the first")
	}
	for _, c := range []struct{ query, field string }{
		{"outcome=maybe", "outcome"}, {"since=yesterday", "since"}, {"limit=0", "limit"}, {"cursor=abc", "cursor"},
		{"text=submit", "since"}, {"since=2027-01-02T00:00:00Z&until=2027-01-01T00:00:00Z", "until"},
		{"actor=" + strings.Repeat("a", 201), "actor"}, {"who=me", "who"},
	} {
		r := b.do(t, drills.RoleAdmin, request{method: "GET", path: "/api/v1/audit?" + c.query})
		if r.status != http.StatusBadRequest || r.apiError(t).Error.Field != c.field {
			t.Errorf("GET /api/v1/audit?%s: %s, want 400 naming %s", c.query, r, c.field)
		}
	}
}
