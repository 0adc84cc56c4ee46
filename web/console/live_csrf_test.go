package console_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/web/console"
	"github.com/firedrill/firedrill/web/console/pages"
)

// The live view's forms (abort, step decisions) are behind the console's CSRF check: without
// the session's token they are refused with 403 before the pages see them; with it they reach
// the pages (which answer for the unknown run).
func TestLiveViewFormsNeedTheCSRFToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.localUser(t, "jung", drills.RoleSRE)
	withPages, err := console.New(console.Config{Control: b.ctl, Clock: b.clock,
		Pages: func(caller func(*http.Request) (*control.Caller, error), csrf func(*http.Request) string) (http.Handler, error) {
			return pages.New(pages.Config{Control: b.ctl, Clock: b.clock, Caller: caller, CSRFToken: csrf})
		}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	withPages.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	pb := *b
	pb.srv, pb.console = srv, withPages
	br := pb.browser(t)
	br.signIn("jung", goodPassword)
	token := br.get("/runs").csrf(t)
	for _, path := range []string{"/runs/no-such-run/abort", "/runs/no-such-run/decide"} {
		form := url.Values{"reason": {"drill window over"}, "confirm": {"no-such-run"}, "step_key": {"confirm"}, "decision": {"done"}}
		if p := br.post(path, form); p.status != http.StatusForbidden || !strings.Contains(p.body, "CSRF") {
			t.Errorf("POST %s without the CSRF token: %d, want 403 from the CSRF check:\n%s", path, p.status, p.body)
		}
		form.Set("csrf_token", token)
		if p := br.post(path, form); p.status != http.StatusNotFound {
			t.Errorf("POST %s with the CSRF token: %d, want the pages' 404 for an unknown run", path, p.status)
		}
	}
}
