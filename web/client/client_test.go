package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
	"github.com/firedrill/firedrill/web"
	"github.com/firedrill/firedrill/web/client"
)

// fixture is a real server (web over control over a fresh PostgreSQL database) and the
// first admin's token.
type fixture struct {
	url   string
	ctl   *control.Control
	admin string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	st := storetest.Postgres(t)
	ctl, err := control.New(control.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{Control: ctl})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	tok, err := ctl.Bootstrap(context.Background(), &control.BootstrapParams{
		Name: "root", By: drills.Actor{Kind: drills.ActorLocal, Name: "test", Via: drills.ViaCLI},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{url: hs.URL, ctl: ctl, admin: tok.Secret}
}

func (f *fixture) client(t *testing.T, token string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Address: f.url, Token: token, Via: drills.ViaCLI})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func category(err error) control.Category {
	if err == nil {
		return ""
	}
	return control.CategoryOf(err)
}

func TestUsersTokensAndErrorsThroughTheAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	admin := f.client(t, f.admin)

	who, err := admin.Whoami(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if who.Actor.Name != "root" || who.Actor.Via != drills.ViaCLI || !slices.Contains(who.Roles, drills.RoleAdmin) {
		t.Errorf("Whoami = %+v; want root, via cli (the client sends X-Firedrill-Via), as admin", who.Actor)
	}

	u, err := admin.UserCreate(ctx, &control.UserCreateParams{Name: "alice", Roles: []string{drills.RoleSRE}})
	if err != nil || u.Name != "alice" || !slices.Equal(u.Roles, []string{drills.RoleSRE}) {
		t.Fatalf("UserCreate = %+v, %v", u, err)
	}
	if _, err := admin.UserCreate(ctx, &control.UserCreateParams{Name: "alice", Roles: []string{drills.RoleSRE}}); category(err) != control.CategoryConflict {
		t.Errorf("UserCreate of an existing user: %v (category %q), want conflict", err, category(err))
	}
	if _, err := admin.UserGet(ctx, "nobody"); category(err) != control.CategoryNotFound {
		t.Errorf("UserGet(nobody): %v (category %q), want not_found", err, category(err))
	}
	var ce *control.Error
	_, err = admin.UserCreate(ctx, &control.UserCreateParams{Name: "eve", Roles: []string{"god"}})
	if !errors.As(err, &ce) || ce.Category != control.CategoryInvalid || ce.Field == "" {
		t.Errorf("UserCreate with an unknown role: %#v, want invalid naming the field", err)
	}
	var he *client.HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusBadRequest {
		t.Errorf("the cause of an error reply = %v, want the route and 400", he)
	}

	tok, err := admin.TokenCreate(ctx, &control.TokenCreateParams{User: "alice", Description: "laptop"})
	if err != nil || !strings.HasPrefix(tok.Secret, "fdt_") {
		t.Fatalf("TokenCreate = %+v, %v", tok, err)
	}
	alice := f.client(t, tok.Secret)
	if who, err := alice.Whoami(ctx); err != nil || who.Actor.Name != "alice" || who.Actor.TokenID != tok.ID {
		t.Errorf("alice's Whoami = %+v, %v", who, err)
	}
	// alice is an SRE: users are the admin's.
	if _, err := alice.UserList(ctx); category(err) != control.CategoryForbidden {
		t.Errorf("an SRE lists users: %v (category %q), want forbidden", err, category(err))
	}
	toks, err := admin.TokenList(ctx, "alice")
	if err != nil || len(toks) != 1 || toks[0].ID != tok.ID {
		t.Errorf("TokenList(alice) = %+v, %v", toks, err)
	}
	revoked, err := admin.TokenRevoke(ctx, tok.ID)
	if err != nil || revoked.RevokedAt == nil {
		t.Fatalf("TokenRevoke = %+v, %v", revoked, err)
	}
	_, err = alice.Whoami(ctx)
	if category(err) != control.CategoryUnauthenticated {
		t.Errorf("a revoked token: %v (category %q), want unauthenticated", err, category(err))
	}
	if err != nil && strings.Contains(err.Error(), tok.Secret) {
		t.Errorf("the error %q shows the token", err)
	}
	grants, err := admin.RoleGrantList(ctx, "alice")
	if err != nil || len(grants) == 0 || grants[0].By.Name != "root" {
		t.Errorf("RoleGrantList(alice) = %+v, %v; want the grant, by root", grants, err)
	}
}

func TestNoTokenBadTokenAndAnUnknownRoute(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	const secret = "fdt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	for name, tok := range map[string]string{"none": "", "unknown": secret} {
		_, err := f.client(t, tok).RunList(ctx, nil)
		if category(err) != control.CategoryUnauthenticated {
			t.Errorf("%s token: %v (category %q), want unauthenticated", name, err, category(err))
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s token: the error %q shows the token", name, err)
		}
	}
	// The OpenAPI document is public.
	if doc, err := f.client(t, "").OpenAPI(ctx); err != nil || !strings.Contains(string(doc), `"openapi"`) {
		t.Errorf("OpenAPI() = %.60s, %v", doc, err)
	}
	if _, err := f.client(t, f.admin).RunGet(ctx, "no-such-run"); category(err) != control.CategoryNotFound {
		t.Errorf("RunGet(no-such-run): %v (category %q), want not_found", err, category(err))
	}
	if _, err := f.client(t, f.admin).RunGet(ctx, "a/b"); category(err) != control.CategoryInvalid {
		t.Errorf("RunGet(a/b): %v, want refused before any request", err)
	}
}

func TestRepliesThatAreNotFiredrills(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A proxy in front of the server answers with its own page.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/freeze" {
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
			return
		}
		if got := r.Header.Get("Authorization"); got != "Bearer fdt_x" {
			t.Errorf("Authorization = %q", got)
		}
		<-r.Context().Done() // never answers: the client's deadline ends the request
	}))
	t.Cleanup(proxy.Close)
	c, err := client.New(client.Config{Address: proxy.URL, Token: "fdt_x", Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.FreezeGet(ctx)
	var ce *control.Error
	if !errors.As(err, &ce) || ce.Category != control.CategoryInternal || !strings.Contains(ce.Message, "502") {
		t.Errorf("a proxy's 502: %v, want internal naming the status", err)
	}
	_, err = c.Whoami(ctx)
	if err == nil || !strings.Contains(err.Error(), "did not answer within 100ms") {
		t.Errorf("a server that never answers: %v, want the deadline named", err)
	}

	// Nothing listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	c, err = client.New(client.Config{Address: addr, Token: "fdt_secret"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Whoami(ctx)
	if err == nil || !strings.Contains(err.Error(), "cannot reach firedrill at "+addr) || strings.Contains(err.Error(), "fdt_secret") {
		t.Errorf("nothing listening: %v, want the address named and never the token", err)
	}
}

func TestNewChecksItsConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  client.Config
		want string
	}{
		{client.Config{Address: "127.0.0.1:8080"}, "Config.Address"},
		{client.Config{Address: "ftp://host"}, "Config.Address"},
		{client.Config{Address: "http://user:pw@host"}, "credentials"},
		{client.Config{Token: "fdt_a b"}, "Config.Token"},
		{client.Config{Token: "fdt_secret\n"}, "Config.Token"},
		{client.Config{Via: "carrier-pigeon"}, "Config.Via"},
		{client.Config{Timeout: -time.Second}, "Config.Timeout"},
	}
	for _, tt := range tests {
		_, err := client.New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tt.cfg, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("New(%+v) = %v: shows the token", tt.cfg, err)
		}
	}
	c, err := client.New(client.Config{})
	if err != nil || c.Address() != client.DefaultAddress || c.HasToken() {
		t.Errorf("New(zero) = %v, %v; want the default address and no token", c, err)
	}
}

func TestProfilesThroughTheAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	admin := f.client(t, f.admin)
	list, err := admin.ProfileList(ctx)
	if err != nil || len(list) != 5 || list[0].ID != "eu-dora" {
		t.Fatalf("ProfileList = %+v, %v; want the five shipped, by id", list, err)
	}
	p, err := admin.ProfileGet(ctx, "uk-pra-ss1-21")
	if err != nil || p.RetentionYears != 6 || len(p.Clauses) == 0 {
		t.Errorf("ProfileGet(uk-pra-ss1-21) = %+v, %v", p, err)
	}
	var ce *control.Error
	if _, err := admin.ProfileGet(ctx, "kr-efsa"); !errors.As(err, &ce) || ce.Category != control.CategoryNotFound || !strings.Contains(ce.Message, "kr-efsr") {
		t.Errorf("ProfileGet(kr-efsa) = %v, want not_found naming the shipped profiles", err)
	}
	if _, err := admin.ProfileGet(ctx, "../users"); err == nil {
		t.Error("ProfileGet(../users) reached the server")
	}
}
