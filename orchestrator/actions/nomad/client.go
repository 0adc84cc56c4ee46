// Package nomad implements the plan's nomad.* step actions with the official
// github.com/hashicorp/nomad/api client: one client per site (primary and DR are separate
// clusters), every call bounded by a deadline and retried with backoff on transient faults.
//
// It never stores or logs a site's ACL token: tokens are resolved from the reference the
// configuration names, when a client is built.
package nomad

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/orchestrator/secret"
)

// Defaults for Config.
const (
	DefaultCallTimeout  = 10 * time.Second
	DefaultMaxAttempts  = 4
	DefaultRetryBackoff = 200 * time.Millisecond
	DefaultBlockingWait = 10 * time.Second
)

// ErrNotFound means the site's Nomad cluster does not know the object (job, node, ...).
var ErrNotFound = errors.New("not found")

// Config configures the site clients. A zero field means its default.
type Config struct {
	// Secrets resolves the token references of the sites. Defaults to the process environment.
	Secrets *secret.Resolver
	// CallTimeout bounds one API call that does not block. Defaults to 10s.
	CallTimeout time.Duration
	// MaxAttempts bounds how often a call that failed transiently (5xx, 429, a refused or
	// dropped connection, a call that timed out) is tried. Defaults to 4.
	MaxAttempts int
	// RetryBackoff is the pause before the second attempt; it doubles each time. Defaults to 200ms.
	RetryBackoff time.Duration
	// BlockingWait is the wait= of blocking queries. Defaults to 10s.
	BlockingWait time.Duration
	// Clock paces retries. Defaults to the wall clock.
	Clock clock.Clock
	// ReadFile reads jobspec files. Defaults to os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// Metrics counts the calls that failed for good, by site. Optional (nil records nothing).
	Metrics *metrics.Metrics
}

// Clients builds and caches one Nomad API client per site.
type Clients struct {
	cfg Config

	mu    sync.Mutex
	cache map[string]cachedClient
}

type cachedClient struct {
	endpoint drills.NomadEndpoint
	token    string
	client   *api.Client
}

// NewClients returns a client factory.
func NewClients(cfg Config) (*Clients, error) {
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.BlockingWait == 0 {
		cfg.BlockingWait = DefaultBlockingWait
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Secrets == nil {
		cfg.Secrets = &secret.Resolver{}
	}
	switch {
	case cfg.CallTimeout < 0:
		return nil, fmt.Errorf("nomad config: CallTimeout must be positive, got %s", cfg.CallTimeout)
	case cfg.MaxAttempts < 1:
		return nil, fmt.Errorf("nomad config: MaxAttempts must be at least 1, got %d", cfg.MaxAttempts)
	case cfg.RetryBackoff < 0:
		return nil, fmt.Errorf("nomad config: RetryBackoff must be positive, got %s", cfg.RetryBackoff)
	case cfg.BlockingWait < 0:
		return nil, fmt.Errorf("nomad config: BlockingWait must be positive, got %s", cfg.BlockingWait)
	}
	return &Clients{cfg: cfg, cache: map[string]cachedClient{}}, nil
}

// siteClient is a site's client plus the options every call for that site carries.
type siteClient struct {
	site   string
	client *api.Client
	c      *Clients
}

// For returns the client for a site, building it on first use or when the site's endpoint
// or token changed.
func (c *Clients) For(site *drills.Site) (*siteClient, error) {
	if site == nil || site.Nomad == nil {
		return nil, errors.New("site has no nomad block")
	}
	ep := *site.Nomad
	token, err := c.cfg.Secrets.Resolve(secret.Ref{Env: ep.TokenEnv, File: ep.TokenFile})
	if err != nil {
		return nil, fmt.Errorf("nomad token for site %s: %w", site.Name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cached, ok := c.cache[site.Name]; ok && cached.endpoint == ep && cached.token == token {
		return &siteClient{site: site.Name, client: cached.client, c: c}, nil
	}
	namespace := ep.Namespace
	if namespace == "" {
		namespace = "default"
	}
	client, err := api.NewClient(&api.Config{
		Address:   ep.Address,
		Region:    ep.Region,
		Namespace: namespace,
		SecretID:  token,
		TLSConfig: &api.TLSConfig{
			CACert:        ep.CACert,
			ClientCert:    ep.ClientCert,
			ClientKey:     ep.ClientKey,
			TLSServerName: ep.TLSServerName,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("nomad client for site %s: %w", site.Name, err)
	}
	if old, ok := c.cache[site.Name]; ok {
		old.client.Close()
	}
	c.cache[site.Name] = cachedClient{endpoint: ep, token: token, client: client}
	return &siteClient{site: site.Name, client: client, c: c}, nil
}

// Close releases idle connections of every cached client.
func (c *Clients) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, cached := range c.cache {
		cached.client.Close()
		delete(c.cache, name)
	}
}

// call runs fn with a per-call deadline, retrying transient faults with backoff. timeout
// overrides the configured call timeout when positive (blocking queries need longer).
func (s *siteClient) call(ctx context.Context, op string, timeout time.Duration, fn func(ctx context.Context) error) error {
	cfg := s.c.cfg
	if timeout <= 0 {
		timeout = cfg.CallTimeout
	}
	backoff := cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, timeout)
		err := fn(callCtx)
		callTimedOut := callCtx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil {
			return nil
		}
		err = translate(err)
		if ctx.Err() != nil {
			return fmt.Errorf("nomad %s: %s: %w", s.site, op, errors.Join(ctx.Err(), err))
		}
		if !(callTimedOut || retryable(err)) || attempt >= cfg.MaxAttempts {
			// A 404 is an answer (the object is absent), not a failed call.
			if !errors.Is(err, ErrNotFound) {
				cfg.Metrics.NomadCallFailed(s.site)
			}
			return fmt.Errorf("nomad %s: %s (attempt %d of %d): %w", s.site, op, attempt, cfg.MaxAttempts, err)
		}
		t := cfg.Clock.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("nomad %s: %s: %w", s.site, op, errors.Join(ctx.Err(), err))
		case <-t.C():
		}
		backoff *= 2
	}
}

// statusError is a Nomad HTTP reply other than 200, reduced to what callers and users need.
type statusError struct {
	Status int
	Body   string
}

func (e *statusError) Error() string {
	body := strings.TrimSpace(e.Body)
	if len(body) > 200 {
		body = body[:200] + "..."
	}
	if body == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, body)
}

// translate turns the client's error types into this package's, so callers never import api.
func translate(err error) error {
	var ure api.UnexpectedResponseError
	if errors.As(err, &ure) && ure.HasStatusCode() {
		if ure.StatusCode() == 404 {
			return fmt.Errorf("%w: %w", ErrNotFound, &statusError{Status: 404, Body: ure.Body()})
		}
		return &statusError{Status: ure.StatusCode(), Body: ure.Body()}
	}
	return err
}

// retryable reports whether an error is a transient fault worth another attempt.
func retryable(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.Status >= 500 || se.Status == 429
	}
	// A certificate or handshake the client rejects fails the same way every time; checked
	// first because *url.Error, which wraps it, satisfies net.Error.
	if tlsFailure(err) {
		return false
	}
	var netErr net.Error
	switch {
	case errors.As(err, &netErr),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF):
		return true
	}
	// The client flattens some transport errors into strings.
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF")
}

// tlsFailure reports whether err is a TLS verification or handshake failure: a wrong CA, a
// server name mismatch, a refused client certificate, or plain HTTP spoken to a TLS port.
func tlsFailure(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		header   tls.RecordHeaderError
		alert    tls.AlertError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &header) || errors.As(err, &alert)
}
