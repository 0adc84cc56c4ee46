package httpaction_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/httpaction"
	"github.com/firedrill/firedrill/orchestrator/secret"
)

func request(site *drills.Site, services ...*drills.Service) *actions.Request {
	step := &drills.Step{Name: "verify", Action: drills.ActionHTTPWaitHealthy, Site: site.Name}
	return &actions.Request{
		RunID: "run", Plan: &drills.Plan{}, Instance: drills.StepInstance{Step: step, Key: "verify"},
		Site: site, Services: services, Clock: clock.Real{},
	}
}

func TestWaitHealthyObservesTheFirstPassingPoll(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	healthyAfter := int32(3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/auth/healthz" {
			http.NotFound(w, r)
			return
		}
		if calls.Add(1) < healthyAfter {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	defer srv.Close()
	site := &drills.Site{Name: "yatap", Ingress: srv.URL + "/"}
	svc := &drills.Service{Name: "auth", Checks: []*drills.Check{{Kind: drills.CheckHTTP, URL: "{ingress}/auth/healthz", ExpectBody: `"ok"`, Interval: 5 * time.Millisecond}}}
	a := httpaction.Actions(httpaction.Config{})[0]
	before := time.Now()
	res, err := a.Run(context.Background(), request(site, svc))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Observations) != 1 {
		t.Fatalf("observations = %v, want one", res.Observations)
	}
	o := res.Observations[0]
	// The resolution is the bound measured: since the start of the last failing poll.
	if o.Service != "auth" || o.Site != "yatap" || o.Method != actions.ResolutionPoll || o.PassedAt.Before(before) ||
		o.Resolution <= 0 || o.Resolution > o.PassedAt.Sub(before)+time.Millisecond { // rounded up to ms
		t.Errorf("observation = %+v; want auth on yatap by poll after the start, resolution within the wait", o)
	}
	// Polls overlap (one that hangs must not hold the next), so one more may be on its way
	// when the first pass comes back; none starts after it.
	if got := calls.Load(); got < healthyAfter || got > healthyAfter+1 {
		t.Errorf("polled %d times, want %d or %d (stop at the first pass)", got, healthyAfter, healthyAfter+1)
	}
	ev := res.Evidence["services"].(map[string]any)["auth"].(map[string]any)
	if ev["poll_interval_ms"] != int64(5) {
		t.Errorf("evidence poll_interval_ms = %v, want 5", ev["poll_interval_ms"])
	}
}

func TestWaitHealthyFailsWithTheLastFailure(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"degraded"}`)
	}))
	defer srv.Close()
	site := &drills.Site{Name: "yatap", Ingress: srv.URL}
	tests := []struct {
		check *drills.Check
		want  string
	}{
		{check: &drills.Check{URL: "{ingress}/x", ExpectStatus: 204}, want: "status 200, want 204"},
		{check: &drills.Check{URL: "{ingress}/x", ExpectBody: `"ok"`}, want: `does not contain "\"ok\""`},
		{check: &drills.Check{URL: "http://127.0.0.1:1/x"}, want: "refused"},
	}
	for _, tt := range tests {
		tt.check.Interval = 10 * time.Millisecond
		svc := &drills.Service{Name: "payments", Checks: []*drills.Check{tt.check}}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := httpaction.Actions(httpaction.Config{})[0].Run(ctx, request(site, svc))
		cancel()
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("check %+v: err = %v; want a deadline error mentioning %q", tt.check, err, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), "service payments on yatap") {
			t.Errorf("error %q does not name the service and site", err)
		}
	}
}

func TestExpandURL(t *testing.T) {
	t.Parallel()
	site := &drills.Site{Name: "yatap", Ingress: "https://yatap.bank.example/"}
	tests := []struct{ in, want string }{
		{"{ingress}/auth/healthz", "https://yatap.bank.example/auth/healthz"},
		{"https://auth.{site}.bank.example/healthz", "https://auth.yatap.bank.example/healthz"},
		{"https://fixed.example/healthz", "https://fixed.example/healthz"},
	}
	for _, tt := range tests {
		if got := httpaction.ExpandURL(tt.in, site); got != tt.want {
			t.Errorf("ExpandURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWaitHealthyOverTLSWithSecretHeaders(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cr3t" || r.Header.Get("X-Drill") != "yes" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	site := &drills.Site{Name: "yatap", Ingress: srv.URL}
	check := &drills.Check{URL: "{ingress}/healthz", Interval: 10 * time.Millisecond,
		Headers: map[string]string{"X-Drill": "yes"}, HeadersFromEnv: map[string]string{"Authorization": "AUTH_HEADER"}}
	svc := &drills.Service{Name: "auth", Checks: []*drills.Check{check}}
	secrets := &secret.Resolver{LookupEnv: func(k string) (string, bool) {
		if k == "AUTH_HEADER" {
			return "Bearer s3cr3t", true
		}
		return "", false
	}}
	a := httpaction.Actions(httpaction.Config{Secrets: secrets})[0]

	// Without the CA the certificate is not trusted: the check never passes. (Long enough for
	// a handshake to fail on a loaded machine under -race.)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err := a.Run(ctx, request(site, svc))
	cancel()
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("check without the CA = %v; want a certificate error", err)
	}

	check.CACert = caFile
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := a.Run(ctx, request(site, svc))
	if err != nil {
		t.Fatalf("check with the CA and headers: %v", err)
	}
	if b, _ := json.Marshal(res.Evidence); strings.Contains(string(b), "s3cr3t") {
		t.Errorf("evidence leaks the secret header: %s", b)
	}

	// A missing secret fails at once, before any poll.
	check.HeadersFromEnv = map[string]string{"Authorization": "UNSET_VAR"}
	_, err = a.Run(ctx, request(site, svc))
	if err == nil || !strings.Contains(err.Error(), "env:UNSET_VAR") || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("check with a missing secret = %v; want an immediate error naming env:UNSET_VAR", err)
	}
}
