package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
	"github.com/firedrill/firedrill/web"
)

// Callers of the tests: a user per role, each with a token of that role, and the tokens that
// must never get in.
const (
	callerNone     = "no token"
	callerUnknown  = "unknown token"
	callerExpired  = "expired token"
	callerRevoked  = "revoked token"
	callerDisabled = "disabled user's token"
)

var badCallers = []string{callerNone, callerUnknown, callerExpired, callerRevoked, callerDisabled}

// The schedule of examples/firedrill.hcl.
const scheduleName = "semiannual-sangam-loss"

// testStart is the fake clock's reading when a bundle is set up.
var testStart = time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC)

// bundle is a real server over a real, migrated PostgreSQL database with the example estate,
// and tokens for every caller.
type bundle struct {
	url    string
	client *http.Client
	ctl    *control.Control
	st     *store.Store
	clock  *clocktest.Clock
	// tokens maps a caller (a role name, "sre2", or one of badCallers) to its token.
	tokens map[string]string
	// callers are the authenticated callers, by the same names.
	callers map[string]*control.Caller
	planSrc string
	logs    *syncBuffer
	openapi *openapiChecker
}

// setupServer starts a server on a fresh database with the example estate, its schedules
// recorded (as serve records them when it starts), and no users. The store and control share
// one fake clock.
func setupServer(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	clk := clocktest.New(testStart)
	st := storetest.PostgresOn(t, clk)
	estatePath, err := filepath.Abs("../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(estatePath)
	if err != nil {
		t.Fatal(err)
	}
	estate, diags := drills.ParseEstate(src, estatePath)
	if diags.HasErrors() {
		t.Fatalf("parse %s: %v", estatePath, diags)
	}
	// Every run needs an SRE and a compliance officer, as the example estate's default
	// approval says.
	estate.DefaultApproval = drills.ApprovalPolicy{Roles: []string{drills.RoleSRE, drills.RoleCompliance}}
	planSrc, err := os.ReadFile("../examples/plans/site-loss.hcl")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sch, err := scheduler.New(scheduler.Config{Store: st, Estate: estate, EstateSource: src, EstateFile: estatePath,
		LoadPlan: func(path string) (*drills.Plan, []byte, error) {
			src, err := os.ReadFile(filepath.Join(filepath.Dir(estatePath), path))
			if err != nil {
				return nil, nil, err
			}
			plan, diags := drills.ParsePlan(src, path)
			if diags.HasErrors() {
				return nil, nil, diags
			}
			return plan, src, nil
		},
		Clock: clk, Logger: logger, Owner: "web-test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Start(ctx); err != nil {
		t.Fatalf("record the estate's schedules: %v", err)
	}
	sch.Stop()
	ctl, err := control.New(control.Config{
		Store:   st,
		Estate:  &control.Estate{Path: estatePath, Estate: estate, Source: src},
		Clock:   clk,
		Logger:  logger,
		Reports: testReports(t, st),
	})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{ctl: ctl, st: st, clock: clk, tokens: map[string]string{}, callers: map[string]*control.Caller{},
		planSrc: string(planSrc), logs: logs}
	srv, err := web.New(web.Config{Control: ctl, Logger: logger, Health: st.Health, Database: string(st.Dialect())})
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-registered first: the server closes before the logs are read.
	t.Cleanup(func() { b.checkLogs(t) })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	b.url = ts.URL
	b.client = ts.Client()
	b.openapi = newOpenAPIChecker(t)
	return b
}

// setup starts a server (setupServer) with an admin (bootstrapped), one user per other role
// and a second sre, each with a token; an expired token, a revoked one and a disabled user's.
func setup(t *testing.T) *bundle {
	t.Helper()
	b := setupServer(t)
	ctx := context.Background()
	ctl := b.ctl
	boot, err := ctl.Bootstrap(ctx, &control.BootstrapParams{Name: drills.RoleAdmin,
		By: drills.Actor{Kind: drills.ActorLocal, Name: "web-test", Via: drills.ViaCLI}})
	if err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	b.addCaller(t, drills.RoleAdmin, boot.Secret)
	admin := b.callers[drills.RoleAdmin]
	newUser := func(name string, roles ...string) {
		t.Helper()
		if _, err := ctl.UserCreate(ctx, admin, &control.UserCreateParams{Name: name, Roles: roles}); err != nil {
			t.Fatalf("UserCreate(%s): %v", name, err)
		}
	}
	newToken := func(user, expiresIn string) *control.NewToken {
		t.Helper()
		tok, err := ctl.TokenCreate(ctx, admin, &control.TokenCreateParams{User: user, Description: "web test", ExpiresIn: expiresIn})
		if err != nil {
			t.Fatalf("TokenCreate(%s): %v", user, err)
		}
		return tok
	}
	for _, role := range drills.Roles {
		if role == drills.RoleAdmin {
			continue
		}
		newUser(role, role)
		b.addCaller(t, role, newToken(role, "").Secret)
	}
	newUser("sre2", drills.RoleSRE)
	b.addCaller(t, "sre2", newToken("sre2", "").Secret)

	b.tokens[callerUnknown] = "fdt_" + strings.Repeat("A", 43)
	b.tokens[callerExpired] = newToken(drills.RoleSRE, "1h").Secret
	revoked := newToken(drills.RoleSRE, "")
	if _, err := ctl.TokenRevoke(ctx, admin, revoked.ID); err != nil {
		t.Fatalf("TokenRevoke: %v", err)
	}
	b.tokens[callerRevoked] = revoked.Secret
	newUser("gone", drills.RoleSRE)
	b.tokens[callerDisabled] = newToken("gone", "").Secret
	if _, err := ctl.UserDisable(ctx, admin, "gone"); err != nil {
		t.Fatalf("UserDisable: %v", err)
	}
	b.clock.Advance(2 * time.Hour) // past the expired token's hour
	return b
}

func (b *bundle) addCaller(t *testing.T, name, secret string) {
	t.Helper()
	c, err := b.ctl.Authenticate(context.Background(), secret, drills.ViaAPI)
	if err != nil {
		t.Fatalf("Authenticate(%s's token): %v", name, err)
	}
	b.tokens[name], b.callers[name] = secret, c
}

// checkLogs fails the test if a token appears in the server's log.
func (b *bundle) checkLogs(t *testing.T) {
	logs := b.logs.String()
	for who, tok := range b.tokens {
		if strings.Contains(logs, tok) {
			t.Errorf("the log holds the token of %s", who)
		}
	}
}

// request is one request of a test.
type request struct {
	method, path string
	// body is sent as is; nil sends none.
	body []byte
	// contentType defaults to application/json when there is a body; "-" sends none.
	contentType string
	header      http.Header
}

// jsonBody marshals v.
func jsonBody(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// reply is what the server answered.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// apiError is the error body.
type apiError struct {
	Error struct {
		Code        string               `json:"code"`
		Message     string               `json:"message"`
		Field       string               `json:"field"`
		Diagnostics []control.Diagnostic `json:"diagnostics"`
	} `json:"error"`
}

func (r *reply) apiError(t testing.TB) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("reply %d is not an error body: %s (%v)", r.status, r.body, err)
	}
	return e
}

// decode decodes the reply's body into v, failing the test unless the status is want.
func (r *reply) decode(t testing.TB, want int, v any) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r *reply) String() string { return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(r.body)) }

// do sends rq as caller and validates the reply (and, if it succeeded, the request) against
// the OpenAPI document.
func (b *bundle) do(t testing.TB, caller string, rq request) *reply {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), rq.method, b.url+rq.path, bytes.NewReader(rq.body))
	if err != nil {
		t.Fatal(err)
	}
	if rq.body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, vs := range rq.header {
		req.Header[k] = vs
	}
	switch {
	case rq.contentType == "-":
	case rq.contentType != "":
		req.Header.Set("Content-Type", rq.contentType)
	case rq.body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if caller != callerNone {
		tok, ok := b.tokens[caller]
		if !ok {
			t.Fatalf("no caller %q", caller)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read reply: %v", rq.method, rq.path, err)
	}
	r := &reply{status: resp.StatusCode, header: resp.Header, body: body}
	b.openapi.check(t, rq, r)
	return r
}

// ---- OpenAPI validation -----------------------------------------------------------------

// openapiChecker validates replies against web/openapi.json and records which statuses of
// which routes it validated.
type openapiChecker struct {
	doc    *openapi3.T
	router routers.Router
	mu     sync.Mutex
	seen   map[string]map[int]bool
}

func newOpenAPIChecker(t testing.TB) *openapiChecker {
	t.Helper()
	doc := loadOpenAPI(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router over openapi.json: %v", err)
	}
	return &openapiChecker{doc: doc, router: router, seen: map[string]map[int]bool{}}
}

func (c *openapiChecker) check(t testing.TB, rq request, r *reply) {
	t.Helper()
	if !strings.HasPrefix(rq.path, "/api/v1/") || rq.method == http.MethodHead {
		return
	}
	what := fmt.Sprintf("%s %s -> %d", rq.method, rq.path, r.status)
	// Every reply is JSON but a report bundle's, a zip (whose schema the document states).
	zipped := r.status < 300 && strings.HasPrefix(rq.path, "/api/v1/reports/") && strings.HasSuffix(rq.path, "/bundle")
	if ct := r.header.Get("Content-Type"); ct != "application/json" && (!zipped || ct != "application/zip") {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	ctx := context.Background()
	req, err := http.NewRequestWithContext(ctx, rq.method, "http://firedrill.test"+rq.path, bytes.NewReader(rq.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range rq.header {
		req.Header[k] = vs
	}
	if rq.body != nil && rq.contentType != "-" {
		ct := rq.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Authorization", "Bearer x")
	route, params, err := c.router.FindRoute(req)
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		// Not a route: the reply must still be an error in the API's shape.
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Errorf("%s: reply is not JSON: %s", what, r.body)
			return
		}
		if err := c.doc.Components.Schemas["Error"].Value.VisitJSON(v); err != nil {
			t.Errorf("%s: reply is not an Error: %v\n%s", what, err, r.body)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: find route in openapi.json: %v", what, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if r.status < 300 && reqErr != nil {
		t.Errorf("%s: the server accepted a request that openapi.json calls invalid: %v", what, reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.status, Header: r.header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(r.body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s: reply does not match openapi.json: %v\n%s", what, err, truncate(r.body))
	}
	key := rq.method + " " + route.Path
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[key] == nil {
		c.seen[key] = map[int]bool{}
	}
	c.seen[key][r.status] = true
}

// statuses returns the statuses validated for a route.
func (c *openapiChecker) statuses(key string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for s := range c.seen[key] {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
