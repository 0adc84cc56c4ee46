package pages_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// The users pages: admin only; a user is created, granted and revoked roles, given a
// password and a token, and disabled, each through control; the other roles get 403 and
// change nothing.
func TestUsersPages(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	admin := c.callers[drills.RoleAdmin]
	forbiddenFor(t, c, "/users", control.OpUserRead)
	forbiddenFor(t, c, "/users/viewer", control.OpUserRead)
	list := c.get(t, drills.RoleAdmin, "/users", "Accept-Language", "en").body
	for _, want := range []string{`href="/users/sre2"`, "API tokens only", "never", `id="user-create"`, `href="/users"`} {
		if !strings.Contains(list, want) {
			t.Errorf("the users page lacks %q:\n%s", want, excerpt(list))
		}
	}
	requireCSRF(t, "users page", list)
	if nav := c.get(t, drills.RoleCompliance, "/").body; strings.Contains(nav, `href="/users"`) {
		t.Errorf("compliance's navigation offers the users page")
	}

	form := func(kv ...string) url.Values {
		v := url.Values{"csrf_token": {csrfToken}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	for _, role := range []string{drills.RoleSRE, drills.RoleCompliance, drills.RoleAuditor, drills.RoleViewer} {
		for _, p := range []struct {
			path string
			form url.Values
		}{
			{"/users", form("name", "mallory", "role", drills.RoleAdmin)},
			{"/users/viewer/roles", form("role", drills.RoleAdmin)},
			{"/users/viewer/roles/viewer/revoke", form()},
			{"/users/viewer/password", form("password", "a long enough password")},
			{"/users/viewer/disable", form("confirm", "yes")},
			{"/users/viewer/tokens", form()},
		} {
			if got := c.post(t, role, p.path, p.form); got.status != http.StatusForbidden {
				t.Errorf("POST %s as %s: %d, want 403", p.path, role, got.status)
			}
		}
	}
	if u, err := c.ctl.UserGet(ctx, admin, drills.RoleViewer); err != nil || u.Disabled || !slices.Equal(u.Roles, []string{drills.RoleViewer}) || len(u.SignInMethods) != 0 {
		t.Fatalf("the refused forms changed the viewer: %+v, %v", u, err)
	}
	if _, err := c.ctl.UserGet(ctx, admin, "mallory"); control.CategoryOf(err) != control.CategoryNotFound {
		t.Errorf("a refused form created mallory: %v", err)
	}

	got := c.post(t, drills.RoleAdmin, "/users", form("name", "dana", "role", drills.RoleSRE))
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/users/dana?") {
		t.Fatalf("create dana: %d to %q\n%s", got.status, got.location, excerpt(got.body))
	}
	if bad := c.post(t, drills.RoleAdmin, "/users", form("name", "eve", "role", "superuser")); bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "superuser") {
		t.Errorf("create with an unknown role: %d, want 400", bad.status)
	}
	for _, step := range []struct{ path, form string }{
		{"/users/dana/roles", "compliance"},
		{"/users/dana/roles/sre/revoke", ""},
	} {
		if got := c.post(t, drills.RoleAdmin, step.path, form("role", step.form)); got.status != http.StatusSeeOther {
			t.Fatalf("POST %s: %d\n%s", step.path, got.status, excerpt(got.body))
		}
	}
	if u, _ := c.ctl.UserGet(ctx, admin, "dana"); !slices.Equal(u.Roles, []string{drills.RoleCompliance}) {
		t.Errorf("dana's roles after grant and revoke: %v, want compliance", u.Roles)
	}
	if short := c.post(t, drills.RoleAdmin, "/users/dana/password", form("password", "short")); short.status != http.StatusBadRequest || !strings.Contains(short.body, "password") {
		t.Errorf("a short password: %d, want 400 naming password", short.status)
	}
	if got := c.post(t, drills.RoleAdmin, "/users/dana/password", form("password", "  correct horse battery  ")); got.status != http.StatusSeeOther {
		t.Fatalf("set dana's password: %d\n%s", got.status, excerpt(got.body))
	}
	page := c.get(t, drills.RoleAdmin, "/users/dana", "Accept-Language", "en").body
	for _, want := range []string{"password", "compliance", "granted", "revoked", `id="token-create"`, `id="user-disable"`, `action="/users/dana/roles/compliance/revoke"`} {
		if !strings.Contains(page, want) {
			t.Errorf("dana's page lacks %q:\n%s", want, excerpt(page))
		}
	}
	requireCSRF(t, "user page", page)

	issued := c.post(t, drills.RoleAdmin, "/users/dana/tokens", form("description", "quarterly report robot", "expires_in", "24h"))
	m := tokenSecret.FindStringSubmatch(issued.body)
	if issued.status != http.StatusOK || m == nil || issued.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the token page: %d\n%s", issued.status, excerpt(issued.body))
	}
	if caller, err := c.ctl.Authenticate(ctx, m[1], drills.ViaAPI); err != nil || caller.Actor.Name != "dana" {
		t.Errorf("the shown secret does not authenticate as dana: %v", err)
	}
	if strings.Contains(c.get(t, drills.RoleAdmin, "/users/dana").body, m[1]) {
		t.Errorf("dana's page shows the token's secret again")
	}
	if bad := c.post(t, drills.RoleAdmin, "/users/dana/tokens", form("expires_in", "forever")); bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "expires_in") {
		t.Errorf("a token valid forever: %d, want 400 naming expires_in", bad.status)
	}

	if noConfirm := c.post(t, drills.RoleAdmin, "/users/dana/disable", form()); noConfirm.status != http.StatusBadRequest || !strings.Contains(noConfirm.body, "confirm") {
		t.Errorf("disable without confirming: %d, want 400 naming confirm", noConfirm.status)
	}
	if got := c.post(t, drills.RoleAdmin, "/users/dana/disable", form("confirm", "yes")); got.status != http.StatusSeeOther {
		t.Fatalf("disable dana: %d", got.status)
	}
	if _, err := c.ctl.Authenticate(ctx, m[1], drills.ViaAPI); err == nil {
		t.Errorf("a disabled user's token still authenticates")
	}
	if page := c.get(t, drills.RoleAdmin, "/users/dana", "Accept-Language", "ko").body; !strings.Contains(page, "비활성") || strings.Contains(page, `id="user-disable"`) {
		t.Errorf("dana's page after disabling does not say so in Korean, or still offers to disable")
	}
}

// tokenSecret finds the secret on the page that shows a new token.
var tokenSecret = regexp.MustCompile(`id="token-secret" class="mono secret" value="([^"]+)"`)
