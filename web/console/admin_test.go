package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

var tokenSecret = regexp.MustCompile(`id="token-secret" class="mono secret" value="([^"]+)"`)

// The admin pages behind the real sign-in: every form is refused without its CSRF token and
// changes nothing; with it, a user is created, given a token whose secret is shown once (never
// logged, never shown again), the token revoked and the user disabled. Other roles get 403.
func TestAdminPagesThroughTheConsole(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) { o.realPages = true })
	ctx := context.Background()
	b.localUser(t, "han", drills.RoleAdmin)
	b.localUser(t, "jung", drills.RoleSRE)
	br := b.browser(t)
	br.lang = "en"
	br.signIn("han", goodPassword)
	users := br.get("/users")
	if users.status != http.StatusOK || !strings.Contains(users.body, "jung") || !strings.Contains(users.body, "password") {
		t.Fatalf("GET /users as an admin: %d\n%s", users.status, users.body)
	}
	token := users.csrf(t)

	if p := br.post("/users", url.Values{"name": {"new1"}, "role": {drills.RoleViewer}}); p.status != http.StatusForbidden {
		t.Errorf("POST /users without the CSRF token: %d, want 403", p.status)
	}
	if _, err := b.ctl.UserGet(ctx, b.admin, "new1"); control.CategoryOf(err) != control.CategoryNotFound {
		t.Fatalf("a form refused for its CSRF token created the user: %v", err)
	}
	created := br.post("/users", url.Values{"name": {"new1"}, "role": {drills.RoleViewer, drills.RoleAuditor}, "csrf_token": {token}})
	if created.url.Path != "/users/new1" || !strings.Contains(created.body, "created new1") {
		t.Fatalf("POST /users landed on %s:\n%s", created.url, created.body)
	}

	issued := br.post("/users/new1/tokens", url.Values{"description": {"reporting robot"}, "role": {drills.RoleViewer}, "expires_in": {"720h"}, "csrf_token": {token}})
	m := tokenSecret.FindStringSubmatch(issued.body)
	if issued.status != http.StatusOK || m == nil || !strings.Contains(issued.body, "only time it is shown") || issued.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the new token's page: %d, Cache-Control %q:\n%s", issued.status, issued.header.Get("Cache-Control"), issued.body)
	}
	secret := m[1]
	caller, err := b.ctl.Authenticate(ctx, secret, drills.ViaAPI)
	if err != nil || caller.Actor.Name != "new1" || len(caller.Roles) != 1 || caller.Roles[0] != drills.RoleViewer {
		t.Fatalf("the shown secret authenticates as %+v, %v; want new1 as viewer", caller, err)
	}
	again := br.get("/users/new1")
	if strings.Contains(again.body, secret) || !strings.Contains(again.body, "reporting robot") {
		t.Errorf("the user's page shows the secret again, or not the token")
	}
	if strings.Contains(b.logs.String(), secret) {
		t.Errorf("the token's secret is in the log")
	}
	toks, err := b.ctl.TokenList(ctx, b.admin, "new1")
	if err != nil || len(toks) != 1 {
		t.Fatalf("TokenList(new1) = %v, %v", toks, err)
	}
	if p := br.post("/tokens/"+toks[0].ID+"/revoke", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("revoke without the CSRF token: %d, want 403", p.status)
	}
	if _, err := b.ctl.Authenticate(ctx, secret, drills.ViaAPI); err != nil {
		t.Fatalf("a refused revoke revoked the token: %v", err)
	}
	if p := br.post("/tokens/"+toks[0].ID+"/revoke", url.Values{"csrf_token": {token}}); p.url.Path != "/users/new1" || !strings.Contains(p.body, "revoked token") {
		t.Errorf("revoke landed on %s", p.url)
	}
	if _, err := b.ctl.Authenticate(ctx, secret, drills.ViaAPI); err == nil {
		t.Errorf("a revoked token still authenticates")
	}

	if p := br.post("/users/new1/disable", url.Values{"confirm": {"yes"}}); p.status != http.StatusForbidden {
		t.Errorf("disable without the CSRF token: %d, want 403", p.status)
	}
	if p := br.post("/users/new1/disable", url.Values{"confirm": {"yes"}, "csrf_token": {token}}); !strings.Contains(p.body, "disabled new1") {
		t.Errorf("disable: %d %s", p.status, p.url)
	}
	if u, err := b.ctl.UserGet(ctx, b.admin, "new1"); err != nil || !u.Disabled {
		t.Errorf("new1 after disable: %+v, %v", u, err)
	}

	sre := b.browser(t)
	sre.signIn("jung", goodPassword)
	for _, path := range []string{"/users", "/users/han", "/audit"} {
		if p := sre.get(path); p.status != http.StatusForbidden {
			t.Errorf("GET %s as an SRE: %d, want 403", path, p.status)
		}
	}
	if p := sre.post("/users", url.Values{"name": {"sneaky"}, "csrf_token": {sre.get("/").csrf(t)}}); p.status != http.StatusForbidden {
		t.Errorf("POST /users as an SRE: %d, want 403", p.status)
	}
	if _, err := b.ctl.UserGet(ctx, b.admin, "sneaky"); err == nil {
		t.Errorf("an SRE created a user")
	}
}
