package httpaction_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/httpaction"
	"github.com/firedrill/firedrill/orchestrator/secret"
)

const gslbToken = "gslb-9c1e77d2"

// callServer records what it received and answers with status and reply.
type callServer struct {
	*httptest.Server
	requests atomic.Int32
	got      chan *http.Request
	bodies   chan string
}

func newCallServer(t *testing.T, status int, reply string) *callServer {
	t.Helper()
	s := &callServer{got: make(chan *http.Request, 10), bodies: make(chan string, 10)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		b, _ := io.ReadAll(r.Body)
		s.got <- r
		s.bodies <- string(b)
		w.WriteHeader(status)
		fmt.Fprint(w, reply)
	}))
	t.Cleanup(s.Close)
	return s
}

func callAction(env map[string]string) actions.Action {
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, a := range httpaction.Actions(httpaction.Config{Secrets: &secret.Resolver{LookupEnv: lookup}}) {
		if a.Spec().Name == drills.ActionHTTPCall {
			return a
		}
	}
	panic("no http.call action")
}

func callRequest(site *drills.Site, params map[string]any) *actions.Request {
	step := &drills.Step{Name: "switch-gslb", Action: drills.ActionHTTPCall, Params: params}
	if site != nil {
		step.Site = site.Name
	}
	return &actions.Request{
		RunID: "run", Plan: &drills.Plan{}, Instance: drills.StepInstance{Step: step, Key: step.Name},
		Site: site, Clock: clock.Real{},
	}
}

func TestSpecsMatchThePlanLanguage(t *testing.T) {
	t.Parallel()
	for _, a := range httpaction.Actions(httpaction.Config{}) {
		want, ok := drills.LookupAction(a.Spec().Name)
		if !ok || !reflect.DeepEqual(a.Spec(), want) {
			t.Errorf("Spec() = %+v, want %+v", a.Spec(), want)
		}
	}
}

func TestCallSucceeds(t *testing.T) {
	t.Parallel()
	srv := newCallServer(t, http.StatusOK, `{"record":"pay.bank.example","target":"yatap"}`)
	site := &drills.Site{Name: "yatap", Ingress: srv.URL + "/"}
	res, err := callAction(map[string]string{"GSLB_TOKEN": gslbToken}).Run(context.Background(), callRequest(site, map[string]any{
		"url":              "{ingress}/records/pay?target={site}",
		"body":             `{"target":"yatap"}`,
		"headers":          map[string]string{"Content-Type": "application/json"},
		"headers_from_env": map[string]string{"Authorization": "GSLB_TOKEN"},
	}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	r := <-srv.got
	if r.Method != http.MethodPost || r.URL.String() != "/records/pay?target=yatap" {
		t.Errorf("server saw %s %s, want POST /records/pay?target=yatap", r.Method, r.URL)
	}
	if r.Header.Get("Authorization") != gslbToken || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("server saw headers %v, want the token and the content type", r.Header)
	}
	if b := <-srv.bodies; b != `{"target":"yatap"}` {
		t.Errorf("server saw body %q", b)
	}
	ev := res.Evidence
	if ev["method"] != "POST" || ev["url"] != srv.URL+"/records/pay?target=yatap" || ev["status"] != 200 ||
		ev["response_body"] != `{"record":"pay.bank.example","target":"yatap"}` {
		t.Errorf("evidence = %v", ev)
	}
	if got := ev["headers"]; !reflect.DeepEqual(got, []string{"Authorization", "Content-Type", "User-Agent"}) {
		t.Errorf("evidence headers = %v, want the names sent", got)
	}
	if _, ok := ev["duration_ms"].(int64); !ok {
		t.Errorf("duration_ms = %v, want an int64", ev["duration_ms"])
	}
	assertNoSecret(t, res, err)
}

func TestCallWithoutSiteAndMethod(t *testing.T) {
	t.Parallel()
	srv := newCallServer(t, http.StatusNoContent, "")
	res, err := callAction(nil).Run(context.Background(), callRequest(nil, map[string]any{"url": srv.URL + "/page", "method": "put"}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r := <-srv.got; r.Method != http.MethodPut {
		t.Errorf("server saw %s, want PUT", r.Method)
	}
	if res.Evidence["status"] != 204 {
		t.Errorf("status = %v, want 204", res.Evidence["status"])
	}
}

func TestCallFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		reply  string
		params map[string]any
		want   string
	}{
		{status: 500, reply: "zone locked by another change\n", want: "status 500, want 2xx: zone locked by another change"},
		{status: 200, reply: "ok", params: map[string]any{"expect_status": int64(202)}, want: "status 200, want 202: ok"},
		{status: 302, reply: "", want: "status 302, want 2xx"},
		// A reply that echoes the secret header is quoted redacted.
		{status: 401, reply: "bad token " + gslbToken, want: "status 401, want 2xx: bad token [redacted]"},
	}
	for _, tt := range tests {
		srv := newCallServer(t, tt.status, tt.reply)
		params := map[string]any{"url": srv.URL + "/switch", "headers_from_env": map[string]string{"X-Token": "GSLB_TOKEN"}}
		for k, v := range tt.params {
			params[k] = v
		}
		res, err := callAction(map[string]string{"GSLB_TOKEN": gslbToken}).Run(context.Background(), callRequest(nil, params))
		if err == nil || err.Error() != "POST "+srv.URL+"/switch: "+tt.want {
			t.Errorf("Run(%v) = %v, want %q", tt.params, err, tt.want)
		}
		if n := srv.requests.Load(); n != 1 {
			t.Errorf("server saw %d requests, want exactly 1 (no retries)", n)
		}
		if res == nil || res.Evidence["status"] != tt.status {
			t.Errorf("evidence = %v, want status %d", res, tt.status)
		}
		assertNoSecret(t, res, err)
	}
}

func TestCallMissingSecretSendsNothing(t *testing.T) {
	t.Parallel()
	srv := newCallServer(t, http.StatusOK, "")
	res, err := callAction(map[string]string{}).Run(context.Background(), callRequest(nil, map[string]any{
		"url":              srv.URL,
		"headers_from_env": map[string]string{"Authorization": "GSLB_TOKEN"},
	}))
	if !errors.Is(err, secret.ErrMissing) || !strings.Contains(err.Error(), "GSLB_TOKEN") {
		t.Errorf("Run error = %v, want secret.ErrMissing naming GSLB_TOKEN", err)
	}
	if n := srv.requests.Load(); n != 0 {
		t.Errorf("server saw %d requests, want none", n)
	}
	assertNoSecret(t, res, err)
}

func TestCallUnreachable(t *testing.T) {
	t.Parallel()
	_, err := callAction(nil).Run(context.Background(), callRequest(nil, map[string]any{"url": "http://127.0.0.1:1/hook"}))
	if err == nil || !strings.Contains(err.Error(), "POST http://127.0.0.1:1/hook") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Run error = %v, want a refused connection naming the call", err)
	}
}

func assertNoSecret(t *testing.T, res *actions.Result, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), gslbToken) {
		t.Errorf("error %q contains the secret header value", err)
	}
	if res == nil {
		return
	}
	js, jerr := json.Marshal(res.Evidence)
	if jerr != nil {
		t.Fatal(jerr)
	}
	if strings.Contains(string(js), gslbToken) {
		t.Errorf("evidence %s contains the secret header value", js)
	}
}
