package httpaction_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/sitesim"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/httpaction"
)

// canarySites starts a primary running auth and a DR site with auth stopped, whose toy
// services replicate writes with lag.
func canarySites(t *testing.T, lag time.Duration) (*sitesim.Sim, *drills.Site, *drills.Site) {
	t.Helper()
	sim, err := sitesim.Start(t.Context(), sitesim.Config{
		StartDelay: 10 * time.Millisecond, HealthDelay: 10 * time.Millisecond, ReplicationLag: lag,
		Sites: []sitesim.SiteConfig{
			{Name: "sangam", Jobs: []sitesim.JobConfig{{ID: "auth", Running: true}}},
			{Name: "yatap", Jobs: []sitesim.JobConfig{{ID: "auth"}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim, &drills.Site{Name: "sangam", Ingress: sim.Site("sangam").IngressAddress()},
		&drills.Site{Name: "yatap", Ingress: sim.Site("yatap").IngressAddress()}
}

// measure writes markers until min rows were acknowledged, strikes the primary's service
// down, stops the canary, lets replication settle and measures the DR copy.
func measure(t *testing.T, lag time.Duration, rows int64) *actions.RPOMeasurement {
	t.Helper()
	sim, primary, dr := canarySites(t, lag)
	svc := &drills.Service{Name: "auth", Canary: &drills.Canary{URL: "{ingress}/auth/canary", Interval: 20 * time.Millisecond}}
	c, err := (&httpaction.Canaries{}).NewCanary(&actions.CanaryRequest{RunID: "run-1", Service: svc, Primary: primary, DR: dr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	p := c.(interface {
		Progress() (actions.CanaryMark, actions.CanaryMark)
	})
	for {
		if _, last := p.Progress(); last.Seq >= rows {
			break
		}
		select {
		case <-ctx.Done():
			_, last := p.Progress()
			t.Fatalf("the canary acknowledged %d markers, want %d", last.Seq, rows)
		case <-time.After(5 * time.Millisecond):
		}
	}
	sim.Site("sangam").FailJob("auth", true) // the disaster: the primary's service dies
	if err := sim.Site("sangam").WaitJobUnhealthy(ctx, "auth"); err != nil {
		t.Fatal(err)
	}
	last, err := c.Stop()
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	time.Sleep(max(lag, 0) + 50*time.Millisecond) // let every shipment that will arrive arrive
	m, err := c.Measure(ctx)
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}
	if m.LastPrimary != last || m.FirstPrimary.Seq != 1 {
		t.Errorf("Measure LastPrimary %v FirstPrimary %v, want %v and seq 1", m.LastPrimary, m.FirstPrimary, last)
	}
	return m
}

func TestHTTPCanaryMeasuresLostWritesOfAsyncReplication(t *testing.T) {
	t.Parallel()
	m := measure(t, 300*time.Millisecond, 30)
	// 300ms of lag at one marker per 20ms: about 15 markers were in flight when the service died.
	if m.LostRows < 5 || m.RPO < 100*time.Millisecond || m.LastDR.Seq == 0 || m.LastDR.Seq >= m.LastPrimary.Seq {
		t.Fatalf("Measure = lost %d, RPO %s, DR seq %d of %d; want writes lost to the 300ms lag", m.LostRows, m.RPO, m.LastDR.Seq, m.LastPrimary.Seq)
	}
	if want := m.LastPrimary.At.Sub(m.LastDR.At); m.RPO != want {
		t.Errorf("RPO = %s, want LastPrimary.At - LastDR.At = %s", m.RPO, want)
	}
}

func TestHTTPCanarySynchronousReplicationLosesNothing(t *testing.T) {
	t.Parallel()
	m := measure(t, -1, 10)
	if m.LostRows != 0 || m.RPO != 0 || m.LastDR.Seq != m.LastPrimary.Seq {
		t.Fatalf("Measure = lost %d, RPO %s, DR seq %d of %d; want nothing lost", m.LostRows, m.RPO, m.LastDR.Seq, m.LastPrimary.Seq)
	}
}

func TestHTTPCanaryStartFailsWhenTheServiceIsDown(t *testing.T) {
	t.Parallel()
	_, _, dr := canarySites(t, 0)
	svc := &drills.Service{Name: "auth", Canary: &drills.Canary{URL: "{ingress}/auth/canary"}}
	// Written to the DR site, where auth does not run: the write is refused.
	c, err := (&httpaction.Canaries{}).NewCanary(&actions.CanaryRequest{RunID: "run-1", Service: svc, Primary: dr, DR: dr})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err == nil {
		t.Fatal("Start on a site whose service is down succeeded")
	}
}

// The runner waits before the disaster for canaries that report their progress.
var _ interface {
	Progress() (first, last actions.CanaryMark)
} = (*httpaction.HTTPCanary)(nil)

// getMarker reads the last marker of run-1's auth canary visible on a site.
func getMarker(t *testing.T, site *drills.Site) int64 {
	t.Helper()
	resp, err := http.Get(site.Ingress + "/auth/canary?run_id=run-1&service=auth")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct{ Seq int64 }
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m.Seq
}

// TestHTTPCanaryCleanupRemovesTheMarkers: after the canary stopped, Cleanup removes the run's
// marker from the primary's and the DR site's stores (the DR copy got it by replication, and
// a shipment still in flight does not bring it back), reports what it removed, and reports
// the same on a second call.
func TestHTTPCanaryCleanupRemovesTheMarkers(t *testing.T) {
	t.Parallel()
	const lag = 30 * time.Millisecond
	_, primary, dr := canarySites(t, lag)
	svc := &drills.Service{Name: "auth", Canary: &drills.Canary{URL: "{ingress}/auth/canary", Interval: 10 * time.Millisecond}}
	c, err := (&httpaction.Canaries{}).NewCanary(&actions.CanaryRequest{RunID: "run-1", Service: svc, Primary: primary, DR: dr})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for getMarker(t, dr) < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	ev, err := c.(actions.CanaryCleaner).Cleanup(ctx)
	if err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	for _, site := range []string{"sangam", "yatap"} {
		res, _ := ev[site].(map[string]any)
		if res["deleted"] != int64(1) {
			t.Errorf("cleanup evidence of %s = %v, want deleted 1", site, res)
		}
	}
	time.Sleep(2 * lag) // the last shipments land, or would
	for _, site := range []*drills.Site{primary, dr} {
		if seq := getMarker(t, site); seq != 0 {
			t.Errorf("%s still shows marker %d after the cleanup", site.Name, seq)
		}
	}
	again, err := c.(actions.CanaryCleaner).Cleanup(ctx)
	if err != nil || again["sangam"].(map[string]any)["deleted"] != int64(1) {
		t.Errorf("second Cleanup = %v, %v; want the first one's result", again, err)
	}
}

// TestHTTPCanaryCleanupOfAServiceWithoutDelete: a service that answers DELETE with 405 keeps
// its marker; the cleanup records that without failing.
func TestHTTPCanaryCleanupOfAServiceWithoutDelete(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		var m struct{ Seq int64 }
		_ = json.NewDecoder(r.Body).Decode(&m)
		_ = json.NewEncoder(w).Encode(map[string]any{"seq": m.Seq, "at": time.Now().UTC()})
	}))
	t.Cleanup(srv.Close)
	site := &drills.Site{Name: "sangam", Ingress: srv.URL}
	svc := &drills.Service{Name: "auth", Canary: &drills.Canary{URL: "{ingress}/auth/canary"}}
	c, err := (&httpaction.Canaries{}).NewCanary(&actions.CanaryRequest{RunID: "run-1", Service: svc, Primary: site, DR: site})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	ev, err := c.(actions.CanaryCleaner).Cleanup(t.Context())
	if err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	res, _ := ev["sangam"].(map[string]any)
	if res["left"] != "unknown" || !strings.Contains(fmt.Sprint(res["reason"]), "405") {
		t.Errorf("cleanup evidence = %v, want the marker left, DELETE answered 405", res)
	}
}
