package pages

import (
	"html/template"
	"log/slog"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// TestTopIsRenderedForEachRoles: the cached top of a page is the one its caller's roles and
// language render, whoever asked for the same page before.
func TestTopIsRenderedForEachRoles(t *testing.T) {
	h := &handler{log: slog.New(slog.DiscardHandler), pages: map[string]*template.Template{}}
	if err := h.parseTemplates(); err != nil {
		t.Fatal(err)
	}
	viewFor := func(lang string, roles ...string) *view {
		v := &view{Lang: lang, Nav: "runs", Roles: roles, Can: map[string]bool{}, PortalOnly: portalOnly(&control.Caller{Roles: roles})}
		for _, op := range operations {
			v.Can[string(op)] = control.Allowed(op, roles)
		}
		return v
	}
	for range 2 { // the second round is answered from the cache
		for _, v := range []*view{viewFor("en", drills.RoleAuditor), viewFor("en", drills.RoleSRE), viewFor("ko", drills.RoleSRE)} {
			var want strings.Builder
			if err := h.pages["runs"].ExecuteTemplate(&want, "layout-top", v); err != nil {
				t.Fatal(err)
			}
			if got := h.top(v); string(got) != want.String() {
				t.Errorf("top for %s %v =\n%s\nwant\n%s", v.Lang, v.Roles, got, want.String())
			}
		}
	}
	if a, s := h.top(viewFor("en", drills.RoleAuditor)), h.top(viewFor("en", drills.RoleSRE)); a == s || !strings.Contains(string(a), `href="/portal"`) {
		t.Errorf("an auditor's top is the SRE's, or has no portal link:\n%s", a)
	}
}
