package console_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/web/console"
	"github.com/firedrill/firedrill/web/console/oidctest"
)

func TestPasswordSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.localUser(t, "kim", drills.RoleSRE, drills.RoleCompliance)
	br := b.browser(t)

	if p := br.get("/"); p.url.Path != "/login" {
		t.Fatalf("GET / signed out landed on %s, want /login", p.url)
	}
	p := br.signIn("kim", "not the password at all")
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "The user name or password is wrong") {
		t.Fatalf("wrong password: %d\n%s", p.status, p.body)
	}
	if br.signedIn() {
		t.Fatal("signed in with a wrong password")
	}
	p = br.signIn("nobody", goodPassword)
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "The user name or password is wrong") {
		t.Fatalf("unknown user: %d\n%s", p.status, p.body)
	}
	p = br.signIn("Kim ", goodPassword) // names are lowercase; the form forgives case and spaces
	if p.status != http.StatusOK || p.url.Path != "/" {
		t.Fatalf("good password: %d at %s\n%s", p.status, p.url, p.body)
	}
	for _, want := range []string{`id="user">kim<`, `data-role="sre"`, `data-role="compliance"`, "a local account"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("home page lacks %q:\n%s", want, p.body)
		}
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options"} {
		if p.header.Get(h) == "" {
			t.Errorf("home page has no %s header", h)
		}
	}
	if cc := p.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	// The session gives the same caller an API token would, via console.
	req := sessionRequest(b, br)
	caller, csrf, err := b.console.Caller(req)
	if err != nil {
		t.Fatal(err)
	}
	if caller.Actor != (drills.Actor{Kind: drills.ActorUser, Name: "kim", Via: drills.ViaConsole}) || !slices.Equal(caller.Roles, []string{"compliance", "sre"}) || csrf == "" {
		t.Errorf("Caller = %+v %v, want kim via console with compliance, sre", caller.Actor, caller.Roles)
	}
	who, err := b.ctl.WhoamiGet(context.Background(), caller)
	if err != nil || !slices.Contains(who.Operations, control.OpRunSubmit) || slices.Contains(who.Operations, control.OpUserManage) {
		t.Errorf("WhoamiGet(console caller) = %+v, %v: want the sre and compliance operations, not user management", who, err)
	}
	if _, err := b.ctl.UserDisable(context.Background(), caller, "root"); err == nil {
		t.Error("a console caller without admin disabled a user: the authorization table was not applied")
	}
}

func sessionRequest(b *bundle, br *browser) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+"/", nil)
	for _, c := range br.client.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	return req
}

func TestKoreanByAcceptLanguage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.localUser(t, "park", drills.RoleCompliance)
	br := b.browser(t)
	br.lang = "ko-KR,ko;q=0.9,en;q=0.5"
	if p := br.get("/login"); !strings.Contains(p.body, "로그인") || !strings.Contains(p.body, `lang="ko"`) {
		t.Fatalf("Korean sign-in page:\n%s", p.body)
	}
	p := br.signIn("park", goodPassword)
	if !strings.Contains(p.body, "준법감시인") || !strings.Contains(p.body, "로그아웃") {
		t.Errorf("Korean home page:\n%s", p.body)
	}
	br.lang = "en-GB,en;q=0.9,ko;q=0.2"
	if p := br.get("/"); !strings.Contains(p.body, "Compliance officer") || !strings.Contains(p.body, `lang="en"`) {
		t.Errorf("English home page:\n%s", p.body)
	}
}

func TestDisabledUserRefusedAndSignedOut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.localUser(t, "lee", drills.RoleSRE)
	br := b.browser(t)
	if p := br.signIn("lee", goodPassword); p.url.Path != "/" {
		t.Fatalf("sign in: %d at %s", p.status, p.url)
	}
	if _, err := b.ctl.UserDisable(context.Background(), b.admin, "lee"); err != nil {
		t.Fatal(err)
	}
	// The very next request is refused, and the cookie is dropped.
	p := br.get("/")
	if p.url.Path != "/login" || !strings.Contains(p.body, "Your session ended") {
		t.Fatalf("disabled user's next request landed on %s:\n%s", p.url, p.body)
	}
	sessions, err := b.st.SessionList(context.Background(), "lee")
	if err != nil || len(sessions) != 1 || sessions[0].RevokedAt == nil || sessions[0].RevokeReason != store.SessionRevokedUserDisabled {
		t.Errorf("sessions of lee = %+v, %v: want one revoked because the user was disabled", sessions, err)
	}
	// The right password does not open a new one.
	p = br.signIn("lee", goodPassword)
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "disabled") || br.signedIn() {
		t.Errorf("disabled user signing in: %d\n%s", p.status, p.body)
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.localUser(t, "choi", drills.RoleViewer)

	// Idle: 30 minutes without a request end the session.
	br := b.browser(t)
	br.signIn("choi", goodPassword)
	b.clock.Advance(control.DefaultSessionIdle - time.Minute)
	if !br.signedIn() {
		t.Fatal("session ended before its idle timeout")
	}
	b.clock.Advance(control.DefaultSessionIdle)
	if br.signedIn() {
		t.Fatal("session outlived its idle timeout")
	}

	// Absolute: a busy session still ends 12 hours after sign-in.
	br = b.browser(t)
	br.signIn("choi", goodPassword)
	for elapsed := time.Duration(0); elapsed < control.DefaultSessionMaxAge-20*time.Minute; elapsed += 20 * time.Minute {
		b.clock.Advance(20 * time.Minute)
		if !br.signedIn() {
			t.Fatalf("busy session ended after %s", elapsed+20*time.Minute)
		}
	}
	b.clock.Advance(20 * time.Minute)
	if br.signedIn() {
		t.Fatal("session outlived its absolute expiry")
	}
}

func TestSignOutAndCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.localUser(t, "jung", drills.RoleSRE)
	br := b.browser(t)
	home := br.signIn("jung", goodPassword)
	token := home.csrf(t)

	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"missing", url.Values{}},
		{"wrong", url.Values{"csrf_token": {strings.Repeat("A", len(token))}}},
		{"another session's", url.Values{"csrf_token": {otherSessionCSRF(t, b)}}},
	} {
		p := br.post("/logout", tc.form)
		if p.status != http.StatusForbidden {
			t.Errorf("POST /logout with a %s CSRF token: %d, want 403", tc.name, p.status)
		}
		if !br.signedIn() {
			t.Fatalf("POST /logout with a %s CSRF token signed out: it changed something", tc.name)
		}
	}
	// A sign-in form posted without its token (another site's form) opens no session.
	other := b.browser(t)
	p := other.post("/login", url.Values{"user": {"jung"}, "password": {goodPassword}})
	if p.status != http.StatusForbidden || other.signedIn() {
		t.Errorf("POST /login without a CSRF token: %d, signed in %v; want 403 and no session", p.status, other.signedIn())
	}
	p = other.post("/login", url.Values{"user": {"jung"}, "password": {goodPassword}, "csrf_token": {"forged"}})
	if p.status != http.StatusForbidden || other.signedIn() {
		t.Errorf("POST /login with a forged CSRF token: %d; want 403 and no session", p.status)
	}
	sessions, _ := b.st.SessionList(context.Background(), "jung")
	if len(sessions) != 2 { // br's and otherSessionCSRF's
		t.Errorf("jung has %d sessions, want 2: a refused form opened one", len(sessions))
	}

	secret := br.sessionSecret()
	p = br.post("/logout", url.Values{"csrf_token": {token}})
	if p.url.Path != "/login" || !strings.Contains(p.body, "You are signed out") {
		t.Fatalf("sign out landed on %s:\n%s", p.url, p.body)
	}
	// Server-side: the old cookie is worthless even if a copy was kept.
	if _, _, err := b.ctl.SessionAuthenticate(context.Background(), secret); err == nil {
		t.Error("a signed-out session still authenticates")
	}
}

// otherSessionCSRF signs jung in from another browser and returns that session's CSRF token.
func otherSessionCSRF(t *testing.T, b *bundle) string {
	t.Helper()
	return b.browser(t).signIn("jung", goodPassword).csrf(t)
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) {
		o.rate = console.RateLimit{AccountFailures: 3, AddressFailures: 6, Lockout: time.Minute, MaxLockout: 4 * time.Minute}
	})
	b.localUser(t, "han", drills.RoleSRE)
	b.localUser(t, "yoon", drills.RoleSRE)
	br := b.browser(t)
	for i := range 3 {
		if p := br.signIn("han", "wrong password number"); p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, p.status)
		}
	}
	// The 4th failure locks the account for a minute.
	br.signIn("han", "wrong password number")
	p := br.signIn("han", goodPassword)
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != "60" || br.signedIn() {
		t.Fatalf("locked account with the right password: %d Retry-After %q, want 429 60 and no session", p.status, p.header.Get("Retry-After"))
	}
	b.clock.Advance(time.Minute)
	// Unlocked; one more failure locks it again for twice as long (backoff).
	br.signIn("han", "wrong password number")
	if p := br.signIn("han", goodPassword); p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != "120" {
		t.Fatalf("after another failure: %d Retry-After %q, want 429 120", p.status, p.header.Get("Retry-After"))
	}
	b.clock.Advance(2 * time.Minute)
	if p := br.signIn("han", goodPassword); p.url.Path != "/" {
		t.Fatalf("after the lockout: %d at %s, want signed in", p.status, p.url)
	}
	// The address: han's 5 failures and 4 more against other names (all from 127.0.0.1) pass
	// its 6, and lock it out for every account, yoon included, who never failed.
	other := b.browser(t)
	for i := range 4 {
		other.signIn("guess"+string(rune('a'+i)), "wrong password number")
	}
	if p := other.signIn("yoon", goodPassword); p.status != http.StatusTooManyRequests {
		t.Errorf("an address with too many failures signing in yoon: %d, want 429", p.status)
	}
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.idp.SignIn(oidctest.Person{Subject: "idp-0001", Username: "Seo.Jun", Groups: []string{"dr-sre", "dr-compliance", "unrelated"}})
	br := b.browser(t)
	login := br.get("/login")
	if !strings.Contains(login.body, `href="/login/oidc"`) {
		t.Fatalf("sign-in page offers no identity provider:\n%s", login.body)
	}
	p := br.get("/login/oidc") // to the provider, back to /auth/callback, then home
	if p.status != http.StatusOK || p.url.Path != "/" || !strings.Contains(p.body, `id="user">seo.jun<`) || !strings.Contains(p.body, "the identity provider") {
		t.Fatalf("OIDC sign-in landed on %d %s:\n%s", p.status, p.url, p.body)
	}
	if b.idp.Exchanges() != 1 {
		t.Errorf("the provider exchanged %d codes, want 1", b.idp.Exchanges())
	}
	u, err := b.ctl.UserGet(ctx, b.admin, "seo.jun")
	if err != nil || !slices.Equal(u.Roles, []string{"compliance", "sre"}) {
		t.Fatalf("user seo.jun = %+v, %v: want created with compliance, sre", u, err)
	}
	// The provider changes the groups: the next sign-in follows, and every change is recorded.
	b.idp.SignIn(oidctest.Person{Subject: "idp-0001", Username: "seo.jun", Groups: []string{"dr-read", "dr-sre"}})
	if p := b.browser(t).get("/login/oidc"); p.url.Path != "/" {
		t.Fatalf("second OIDC sign-in landed on %s", p.url)
	}
	u, _ = b.ctl.UserGet(ctx, b.admin, "seo.jun")
	if !slices.Equal(u.Roles, []string{"sre", "viewer"}) {
		t.Errorf("roles after the groups changed = %v, want sre, viewer", u.Roles)
	}
	grants, err := b.ctl.RoleGrantList(ctx, b.admin, "seo.jun")
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, g := range grants {
		if g.By != control.OIDCActor {
			t.Errorf("grant %+v not by the identity provider", g)
		}
		changes = append(changes, g.Change+" "+g.Role)
	}
	slices.Sort(changes)
	if want := []string{"grant compliance", "grant sre", "grant viewer", "revoke compliance"}; !slices.Equal(changes, want) {
		t.Errorf("role changes = %v, want %v", changes, want)
	}
	ops := operations(t, b, "seo.jun")
	for _, want := range []string{"user.create ok", "role.grant ok", "role.revoke ok", "session.sign_in ok"} {
		if !slices.Contains(ops, want) {
			t.Errorf("operations of seo.jun = %v, want %q among them", ops, want)
		}
	}
	// No group that maps: signed in nowhere, and the roles are taken away.
	b.idp.SignIn(oidctest.Person{Subject: "idp-0001", Username: "seo.jun", Groups: []string{"unrelated"}})
	if p := b.browser(t).get("/login/oidc"); p.status != http.StatusForbidden || !strings.Contains(p.body, "grants you no firedrill role") {
		t.Errorf("sign-in without a mapped group: %d\n%s", p.status, p.body)
	}
	u, _ = b.ctl.UserGet(ctx, b.admin, "seo.jun")
	if len(u.Roles) != 0 {
		t.Errorf("roles after the provider took every group away = %v, want none", u.Roles)
	}
	// A provider account may not take over a local user of the same name.
	b.idp.SignIn(oidctest.Person{Subject: "idp-0002", Username: "root", Groups: []string{"dr-sre"}})
	if p := b.browser(t).get("/login/oidc"); p.status != http.StatusForbidden {
		t.Errorf("provider account named like the local admin: %d, want 403\n%s", p.status, p.body)
	}
	if u, _ := b.st.UserGet(ctx, "root"); u.OIDCSubject != "" || slices.Contains(u.Roles, "sre") {
		t.Errorf("the local admin was linked to the provider: %+v", u)
	}
}

// operations returns "operation outcome" for each recorded operation on target.
func operations(t *testing.T, b *bundle, target string) []string {
	t.Helper()
	ops, err := b.st.OperationList(context.Background(), &store.OperationListParams{Target: target, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range ops {
		out = append(out, o.Operation+" "+o.Outcome)
	}
	return out
}

func TestOIDCRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name   string
		tamper func(*oidctest.Claims)
		state  string
	}{
		{name: "wrong state", state: "not-the-state-this-browser-was-given"},
		{name: "wrong nonce", tamper: func(c *oidctest.Claims) { c.Nonce = "another-sign-in" }},
		{name: "no nonce", tamper: func(c *oidctest.Claims) { c.Nonce = "" }},
		{name: "expired", tamper: func(c *oidctest.Claims) { c.Expiry = jwt.NewNumericDate(b.clock.Now().Add(-time.Minute)) }},
		{name: "wrong audience", tamper: func(c *oidctest.Claims) { c.Audience = []string{"another-client"} }},
		{name: "wrong issuer", tamper: func(c *oidctest.Claims) { c.Issuer = "https://idp.example.com" }},
	}
	for i, tt := range tests {
		name := "victim" + string(rune('a'+i))
		b.idp.SignIn(oidctest.Person{Subject: "sub-" + name, Username: name, Groups: []string{"dr-sre"}})
		if tt.tamper != nil {
			b.idp.Tamper(tt.tamper)
		}
		br := b.browser(t)
		br.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		toIdP := br.get("/login/oidc")
		back := br.get(toIdP.header.Get("Location"))
		cb, err := url.Parse(back.header.Get("Location"))
		if err != nil || cb.Path != "/auth/callback" {
			t.Fatalf("%s: the provider sent the browser to %q", tt.name, back.header.Get("Location"))
		}
		if tt.state != "" {
			q := cb.Query()
			q.Set("state", tt.state)
			cb.RawQuery = q.Encode()
		}
		p := br.get(cb.String())
		if p.status != http.StatusForbidden && p.status != http.StatusUnauthorized {
			t.Errorf("%s: callback answered %d, want 401 or 403\n%s", tt.name, p.status, p.body)
		}
		br.client.CheckRedirect = nil
		if br.signedIn() {
			t.Errorf("%s: signed in", tt.name)
		}
		if _, err := b.st.UserGet(context.Background(), name); err == nil {
			t.Errorf("%s: user %s was created", tt.name, name)
		}
	}
	// A callback replayed after a good one finds no flow in progress, and its code is spent.
	b.idp.SignIn(oidctest.Person{Subject: "sub-ok", Username: "okuser", Groups: []string{"dr-sre"}})
	br := b.browser(t)
	br.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	callback := br.get(br.get("/login/oidc").header.Get("Location")).header.Get("Location")
	if p := br.get(callback); p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
		t.Fatalf("good callback: %d to %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if p := b.browser(t).get(callback); p.status != http.StatusBadRequest {
		t.Errorf("callback replayed from another browser: %d, want 400", p.status)
	}
	if p := br.get(callback); p.status != http.StatusBadRequest {
		t.Errorf("callback replayed in the same browser: %d, want 400", p.status)
	}
}

// TestSecureCookies checks the attributes of every cookie the console sets when it is told
// that TLS is in front: Secure, HttpOnly, SameSite=Lax, and the __Host- session cookie.
func TestSecureCookies(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) { o.secure = true })
	b.localUser(t, "secure.user", drills.RoleViewer)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(b.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	var login *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "firedrill_login" {
			login = c
		}
	}
	if login == nil || !login.Secure || !login.HttpOnly || login.SameSite != http.SameSiteLaxMode {
		t.Fatalf("login cookie = %+v, want Secure, HttpOnly, SameSite=Lax", login)
	}
	token := page{body: body}.csrf(t)
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/login", strings.NewReader(url.Values{"user": {"secure.user"}, "password": {goodPassword}, "csrf_token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: login.Name, Value: login.Value})
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-firedrill_session" {
			sess = c
		}
		if c.Name == "firedrill_session" {
			t.Errorf("a session cookie without the __Host- prefix was set under Secure cookies")
		}
	}
	if resp.StatusCode != http.StatusSeeOther || sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || sess.Domain != "" || sess.MaxAge <= 0 {
		t.Fatalf("sign-in: %d, session cookie %+v: want Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, an expiry", resp.StatusCode, sess)
	}
	if !strings.HasPrefix(sess.Value, control.SessionPrefix) {
		t.Errorf("session cookie value does not look like a session secret")
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
