package web_test

import (
	"net/http"
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
