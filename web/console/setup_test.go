package console_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/internal/password"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
	"github.com/firedrill/firedrill/web/console"
	"github.com/firedrill/firedrill/web/console/oidctest"
	"github.com/firedrill/firedrill/web/console/pages"
)

const (
	clientID     = "firedrill-console"
	clientSecret = "idp-client-secret-4f9a7c1e"
	// goodPassword is long enough for the policy.
	goodPassword = "correct horse battery staple"
)

// cheapArgon keeps the tests fast; the hash format and comparison are the production ones.
var cheapArgon = password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type bundle struct {
	st      *store.Store
	dsn     string
	ctl     *control.Control
	console *console.Console
	clock   *clocktest.Clock
	idp     *oidctest.Provider
	srv     *httptest.Server
	admin   *control.Caller
	logs    *syncBuffer
}

type options struct {
	// realPages serves the console's pages (web/console/pages) behind the sign-in, as serve does.
	realPages bool
	rate      console.RateLimit
	secure    bool
	dsn       string
	store     *store.Store
	// pages, when set, builds the console's pages from the session's CSRF token.
	pages func(csrfToken func(*http.Request) string) http.Handler
}

func setup(t *testing.T, opts ...func(*options)) *bundle {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	b := &bundle{clock: clocktest.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), logs: &syncBuffer{}}
	b.st = o.store
	if b.st == nil {
		b.st = storetest.Postgres(t)
	}
	b.dsn = o.dsn
	logger := slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctl, err := control.New(control.Config{Store: b.st, Clock: b.clock, Logger: logger, PasswordParams: &cheapArgon})
	if err != nil {
		t.Fatal(err)
	}
	b.ctl = ctl
	b.idp = oidctest.New(t, clientID, clientSecret)
	b.idp.Now = b.clock.Now
	var handler http.Handler
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(b.srv.Close)
	cfg := console.Config{
		Control: ctl, Clock: b.clock, Logger: logger, RateLimit: o.rate, SecureCookies: o.secure,
		OIDC: &console.OIDC{
			Issuer: b.idp.URL, ClientID: clientID, ClientSecret: clientSecret, RedirectURL: b.srv.URL + "/auth/callback",
			RoleMap: map[string][]string{"dr-sre": {drills.RoleSRE}, "dr-compliance": {drills.RoleCompliance}, "dr-read": {drills.RoleViewer}},
		},
		Pages: pagesOf(o.pages),
	}
	if o.realPages {
		cfg.Pages = func(caller func(*http.Request) (*control.Caller, error), csrf func(*http.Request) string) (http.Handler, error) {
			return pages.New(pages.Config{Control: ctl, Caller: caller, CSRFToken: csrf, Clock: b.clock, Logger: logger})
		}
	}
	b.console, err = console.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	b.console.Register(mux)
	handler = mux
	ctx := context.Background()
	tok, err := ctl.Bootstrap(ctx, &control.BootstrapParams{Name: "root", By: drills.Actor{Kind: drills.ActorLocal, Name: "console-test", Via: drills.ViaCLI}})
	if err != nil {
		t.Fatal(err)
	}
	if b.admin, err = ctl.Authenticate(ctx, tok.Secret, drills.ViaCLI); err != nil {
		t.Fatal(err)
	}
	return b
}

// pagesOf serves the pages build makes as the console's pages, or none when build is nil.
func pagesOf(build func(func(*http.Request) string) http.Handler) func(func(*http.Request) (*control.Caller, error), func(*http.Request) string) (http.Handler, error) {
	if build == nil {
		return nil
	}
	return func(_ func(*http.Request) (*control.Caller, error), csrf func(*http.Request) string) (http.Handler, error) {
		return build(csrf), nil
	}
}

// localUser creates a user with roles and a console password.
func (b *bundle) localUser(t *testing.T, name string, roles ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := b.ctl.UserCreate(ctx, b.admin, &control.UserCreateParams{Name: name, Roles: roles}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ctl.PasswordSet(ctx, b.admin, &control.PasswordSetParams{User: name, Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
}

// browser is an http.Client with a cookie jar, following redirects like a browser.
type browser struct {
	t      *testing.T
	b      *bundle
	client *http.Client
	lang   string
}

func (b *bundle) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, b: b, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

func (br *browser) do(req *http.Request) page {
	br.t.Helper()
	if br.lang != "" {
		req.Header.Set("Accept-Language", br.lang)
	}
	resp, err := br.client.Do(req)
	if err != nil {
		br.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(body), header: resp.Header}
}

func (br *browser) get(path string) page {
	br.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = br.b.srv.URL + path
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		br.t.Fatal(err)
	}
	return br.do(req)
}

func (br *browser) post(path string, form url.Values) page {
	br.t.Helper()
	req, err := http.NewRequest(http.MethodPost, br.b.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		br.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return br.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// csrf is the CSRF token of a page's form.
func (p page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("page %s has no CSRF token:\n%s", p.url, p.body)
	}
	return m[1]
}

// signIn signs in with a password from the sign-in form and returns the page it lands on.
func (br *browser) signIn(user, pw string) page {
	br.t.Helper()
	login := br.get("/login")
	return br.post("/login", url.Values{"user": {user}, "password": {pw}, "csrf_token": {login.csrf(br.t)}})
}

// signedIn reports whether GET / shows the home page (not the sign-in page).
func (br *browser) signedIn() bool {
	br.t.Helper()
	p := br.get("/")
	return p.status == http.StatusOK && p.url.Path == "/"
}

// sessionSecret returns the session cookie's value in the jar.
func (br *browser) sessionSecret() string {
	u, _ := url.Parse(br.b.srv.URL)
	for _, c := range br.client.Jar.Cookies(u) {
		if c.Name == "firedrill_session" {
			return c.Value
		}
	}
	return ""
}
