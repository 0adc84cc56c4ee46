package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// serveAPI starts firedrill serve in dir with args on dsn and returns its base URL once it
// serves.
func serveAPI(t *testing.T, ctx context.Context, dir, dsn string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, binPath, append([]string{"serve", "--migrate", "--database-url", dsn, "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	var base string
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if _, rest, ok := strings.Cut(sc.Text(), "firedrill serving on "); ok {
			base, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	if base == "" {
		t.Fatalf("serve did not print its address:\n%s", strings.Join(seen, "\n"))
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	return base
}

// bootstrapToken creates the first admin on dsn (as `firedrill user bootstrap` does) and
// returns its token.
func bootstrapToken(t *testing.T, ctx context.Context, dsn string) string {
	t.Helper()
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctl, err := control.New(control.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ctl.Bootstrap(ctx, &control.BootstrapParams{Name: "root",
		By: drills.Actor{Kind: drills.ActorLocal, Name: "serve-test", Via: drills.ViaCLI}})
	if err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	return tok.Secret
}

func apiGet(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: %d, body is not a JSON object: %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode, body
}

// TestServeAPIWithoutAnEstate: serve with no estate still serves the API; what needs the
// estate answers 409, the rest works, and nothing gets in without a token.
func TestServeAPIWithoutAnEstate(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := storetest.NewDatabase(t)
	base := serveAPI(t, ctx, t.TempDir(), dsn)

	if code, doc := apiGet(t, base+"/api/v1/openapi.json", ""); code != 200 || doc["openapi"] == nil {
		t.Errorf("GET /api/v1/openapi.json = %d %v", code, doc)
	}
	if code, body := apiGet(t, base+"/api/v1/whoami", ""); code != 401 {
		t.Errorf("GET /api/v1/whoami without a token = %d %v, want 401", code, body)
	}
	token := bootstrapToken(t, ctx, dsn)
	if code, body := apiGet(t, base+"/api/v1/whoami", token); code != 200 {
		t.Errorf("GET /api/v1/whoami = %d %v, want 200", code, body)
	}
	if code, body := apiGet(t, base+"/api/v1/users", token); code != 200 {
		t.Errorf("GET /api/v1/users = %d %v, want 200", code, body)
	}
	for _, path := range []string{"/api/v1/sites", "/api/v1/schedules"} {
		code, body := apiGet(t, base+path, token)
		if e, _ := body["error"].(map[string]any); code != http.StatusConflict || e["code"] != "conflict" {
			t.Errorf("GET %s without an estate = %d %v, want 409 conflict", path, code, body)
		}
	}
}

// TestServeAPIWithTheExampleEstate: serve --config serves the estate it loaded.
func TestServeAPIWithTheExampleEstate(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := storetest.NewDatabase(t)
	estate, err := filepath.Abs("../../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	base := serveAPI(t, ctx, t.TempDir(), dsn, "--config", estate)
	token := bootstrapToken(t, ctx, dsn)
	code, body := apiGet(t, base+"/api/v1/sites", token)
	sites, _ := body["sites"].([]any)
	if code != 200 || len(sites) != 3 {
		t.Errorf("GET /api/v1/sites = %d %v, want the example's 3 sites", code, body)
	}
}
