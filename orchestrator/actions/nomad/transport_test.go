package nomad_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/nomad"
	"github.com/firedrill/firedrill/orchestrator/secret"
)

// proxyTo returns a reverse proxy to a simulated site's Nomad API.
func proxyTo(t *testing.T, f *fixture, site string) *httputil.ReverseProxy {
	t.Helper()
	u, err := url.Parse(f.sim.Site(site).NomadAddress())
	if err != nil {
		t.Fatal(err)
	}
	return httputil.NewSingleHostReverseProxy(u)
}

func TestTLSWithTheSiteCA(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := httptest.NewUnstartedServer(proxyTo(t, f, "sangam"))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	ep := f.estate.Site("sangam").Nomad
	ep.Address = srv.URL

	// Without the CA the server is refused at once: a certificate does not get better on retry.
	_, err := f.do(ctx, drills.ActionNomadStopJob, "sangam", "auth", nil)
	if err == nil || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "attempt 1 of") {
		t.Errorf("stop_job over TLS without the CA = %v; want a certificate error on the first attempt", err)
	}
	if !f.sim.Site("sangam").JobHealthy("auth") {
		t.Fatal("auth stopped although the TLS handshake failed")
	}

	ep.CACert = caFile
	if _, err := f.do(ctx, drills.ActionNomadStopJob, "sangam", "auth", nil); err != nil {
		t.Fatalf("stop_job over TLS with the CA: %v", err)
	}
	if f.sim.Site("sangam").JobHealthy("auth") {
		t.Error("auth still healthy on sangam after stop_job over TLS")
	}
}

func TestTokenFromFile(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients, err := nomad.NewClients(nomad.Config{Secrets: &secret.Resolver{}, RetryBackoff: time.Millisecond, CallTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(clients.Close)
	var stopJob actions.Action
	for _, a := range nomad.Actions(clients) {
		if a.Spec().Name == drills.ActionNomadStopJob {
			stopJob = a
		}
	}
	stop := func() error {
		_, err := stopJob.Run(ctx, f.request(drills.ActionNomadStopJob, "sangam", "auth", nil))
		return err
	}
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	ep := f.estate.Site("sangam").Nomad
	ep.TokenEnv, ep.TokenFile = "", tokenFile

	if err := stop(); !errors.Is(err, secret.ErrMissing) || !strings.Contains(err.Error(), tokenFile) {
		t.Errorf("stop_job with a missing token file = %v; want ErrMissing naming the file", err)
	}
	if err := os.WriteFile(tokenFile, []byte("not-the-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err == nil || !strings.Contains(err.Error(), "403") || strings.Contains(err.Error(), "not-the-token") {
		t.Errorf("stop_job with a wrong token in the file = %v; want a 403 that does not show the token", err)
	}
	// A token file as editors and `echo` leave it, with a trailing newline.
	if err := os.WriteFile(tokenFile, []byte("ts\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop_job with the right token file: %v", err)
	}
	if f.sim.Site("sangam").JobHealthy("auth") {
		t.Error("auth still healthy after stop_job")
	}
}

// deploymentHolder sits in front of a site and reports the job's latest deployment as still
// running until the client makes a blocking query on that deployment: the state a real
// cluster is in between the last allocation turning healthy and the deployment's success,
// which the emulator passes in one step.
type deploymentHolder struct {
	proxy *httputil.ReverseProxy
	held  atomic.Bool

	mu        sync.Mutex
	watchedAt []uint64 // the index= of each blocking deployment query
}

func (h *deploymentHolder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v1/deployment/") {
		if idx, err := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64); err == nil && idx > 0 {
			h.mu.Lock()
			h.watchedAt = append(h.watchedAt, idx)
			h.mu.Unlock()
			h.held.Store(false)
		}
	}
	h.proxy.ServeHTTP(w, r)
}

func (h *deploymentHolder) modify(resp *http.Response) error {
	if !h.held.Load() || resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Request.URL.Path, "/deployment") {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	var dep map[string]any
	if err := json.Unmarshal(body, &dep); err != nil {
		return err
	}
	if dep != nil {
		dep["Status"] = "running"
		if body, err = json.Marshal(dep); err != nil {
			return err
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

func TestWaitHealthyBlocksOnTheDeployment(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := &deploymentHolder{proxy: proxyTo(t, f, "yatap")}
	h.held.Store(true)
	h.proxy.ModifyResponse = h.modify
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f.estate.Site("yatap").Nomad.Address = srv.URL

	if _, err := f.do(ctx, drills.ActionNomadRunJob, "yatap", "auth", nil); err != nil {
		t.Fatalf("run_job: %v", err)
	}
	res, err := f.do(ctx, drills.ActionNomadWaitHealthy, "yatap", "auth", nil)
	if err != nil {
		t.Fatalf("wait_healthy: %v", err)
	}
	h.mu.Lock()
	watched := h.watchedAt
	h.mu.Unlock()
	if len(watched) == 0 {
		t.Error("wait_healthy never made a blocking query on the deployment it waited for")
	}
	if got := res.Evidence["jobs"].(map[string]any)["auth"].(map[string]any)["deployment_status"]; got != "successful" {
		t.Errorf("deployment_status = %v, want successful", got)
	}
}
