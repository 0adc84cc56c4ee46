package httpaction_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/sitesim"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/httpaction"
	"github.com/firedrill/firedrill/orchestrator/actions/nomad"
	"github.com/firedrill/firedrill/orchestrator/secret"
)

// drSite is one simulated DR site with the auth job stopped (a pilot light), and the
// firedrill site that points at it.
type drSite struct {
	sim     *sitesim.Site
	site    *drills.Site
	clients *nomad.Clients
	svc     *drills.Service
}

// never is a check interval no test waits for: only the first poll (at the start) happens,
// so a pass can only come from the window the Nomad watch opens.
const never = time.Hour

func newDRSite(t *testing.T, interval time.Duration) *drSite {
	t.Helper()
	sim, err := sitesim.Start(context.Background(), sitesim.Config{
		StartDelay: 20 * time.Millisecond, HealthDelay: 30 * time.Millisecond,
		Sites: []sitesim.SiteConfig{{Name: "yatap", Region: "kr-yatap", Token: "ty", Jobs: []sitesim.JobConfig{{ID: "auth"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	st := sim.Site("yatap")
	lookup := func(k string) (string, bool) { return "ty", k == "YATAP_NOMAD_TOKEN" }
	clients, err := nomad.NewClients(nomad.Config{MaxAttempts: 1, Secrets: &secret.Resolver{LookupEnv: lookup}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(clients.Close)
	return &drSite{
		sim: st, clients: clients,
		site: &drills.Site{Name: "yatap", Role: drills.SiteRoleDR, Ingress: st.IngressAddress(),
			Nomad: &drills.NomadEndpoint{Address: st.NomadAddress(), Region: "kr-yatap", TokenEnv: "YATAP_NOMAD_TOKEN"}},
		svc: &drills.Service{Name: "auth", NomadJob: "auth", Checks: []*drills.Check{{Kind: drills.CheckHTTP,
			URL: "{ingress}/auth/healthz", ExpectStatus: http.StatusOK, Interval: interval}}},
	}
}

// startJob registers the stopped job again with Stop=false, as nomad.run_job does.
func (d *drSite) startJob(t *testing.T, ctx context.Context) {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: d.sim.NomadAddress(), Region: "kr-yatap", SecretID: "ty"})
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	job, _, err := c.Jobs().Info("auth", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		t.Error(err)
		return
	}
	job.Stop = new(false)
	if _, _, err := c.Jobs().Register(job, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		t.Error(err)
	}
}

// waitAndStart runs http.wait_healthy on the site, starts the job once the wait's first poll
// has failed, and returns the wait's outcome.
func (d *drSite) waitAndStart(t *testing.T, cfg httpaction.Config) (actions.Observation, map[string]any) {
	t.Helper()
	return d.waitAndStartAfter(t, cfg, nil)
}

// waitAndStartAfter is waitAndStart with mid, when set, called during the wait before the job
// starts.
func (d *drSite) waitAndStartAfter(t *testing.T, cfg httpaction.Config, mid func(ctx context.Context)) (actions.Observation, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if d.sim.JobHealthy("auth") {
		t.Fatal("auth is healthy before the failover")
	}
	type outcome struct {
		res *actions.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := httpaction.Actions(cfg)[0].Run(ctx, request(d.site, d.svc))
		done <- outcome{res, err}
	}()
	if mid != nil {
		mid(ctx)
	}
	d.startJob(t, ctx)
	o := <-done
	if o.err != nil {
		t.Fatalf("wait_healthy: %v", o.err)
	}
	if len(o.res.Observations) != 1 {
		t.Fatalf("observations = %+v, want one", o.res.Observations)
	}
	healthyAt, ok := d.sim.HealthyAt("auth")
	obs := o.res.Observations[0]
	if !ok || obs.PassedAt.Before(healthyAt) {
		t.Errorf("passed at %v, before sitesim made auth healthy (%v, %t)", obs.PassedAt, healthyAt, ok)
	}
	// The bound is stored in whole ms, rounded up (never 0, which would read as exact).
	if obs.Resolution <= 0 || obs.Resolution%time.Millisecond != 0 {
		t.Errorf("resolution = %v, want the bound of the observation in whole positive ms", obs.Resolution)
	}
	return obs, o.res.Evidence["services"].(map[string]any)["auth"].(map[string]any)
}

func TestWaitHealthyFollowsTheEventStream(t *testing.T) {
	t.Parallel()
	d := newDRSite(t, never)
	obs, ev := d.waitAndStart(t, httpaction.Config{Allocations: d.clients})
	if obs.Method != actions.ResolutionEventStream || ev["method"] != actions.ResolutionEventStream {
		t.Errorf("method = %q (evidence %v), want %q", obs.Method, ev["method"], actions.ResolutionEventStream)
	}
	if ev["nomad_watch"] != actions.ResolutionEventStream || ev["event_stream_error"] != nil {
		t.Errorf("evidence = %v, want the event stream followed", ev)
	}
	if n, _ := ev["window_polls"].(int); n == 0 {
		t.Errorf("evidence = %v, want polls in the window", ev)
	}
}

func TestWaitHealthyFallsBackToBlockingQueriesWhenTheStreamIsDenied(t *testing.T) {
	t.Parallel()
	d := newDRSite(t, never)
	d.sim.DenyEventStream(true)
	obs, ev := d.waitAndStart(t, httpaction.Config{Allocations: d.clients})
	if obs.Method != actions.ResolutionBlockingQuery {
		t.Errorf("method = %q, want %q (evidence %v)", obs.Method, actions.ResolutionBlockingQuery, ev)
	}
	if msg, _ := ev["event_stream_error"].(string); !strings.Contains(msg, "403") {
		t.Errorf("event_stream_error = %q, want the stream's 403", msg)
	}
}

// waitForSubscriptions waits until the site's event stream was subscribed to n times.
func (d *drSite) waitForSubscriptions(t *testing.T, ctx context.Context, n int) []uint64 {
	t.Helper()
	for {
		if subs := d.sim.EventStreamSubscriptions(); len(subs) >= n {
			return subs
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the event stream was subscribed to %d times, want %d", len(d.sim.EventStreamSubscriptions()), n)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// TestWaitHealthyResumesABrokenEventStream: the site closes the event stream while
// wait_healthy waits for the service. The watch subscribes again from the index after the
// last one it saw (not from "now", which could skip a change), the start is detected through
// the resumed stream, and the evidence says the stream was resumed.
func TestWaitHealthyResumesABrokenEventStream(t *testing.T) {
	t.Parallel()
	d := newDRSite(t, never)
	var subs []uint64
	obs, ev := d.waitAndStartAfter(t, httpaction.Config{Allocations: d.clients}, func(ctx context.Context) {
		d.waitForSubscriptions(t, ctx, 1)
		d.sim.BreakEventStreams()
		subs = d.waitForSubscriptions(t, ctx, 2)
	})
	if subs[1] == 0 {
		t.Errorf("subscriptions = %v: the resumed stream starts from now, not from the last index seen", subs)
	}
	if subs[0] != 0 && subs[1] < subs[0] {
		t.Errorf("subscriptions = %v: the resumed stream starts before the first one", subs)
	}
	if obs.Method != actions.ResolutionEventStream || ev["method"] != actions.ResolutionEventStream {
		t.Errorf("method = %q (evidence %v), want %q through the resumed stream", obs.Method, ev["method"], actions.ResolutionEventStream)
	}
	if n, _ := ev["event_stream_resumed"].(int); n < 1 {
		t.Errorf("evidence = %v, want event_stream_resumed >= 1", ev)
	}
	if ev["event_stream_error"] != nil {
		t.Errorf("evidence = %v: a resumed stream is not a fallback", ev)
	}
}

// TestWaitHealthyFallsBackWhenABrokenEventStreamCannotBeResumed: the site closes the event
// stream mid-wait and refuses new subscriptions. The watch falls back to blocking queries,
// detects the start through them, and the evidence names the method and the stream's failure.
func TestWaitHealthyFallsBackWhenABrokenEventStreamCannotBeResumed(t *testing.T) {
	t.Parallel()
	d := newDRSite(t, never)
	obs, ev := d.waitAndStartAfter(t, httpaction.Config{Allocations: d.clients}, func(ctx context.Context) {
		d.waitForSubscriptions(t, ctx, 1)
		d.sim.DenyEventStream(true)
		d.sim.BreakEventStreams()
	})
	if obs.Method != actions.ResolutionBlockingQuery || ev["method"] != actions.ResolutionBlockingQuery {
		t.Errorf("method = %q (evidence %v), want %q after the stream broke for good", obs.Method, ev["method"], actions.ResolutionBlockingQuery)
	}
	if msg, _ := ev["event_stream_error"].(string); !strings.Contains(msg, "403") {
		t.Errorf("event_stream_error = %q, want why the stream could not be resumed (403)", msg)
	}
}

func TestWaitHealthyPollsWhenNomadIsUnreachable(t *testing.T) {
	t.Parallel()
	d := newDRSite(t, 5*time.Millisecond)
	if err := d.sim.SetPartitioned(true); err != nil {
		t.Fatal(err)
	}
	obs, ev := d.waitAndStartPartitioned(t, httpaction.Config{Allocations: d.clients})
	if obs.Method != actions.ResolutionPoll {
		t.Errorf("method = %q, want %q (evidence %v)", obs.Method, actions.ResolutionPoll, ev)
	}
	// Refused or reset, depending on when the partition closed the listener.
	if msg, _ := ev["nomad_watch_error"].(string); !strings.Contains(msg, "list allocations of auth") {
		t.Errorf("nomad_watch_error = %q, want the failed look at the allocations", msg)
	}
}

// waitAndStartPartitioned starts wait_healthy while the site's Nomad API is partitioned (its
// watch fails), then heals the API to start the job and returns the outcome.
func (d *drSite) waitAndStartPartitioned(t *testing.T, cfg httpaction.Config) (actions.Observation, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type outcome struct {
		res *actions.Result
		err error
	}
	done := make(chan outcome, 1)
	started := make(chan struct{})
	proxy := d.ingressFront(t, func(n, _ int) bool {
		if n == 1 {
			close(started)
		}
		return false
	})
	site := *d.site
	site.Ingress = proxy
	go func() {
		res, err := httpaction.Actions(cfg)[0].Run(ctx, request(&site, d.svc))
		done <- outcome{res, err}
	}()
	<-started // the first poll is sent after the watch failed
	if err := d.sim.SetPartitioned(false); err != nil {
		t.Fatal(err)
	}
	d.startJob(t, ctx)
	o := <-done
	if o.err != nil {
		t.Fatalf("wait_healthy: %v", o.err)
	}
	return o.res.Observations[0], o.res.Evidence["services"].(map[string]any)["auth"].(map[string]any)
}

// ingressFront puts a proxy in front of the site's ingress; hang(n) says whether the n-th
// request (from 1) hangs until its client gives up.
func (d *drSite) ingressFront(t *testing.T, hang func(n, status int) bool) string {
	t.Helper()
	target, err := url.Parse(d.sim.IngressAddress())
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	n := 0
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The backend answers first, so hang decides on what the probe would have seen, not
		// on a guess made before the service had answered.
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		mu.Lock()
		n++
		h := hang(n, rec.Code)
		mu.Unlock()
		if h {
			<-r.Context().Done()
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})}
	ln := listen(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestWaitHealthyIsNotStalledByAProbeThatHangs(t *testing.T) {
	t.Parallel()
	d := newDRSite(t, never)
	// The first 3 probes that would see auth healthy hang until the wait gives up on them.
	var hung atomic.Int32
	front := d.ingressFront(t, func(_, status int) bool {
		if status == http.StatusOK && hung.Load() < 3 {
			hung.Add(1)
			return true
		}
		return false
	})
	site := *d.site
	site.Ingress = front
	d.site = &site
	// Probe deadlines far beyond the test's: only concurrent probes can get past a hung one.
	obs, ev := d.waitAndStart(t, httpaction.Config{Allocations: d.clients, RequestTimeout: time.Hour, WindowProbeTimeout: time.Hour})
	if obs.Method != actions.ResolutionEventStream {
		t.Errorf("method = %q, want %q (evidence %v)", obs.Method, actions.ResolutionEventStream, ev)
	}
	if n := hung.Load(); n != 3 {
		t.Errorf("%d probes hung, want 3", n)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
