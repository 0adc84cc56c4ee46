// Package httpaction implements the plan's http.* step actions: health checks polled until
// they pass, whose first passing moment is what the drill's RTO is measured against, and
// single calls to webhooks (http.call), which are never retried. Header values read from
// secrets are never recorded in evidence or errors.
package httpaction

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/secret"
)

// Defaults for Config.
const (
	DefaultRequestTimeout     = 2 * time.Second
	DefaultWindowInterval     = 2 * time.Millisecond
	DefaultWindowLength       = 10 * time.Second
	DefaultWindowProbeTimeout = 250 * time.Millisecond
	// maxBodyBytes bounds what a check reads of a reply: enough to match an expected body.
	maxBodyBytes = 64 << 10
)

// Config configures the HTTP actions. A zero field means its default.
type Config struct {
	// Client sends the requests. Defaults to a client with no redirects followed.
	Client *http.Client
	// RequestTimeout bounds one poll of http.wait_healthy. Defaults to 2s. An http.call is
	// bounded by its step's timeout instead.
	RequestTimeout time.Duration
	// Secrets resolves http.call's headers_from_env. Nil reads the process environment.
	Secrets *secret.Resolver
	// Allocations tells http.wait_healthy when a service's allocations run on a site with a
	// nomad block (the nomad actions' Clients). Nil: the checks are only polled at their
	// interval.
	Allocations AllocWatcher
	// WindowInterval is how often the checks are probed while the service's allocations are
	// running and its checks do not pass yet. Defaults to 2ms.
	WindowInterval time.Duration
	// WindowLength is how long that fast probing lasts after the last change of the
	// allocations; after it only the interval poll goes on. Defaults to 10s.
	WindowLength time.Duration
	// WindowProbeTimeout bounds one probe of the fast window (a probe that hangs is
	// abandoned, the others go on). Defaults to 250ms; the interval poll's probes are
	// bounded by RequestTimeout.
	WindowProbeTimeout time.Duration
}

// Actions returns every http.* action.
func Actions(cfg Config) []actions.Action {
	cfg = cfg.withDefaults()
	return []actions.Action{&WaitHealthy{cfg: cfg}, &Call{cfg: cfg}}
}

// NewRestorationWatcher returns the http.wait_healthy detection for another action to run
// beside its own wait (nomad.wait_healthy): the services' checks polled at their interval and
// probed every WindowInterval while the site's Nomad cluster reports their allocations
// running.
func NewRestorationWatcher(cfg Config) actions.RestorationWatcher {
	return &WaitHealthy{cfg: cfg.withDefaults()}
}

// WatchRestoration implements actions.RestorationWatcher with the detection of Run, at the
// checks' own intervals.
func (a *WaitHealthy) WatchRestoration(ctx context.Context, req *actions.Request, svc *drills.Service) (*actions.Observation, map[string]any, error) {
	w := a.watch(ctx, req, svc, 0)
	return w.obs, w.evidence, w.err
}

func (cfg Config) withDefaults() Config {
	if cfg.Client == nil {
		// Probes overlap in the fast window: keep enough idle connections per host that they
		// do not open a new one each (the default keeps 2).
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = maxInFlight
		cfg.Client = &http.Client{
			Transport: transport,
			// A health endpoint that redirects is answering something else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.WindowInterval <= 0 {
		cfg.WindowInterval = DefaultWindowInterval
	}
	if cfg.WindowLength <= 0 {
		cfg.WindowLength = DefaultWindowLength
	}
	if cfg.WindowProbeTimeout <= 0 {
		cfg.WindowProbeTimeout = DefaultWindowProbeTimeout
	}
	return cfg
}

// WaitHealthy probes every HTTP check of each service on a site until, in one round, all of a
// service's checks pass; that round's moment is the service's restored observation. The
// checks are polled at their interval; while the site's Nomad cluster reports the service's
// allocations running they are also probed every WindowInterval (see detect).
type WaitHealthy struct{ cfg Config }

// Spec implements actions.Action.
func (a *WaitHealthy) Spec() drills.ActionSpec {
	s, _ := drills.LookupAction(drills.ActionHTTPWaitHealthy)
	return s
}

// serviceWatch is the result of watching one service.
type serviceWatch struct {
	obs      *actions.Observation
	evidence map[string]any
	err      error
}

// Run implements actions.Action. Services are watched concurrently, so each one's restored
// moment is seen when it happens, not after the others.
func (a *WaitHealthy) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	override := req.Instance.Step.Duration("interval")
	results := make([]serviceWatch, len(req.Services))
	var wg sync.WaitGroup
	for i, svc := range req.Services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = a.watch(ctx, req, svc, override)
		}()
	}
	wg.Wait()

	services := map[string]any{}
	res := &actions.Result{Evidence: map[string]any{"site": req.Site.Name, "services": services}}
	var errs []error
	for i, svc := range req.Services {
		r := results[i]
		services[svc.Name] = r.evidence
		if r.obs != nil {
			res.Observations = append(res.Observations, *r.obs)
		}
		if r.err != nil {
			errs = append(errs, fmt.Errorf("service %s on %s: %w", svc.Name, req.Site.Name, r.err))
		}
	}
	return res, errors.Join(errs...)
}

func (a *WaitHealthy) watch(ctx context.Context, req *actions.Request, svc *drills.Service, override time.Duration) serviceWatch {
	if len(svc.Checks) == 0 {
		return serviceWatch{evidence: map[string]any{}, err: errors.New("service has no check")}
	}
	interval := override
	urls := make([]string, len(svc.Checks))
	for i, c := range svc.Checks {
		urls[i] = ExpandURL(c.URL, req.Site)
		if override == 0 && (interval == 0 || (c.Interval > 0 && c.Interval < interval)) {
			interval = c.Interval
		}
	}
	if interval <= 0 {
		interval = drills.DefaultCheckInterval
	}
	ev := map[string]any{"urls": urls, "poll_interval_ms": interval.Milliseconds()}
	prepared := make([]preparedCheck, len(svc.Checks))
	for i, c := range svc.Checks {
		p, err := a.prepare(c)
		if err != nil {
			return serviceWatch{evidence: ev, err: fmt.Errorf("check %s: %w", urls[i], err)}
		}
		prepared[i] = p
	}
	return a.detect(ctx, req, svc, interval, urls, prepared, ev)
}

// preparedCheck is what a check needs on every poll: its headers, secrets resolved once,
// and the client that trusts its CA.
type preparedCheck struct {
	header http.Header
	client *http.Client
}

// prepare resolves a check's secret headers and builds its TLS client. A missing secret
// fails the step at once: polling without the header would only ever see 401s.
func (a *WaitHealthy) prepare(c *drills.Check) (preparedCheck, error) {
	p := preparedCheck{header: http.Header{}, client: a.cfg.Client}
	for k, v := range c.Headers {
		p.header.Set(k, v)
	}
	for k, env := range c.HeadersFromEnv {
		v, err := a.cfg.Secrets.Resolve(secret.Ref{Env: env})
		if err != nil {
			return p, fmt.Errorf("header %s: %w", k, err)
		}
		p.header.Set(k, v)
	}
	if c.CACert != "" || c.TLSServerName != "" {
		tlsCfg := &tls.Config{ServerName: c.TLSServerName, MinVersion: tls.VersionTLS12}
		if c.CACert != "" {
			pem, err := os.ReadFile(c.CACert)
			if err != nil {
				return p, fmt.Errorf("ca_cert: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return p, fmt.Errorf("ca_cert %s: no PEM certificate in it", c.CACert)
			}
			tlsCfg.RootCAs = pool
		}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.TLSClientConfig = tlsCfg
		p.client = &http.Client{Transport: transport, CheckRedirect: a.cfg.Client.CheckRedirect}
	}
	return p, nil
}

// probe performs one check once, abandoning it after timeout.
func (a *WaitHealthy) probe(ctx context.Context, url string, c *drills.Check, p preparedCheck, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	httpReq.Header = p.header.Clone()
	httpReq.Header.Set("User-Agent", "firedrill-check")
	resp, err := p.client.Do(httpReq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return fmt.Errorf("read reply: %w", err)
	}
	want := c.ExpectStatus
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return fmt.Errorf("status %d, want %d", resp.StatusCode, want)
	}
	if c.ExpectBody != "" && !strings.Contains(string(body), c.ExpectBody) {
		return fmt.Errorf("reply does not contain %q", c.ExpectBody)
	}
	return nil
}

// ExpandURL fills a check URL's placeholders for a site: {site} is its name, {ingress} its
// ingress URL without a trailing slash.
func ExpandURL(tmpl string, site *drills.Site) string {
	return strings.NewReplacer(
		"{site}", site.Name,
		"{ingress}", strings.TrimRight(site.Ingress, "/"),
	).Replace(tmpl)
}
