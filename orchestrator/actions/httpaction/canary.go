package httpaction

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Canaries builds HTTP canaries: for services whose data is not in PostgreSQL, the canary
// writes sequenced markers through the service itself on the primary site and, after the
// failover, reads the last marker visible through the service on the DR site. The service
// stamps each marker with its own clock, so no clock skew between firedrill and the sites
// enters the RPO.
//
// The protocol, on the canary block's url ({ingress} and {site} replaced per site):
//
//	POST url  {"run_id":"...","service":"...","seq":N}  ->  200 {"seq":N,"at":"RFC 3339"}
//	GET  url?run_id=...&service=...                     ->  200 {"seq":N,"at":"..."} (seq 0: none)
//	DELETE url?run_id=...&service=... (at the run's end)  ->  200 {"deleted":N}
type Canaries struct {
	// Client sends the requests. Defaults to a client with no redirects followed.
	Client *http.Client
	// RequestTimeout bounds one request. Defaults to DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Clock paces the writes when a request brings none. Defaults to the real clock.
	Clock clock.Clock
}

// NewCanary implements actions.CanaryFactory for services whose canary block has a url.
func (f *Canaries) NewCanary(req *actions.CanaryRequest) (actions.Canary, error) {
	if req == nil || req.Service == nil || req.Service.Canary == nil {
		return nil, errors.New("http canary: the service has no canary block")
	}
	svc := req.Service
	if svc.Canary.URL == "" {
		return nil, fmt.Errorf("http canary of service %s: the canary block has no url", svc.Name)
	}
	if req.RunID == "" {
		return nil, fmt.Errorf("http canary of service %s: no run ID given", svc.Name)
	}
	if req.Primary == nil || req.DR == nil {
		return nil, fmt.Errorf("http canary of service %s: primary and DR sites are required", svc.Name)
	}
	primary, err := canaryURL(svc.Canary.URL, req.Primary)
	if err != nil {
		return nil, fmt.Errorf("http canary of service %s: primary: %w", svc.Name, err)
	}
	dr, err := canaryURL(svc.Canary.URL, req.DR)
	if err != nil {
		return nil, fmt.Errorf("http canary of service %s: DR: %w", svc.Name, err)
	}
	client := f.Client
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	timeout := f.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	clk := req.Clock
	if clk == nil {
		clk = f.Clock
	}
	if clk == nil {
		clk = clock.Real{}
	}
	interval := svc.Canary.Interval
	if interval <= 0 {
		interval = drills.DefaultCanaryInterval
	}
	logger := req.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &HTTPCanary{
		client: client, timeout: timeout, interval: interval,
		runID: req.RunID, service: svc.Name, primary: primary, dr: dr, primarySite: req.Primary.Name, drSite: req.DR.Name,
	}
	c.loop, err = actions.NewCanaryLoop(actions.CanaryLoopConfig{
		Label: "http canary of service " + svc.Name, Interval: interval, Clock: clk,
		Logger: logger.With("component", "http_canary", "run_id", req.RunID, "service", svc.Name),
	}, markerWriter{c})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func canaryURL(raw string, site *drills.Site) (string, error) {
	if strings.Contains(raw, "{ingress}") && site.Ingress == "" {
		return "", fmt.Errorf("site %s has no ingress for {ingress}", site.Name)
	}
	u := strings.NewReplacer("{site}", site.Name, "{ingress}", strings.TrimSuffix(site.Ingress, "/")).Replace(raw)
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return "", fmt.Errorf("url %q is not an http(s) URL", u)
	}
	return u, nil
}

// HTTPCanary is one service's HTTP canary for one run. A seq advances only once its marker is
// acknowledged, so the acknowledged markers are exactly 1..last.Seq.
type HTTPCanary struct {
	client              *http.Client
	timeout             time.Duration
	interval            time.Duration
	runID, service      string
	primary, dr         string
	primarySite, drSite string
	loop                *actions.CanaryLoop

	cleanupOnce sync.Once
	cleanupEv   map[string]any
	cleanupErr  error
}

// markerWriter writes the canary's markers for its loop.
type markerWriter struct{ c *HTTPCanary }

func (w markerWriter) WriteFirst(ctx context.Context) (actions.CanaryMark, error) {
	return w.c.write(ctx, 1)
}

func (w markerWriter) Write(ctx context.Context, seq int64) (actions.CanaryMark, error) {
	return w.c.write(ctx, seq)
}

// Close has nothing to release: every request is its own.
func (markerWriter) Close() {}

// marker is the wire form of a canary marker.
type marker struct {
	RunID   string    `json:"run_id,omitempty"`
	Service string    `json:"service,omitempty"`
	Seq     int64     `json:"seq"`
	At      time.Time `json:"at,omitzero"`
}

// Start writes marker 1 and starts writing one marker per interval until Stop.
func (c *HTTPCanary) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// write POSTs marker seq to the primary and returns it as the service acknowledged it.
func (c *HTTPCanary) write(ctx context.Context, seq int64) (actions.CanaryMark, error) {
	body, _ := json.Marshal(marker{RunID: c.runID, Service: c.service, Seq: seq})
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.primary, bytes.NewReader(body))
	if err != nil {
		return actions.CanaryMark{}, fmt.Errorf("write seq %d: %w", seq, err)
	}
	req.Header.Set("Content-Type", "application/json")
	m, err := c.do(req)
	if err != nil {
		return actions.CanaryMark{}, fmt.Errorf("write seq %d to %s on %s: %w", seq, c.primary, c.primarySite, err)
	}
	if m.Seq != seq || m.At.IsZero() {
		return actions.CanaryMark{}, fmt.Errorf("write seq %d to %s on %s: the service acknowledged seq %d at %v", seq, c.primary, c.primarySite, m.Seq, m.At)
	}
	return actions.CanaryMark{Seq: m.Seq, At: m.At.UTC()}, nil
}

func (c *HTTPCanary) do(req *http.Request) (*marker, error) {
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var m marker
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("reply is not a canary marker: %w", err)
	}
	return &m, nil
}

// Progress returns the first and last acknowledged markers (Seq 0 before Start).
func (c *HTTPCanary) Progress() (first, last actions.CanaryMark) { return c.loop.Progress() }

// Stop ends the writing, waits for it and returns the last acknowledged marker.
func (c *HTTPCanary) Stop() (actions.CanaryMark, error) { return c.loop.Stop() }

// Measure reads the last marker visible through the service on the DR site and compares it
// with the last the primary acknowledged. It must follow Stop. When the DR site shows none of
// the run's markers, every marker counts as lost and the RPO is the time between the first
// and the last acknowledged: a lower bound, marked rpo_lower_bound in the evidence.
func (c *HTTPCanary) Measure(ctx context.Context) (*actions.RPOMeasurement, error) {
	stats, err := c.loop.Stopped()
	if err != nil {
		return nil, err
	}
	first, last := stats.First, stats.Last
	writes, writeErrors, lastErr := stats.Writes, stats.WriteErrors, stats.LastError
	ev := map[string]any{
		"kind": "http", "primary_site": c.primarySite, "primary_url": c.primary, "dr_site": c.drSite, "dr_url": c.dr,
		"interval_ms": c.interval.Milliseconds(), "primary_first_seq": first.Seq, "primary_first_at": first.At,
		"primary_last_seq": last.Seq, "primary_last_at": last.At, "writes": writes, "write_errors": writeErrors,
		"last_write_error": nil,
	}
	if lastErr != "" {
		ev["last_write_error"] = lastErr
	}
	q := url.Values{"run_id": {c.runID}, "service": {c.service}}
	sep := "?"
	if strings.Contains(c.dr, "?") {
		sep = "&"
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, c.dr+sep+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("measure http canary of service %s: %w", c.service, err)
	}
	got, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("measure http canary of service %s: read %s on %s: %w", c.service, c.dr, c.drSite, err)
	}
	dr := actions.CanaryMark{Seq: got.Seq, At: got.At.UTC()}
	ev["dr_last_seq"] = dr.Seq
	ev["dr_last_at"] = nil
	if dr.Seq > 0 {
		ev["dr_last_at"] = dr.At
	}
	m := &actions.RPOMeasurement{
		Service: c.service, FirstPrimary: first, LastPrimary: last, LastDR: dr, Resolution: c.interval, Evidence: ev,
	}
	switch {
	case dr.Seq >= last.Seq:
		if dr.Seq > last.Seq {
			ev["dr_unacknowledged_rows"] = dr.Seq - last.Seq
		}
	case dr.Seq == 0:
		m.LostRows = last.Seq
		m.RPO = last.At.Sub(first.At)
		ev["rpo_lower_bound"] = true
		ev["dr_note"] = "the DR site shows none of the run's canary markers"
	default:
		m.LostRows = last.Seq - dr.Seq
		m.RPO = last.At.Sub(dr.At)
	}
	ev["lost_rows"] = m.LostRows
	ev["rpo_ms"] = m.RPO.Milliseconds()
	return m, nil
}

// Cleanup implements actions.CanaryCleaner: it asks the service on the primary and on the DR
// site to forget the run's marker,
//
//	DELETE url?run_id=...&service=...  ->  200 {"deleted": N}
//
// so that drills never accumulate markers in the service's store. A service that does not
// take DELETE (404, 405, 501) keeps its marker: that is recorded, not an error. A site that
// does not answer, or answers another error, keeps it too and is the error.
func (c *HTTPCanary) Cleanup(ctx context.Context) (map[string]any, error) {
	c.cleanupOnce.Do(func() {
		ev := map[string]any{"kind": "http"}
		var errs []error
		for _, t := range []struct{ site, url string }{{c.primarySite, c.primary}, {c.drSite, c.dr}} {
			res, err := c.cleanupOne(ctx, t.url)
			res["url"] = t.url
			ev[t.site] = res
			if err != nil {
				errs = append(errs, fmt.Errorf("remove canary marker of service %s on %s: %w", c.service, t.site, err))
			}
		}
		c.cleanupEv, c.cleanupErr = ev, errors.Join(errs...)
	})
	return c.cleanupEv, c.cleanupErr
}

func (c *HTTPCanary) cleanupOne(ctx context.Context, base string) (map[string]any, error) {
	res := map[string]any{}
	q := url.Values{"run_id": {c.runID}, "service": {c.service}}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, base+sep+q.Encode(), nil)
	if err != nil {
		return res, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		res["left"] = "unknown"
		res["reason"] = "unreachable"
		return res, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		res["left"] = "unknown"
		return res, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var reply struct {
			Deleted *int64 `json:"deleted"`
		}
		if err := json.Unmarshal(b, &reply); err != nil || reply.Deleted == nil {
			res["left"] = "unknown"
			return res, fmt.Errorf("reply to DELETE is not {\"deleted\": N}: %s", strings.TrimSpace(string(b)))
		}
		res["deleted"] = *reply.Deleted
		return res, nil
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		res["left"] = "unknown"
		res["reason"] = fmt.Sprintf("the service does not remove canary markers (DELETE answered %d)", resp.StatusCode)
		return res, nil
	}
	res["left"] = "unknown"
	return res, fmt.Errorf("DELETE answered status %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
}

var _ actions.CanaryCleaner = (*HTTPCanary)(nil)
