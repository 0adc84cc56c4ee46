package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/web"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	if _, err := web.New(web.Config{}); err == nil || !strings.Contains(err.Error(), "Control") {
		t.Errorf("New without Control = %v, want an error naming it", err)
	}
	b := setupServer(t)
	if _, err := web.New(web.Config{Control: b.ctl, MaxBodyBytes: -1}); err == nil || !strings.Contains(err.Error(), "MaxBodyBytes") {
		t.Errorf("New with MaxBodyBytes -1 = %v, want an error naming it", err)
	}
}

// TestInternalErrorsSayNothing loses the database under a running server: an API request is
// a 500 that says only "internal error" while the log has the cause, and /healthz says 503.
func TestInternalErrorsSayNothing(t *testing.T) {
	t.Parallel()
	b := setupServer(t)
	b.tokens[callerUnknown] = "fdt_" + strings.Repeat("B", 43)
	if err := b.st.Close(); err != nil {
		t.Fatal(err)
	}
	r := b.do(t, callerUnknown, request{method: "GET", path: "/api/v1/whoami"})
	if r.status != http.StatusInternalServerError {
		t.Fatalf("whoami without a database = %s, want 500", r)
	}
	if e := r.apiError(t); e.Error.Code != string(control.CategoryInternal) || e.Error.Message != "internal error" || e.Error.Field != "" {
		t.Errorf("500 body = %s, want only internal error", r.body)
	}
	if logs := b.logs.String(); !strings.Contains(logs, "request failed") || !strings.Contains(logs, "/api/v1/whoami") {
		t.Errorf("the log does not record the failure:\n%s", logs)
	}
	r = b.do(t, callerNone, request{method: "GET", path: "/healthz"})
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), `"unavailable"`) {
		t.Errorf("healthz without a database = %s, want 503 unavailable", r)
	}
}

// TestBodyLimit: a body beyond the limit is a 413 however large, read no further than the
// limit; the public route decodes bodies like every other.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	b := setupServer(t)
	ten := []byte(`{"comment":"` + strings.Repeat("x", 10<<20) + `"}`)
	for _, c := range []struct {
		name   string
		rq     request
		status int
	}{
		{"10 MB", request{method: "GET", path: "/api/v1/openapi.json", body: ten}, http.StatusRequestEntityTooLarge},
		{"1 MiB + 1", request{method: "GET", path: "/api/v1/openapi.json", body: []byte(strings.Repeat(" ", 1<<20) + "{}")}, http.StatusRequestEntityTooLarge},
		{"1 MiB", request{method: "GET", path: "/api/v1/openapi.json", body: []byte(strings.Repeat(" ", 1<<20-2) + "{}")}, http.StatusOK},
		{"empty object", request{method: "GET", path: "/api/v1/openapi.json", body: []byte(`{}`)}, http.StatusOK},
		{"a field", request{method: "GET", path: "/api/v1/openapi.json", body: []byte(`{"a":1}`)}, http.StatusBadRequest},
		{"text", request{method: "GET", path: "/api/v1/openapi.json", body: []byte(`{}`), contentType: "text/plain"}, http.StatusUnsupportedMediaType},
		{"unknown query", request{method: "GET", path: "/api/v1/openapi.json?x=1"}, http.StatusBadRequest},
	} {
		if r := b.do(t, callerNone, c.rq); r.status != c.status {
			t.Errorf("%s: %s, want %d", c.name, truncate(r.body), c.status)
		}
	}

	small, err := web.New(web.Config{Control: b.ctl, MaxBodyBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(small.Handler())
	defer ts.Close()
	for body, want := range map[string]int{`{        }`: 200, `{         }`: 413} {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/openapi.json", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("MaxBodyBytes 10, a body of %d bytes: %d, want %d", len(body), resp.StatusCode, want)
		}
	}
}
