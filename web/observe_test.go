package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/web"
)

// TestReadyzSaysWhyNot: /readyz is 200 while the readiness check passes and 503 with its
// public reason (never the wrapped cause) once it fails; /healthz stays independent of it.
func TestReadyzSaysWhyNot(t *testing.T) {
	t.Parallel()
	b := setupServer(t)
	var failing atomic.Bool
	ready := func(context.Context) error {
		if failing.Load() {
			return &reasonError{reason: "scheduler lease: no holder", cause: errors.New("dial tcp 10.0.0.7:5432: secret-host")}
		}
		return nil
	}
	srv, err := web.New(web.Config{Control: b.ctl, Health: b.st.Health, Ready: ready, Database: "postgres"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	get := func(path string) (int, map[string]string) {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, body
	}
	if code, body := get("/readyz"); code != http.StatusOK || body["status"] != "ready" {
		t.Errorf("GET /readyz = %d %v; want 200 ready", code, body)
	}
	failing.Store(true)
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable || body["status"] != "not_ready" || body["reason"] != "scheduler lease: no holder" {
		t.Errorf("GET /readyz failing = %d %v; want 503 with the reason", code, body)
	}
	if strings.Contains(body["reason"], "secret-host") {
		t.Errorf("GET /readyz shows the cause: %v", body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz while not ready = %d; want 200 (alive)", code)
	}

	// Without a check of its own, readiness is the health check, its cause kept out.
	plain, err := web.New(web.Config{Control: b.ctl, Health: func(context.Context) error { return errors.New("dial 10.0.0.7") }})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	plain.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "10.0.0.7") || !strings.Contains(rec.Body.String(), "database unreachable") {
		t.Errorf("default /readyz with a failing health check = %d %s", rec.Code, rec.Body)
	}
}

// reasonError is a readiness failure with a public reason and a private cause.
type reasonError struct {
	reason string
	cause  error
}

func (e *reasonError) Error() string { return e.reason }
func (e *reasonError) Unwrap() error { return e.cause }

// TestMetricsLabelRequestsByRoutePattern: /metrics serves the registry, and each request is
// counted under the pattern that served it, never its raw path.
func TestMetricsLabelRequestsByRoutePattern(t *testing.T) {
	t.Parallel()
	b := setupServer(t)
	m := metrics.New()
	srv, err := web.New(web.Config{Control: b.ctl, Health: b.st.Health, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, path := range []string{"/api/v1/runs/run-7f3a9c", "/api/v1/runs/run-000001", "/no/such/page-42", "/healthz"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	text := string(body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d\n%s", resp.StatusCode, text)
	}
	for _, want := range []string{
		`firedrill_http_request_duration_seconds_count{code="401",method="GET",route="/api/v1/runs/{id}"} 2`,
		`firedrill_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
		`firedrill_http_request_duration_seconds_count{code="200",method="GET",route="/healthz"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, raw := range []string{"run-7f3a9c", "page-42"} {
		if strings.Contains(text, raw) {
			t.Errorf("/metrics carries the raw path %s as a label", raw)
		}
	}

	// Without metrics there is no /metrics route.
	rec := httptest.NewRecorder()
	plain, err := web.New(web.Config{Control: b.ctl})
	if err != nil {
		t.Fatal(err)
	}
	plain.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /metrics without Metrics = %d; want 404", rec.Code)
	}
}
