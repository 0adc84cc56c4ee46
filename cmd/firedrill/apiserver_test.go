package main

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
	"github.com/firedrill/firedrill/web"
)

// apiServer is a real firedrill server for the CLI tests: web over control over a store,
// on a real HTTP listener. The CLI reaches it as a user would, through FIREDRILL_ADDR and
// an API token.
type apiServer struct {
	url string
	// dsn is the database, for firedrill user bootstrap.
	dsn string
	st  *store.Store
}

// startAPI serves the API over a fresh PostgreSQL database, with the estate at estatePath
// ("" for none).
func startAPI(t *testing.T, estatePath string) *apiServer {
	t.Helper()
	dsn := storetest.NewDatabase(t)
	st, err := store.Open(context.Background(), store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	return apiOver(t, st, dsn, estatePath)
}

// apiOver serves the API over st, whose URL is dsn.
func apiOver(t *testing.T, st *store.Store, dsn, estatePath string) *apiServer {
	t.Helper()
	cfg := control.Config{Store: st}
	if estatePath != "" {
		est, src, err := loadEstate(estatePath)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Estate = &control.Estate{Path: estatePath, Estate: est, Source: src}
	}
	ctl, err := control.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{Control: ctl})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &apiServer{url: hs.URL, dsn: dsn, st: st}
}

// as is the environment of a CLI invocation that acts with token.
func (s *apiServer) as(token string) map[string]string {
	return map[string]string{"FIREDRILL_ADDR": s.url, "FIREDRILL_TOKEN": token}
}

// cli runs the CLI acting with token and fails the test unless it exits 0.
func (s *apiServer) cli(t *testing.T, token string, args ...string) cliResult {
	t.Helper()
	res := runCLI(t, context.Background(), s.as(token), args...)
	if res.code != exitOK {
		t.Fatalf("firedrill %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
	}
	return res
}

// bootstrap creates the first admin through `firedrill user bootstrap` and returns their
// token.
func (s *apiServer) bootstrap(t *testing.T, name string) string {
	t.Helper()
	res := runCLI(t, context.Background(), nil, "user", "bootstrap", name, "--database-url", s.dsn)
	if res.code != exitOK {
		t.Fatalf("user bootstrap %s: exit %d: %s", name, res.code, res.stderr)
	}
	return strings.TrimSpace(res.stdout)
}

// person creates, as admin, a user holding roles and a token for them, through the CLI, and
// returns the token.
func (s *apiServer) person(t *testing.T, admin, name string, roles ...string) string {
	t.Helper()
	args := []string{"user", "add", name}
	for _, r := range roles {
		args = append(args, "--role", r)
	}
	s.cli(t, admin, args...)
	return strings.TrimSpace(s.cli(t, admin, "token", "create", "--user", name).stdout)
}

// defaultApproval is an estate's top-level approval block (a schedule's is indented).
var defaultApproval = regexp.MustCompile(`(?m)^approval \{[^}]*\}\n`)

// withoutDefaultApproval is an estate's source without its default approval policy, for tests
// whose runs must start without approvers.
func withoutDefaultApproval(t *testing.T, src string) string {
	t.Helper()
	out := defaultApproval.ReplaceAllString(src, "")
	if out == src {
		t.Fatal("the estate has no top-level approval block to remove")
	}
	return out
}

// sreToken creates, on st directly, the first admin and through them an SRE, and returns the
// SRE's token: for tests that run firedrill serve as a process of its own.
func sreToken(t *testing.T, st *store.Store, name string) string {
	t.Helper()
	ctx := context.Background()
	ctl, err := control.New(control.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := ctl.Bootstrap(ctx, &control.BootstrapParams{Name: "root", By: localPerson("test")})
	if err != nil {
		t.Fatal(err)
	}
	caller, err := ctl.Authenticate(ctx, admin.Secret, drills.ViaCLI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.UserCreate(ctx, caller, &control.UserCreateParams{Name: name, Roles: []string{drills.RoleSRE}}); err != nil {
		t.Fatal(err)
	}
	tok, err := ctl.TokenCreate(ctx, caller, &control.TokenCreateParams{User: name})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Secret
}

// waitFor polls cond until it holds, failing the test after timeout: for what only real time
// brings about (a process starting up).
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not so after %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
