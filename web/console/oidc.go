package console

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/firedrill/firedrill/drills"
)

// OIDC defaults.
const (
	// DefaultRoleClaim is the ID token claim read for role mapping.
	DefaultRoleClaim = "groups"
	// DefaultUsernameClaim is the ID token claim that names the firedrill user.
	DefaultUsernameClaim = "preferred_username"
	// oidcFlowMaxAge bounds the time between the redirect to the provider and the callback.
	oidcFlowMaxAge = 10 * time.Minute
	// oidcTimeout bounds each call to the provider (discovery, keys, code exchange).
	oidcTimeout = 15 * time.Second
)

// OIDC configures sign-in with the bank's identity provider (authorization code flow with
// PKCE S256; state and nonce checked).
type OIDC struct {
	// Issuer is the provider's issuer URL; discovery is read from
	// Issuer/.well-known/openid-configuration. Required.
	Issuer string
	// ClientID is firedrill's client at the provider; required, and the ID token's audience.
	ClientID string
	// ClientSecret authenticates firedrill to the provider. It comes from the environment or
	// a file, never a flag value; it is never logged. Optional for a public client (PKCE).
	ClientSecret string
	// RedirectURL is firedrill's /auth/callback as the browser reaches it (registered at the
	// provider); required.
	RedirectURL string
	// RoleClaim is the claim (a string or a list of strings) mapped to roles. Defaults to
	// DefaultRoleClaim.
	RoleClaim string
	// RoleMap maps a value of RoleClaim (a group) to the firedrill roles it gives; required:
	// with no mapping nobody would get a role.
	RoleMap map[string][]string
	// UsernameClaim names the user; its value, lowercased, must be a valid user name.
	// Defaults to DefaultUsernameClaim.
	UsernameClaim string
	// Scopes asked besides openid. Defaults to profile, email and groups.
	Scopes []string
	// HTTPClient reaches the provider; defaults to one with a timeout.
	HTTPClient *http.Client
}

// ParseRoleMap parses "group=role[,role...]" mappings, as given on the command line.
func ParseRoleMap(specs []string) (map[string][]string, error) {
	out := map[string][]string{}
	for i, s := range specs {
		group, roles, ok := strings.Cut(s, "=")
		group = strings.TrimSpace(group)
		if !ok || group == "" || strings.TrimSpace(roles) == "" {
			return nil, fmt.Errorf("role mapping %d %q: want group=role[,role]", i+1, s)
		}
		for r := range strings.SplitSeq(roles, ",") {
			r = strings.TrimSpace(r)
			if !drills.IsRole(r) {
				return nil, fmt.Errorf("role mapping %q: %q is not a role (%s)", s, r, strings.Join(drills.Roles, ", "))
			}
			if !slices.Contains(out[group], r) {
				out[group] = append(out[group], r)
			}
		}
	}
	return out, nil
}

func (o *OIDC) validate() error {
	switch {
	case o.Issuer == "":
		return errors.New("console: OIDC.Issuer is required")
	case o.ClientID == "":
		return errors.New("console: OIDC.ClientID is required")
	case o.RedirectURL == "":
		return errors.New("console: OIDC.RedirectURL is required (firedrill's /auth/callback as the browser reaches it)")
	case len(o.RoleMap) == 0:
		return errors.New("console: OIDC.RoleMap is required: map the provider's groups to firedrill roles (group=role)")
	}
	for _, u := range []struct{ field, v string }{{"Issuer", o.Issuer}, {"RedirectURL", o.RedirectURL}} {
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return fmt.Errorf("console: OIDC.%s %q is not an http(s) URL", u.field, u.v)
		}
	}
	for g, roles := range o.RoleMap {
		for _, r := range roles {
			if !drills.IsRole(r) {
				return fmt.Errorf("console: OIDC.RoleMap[%q]: %q is not a role", g, r)
			}
		}
	}
	return nil
}

// oidcFlow runs the code flow against one provider. Discovery happens at the first sign-in
// (and again after a failure), so that serve starts while the provider is unreachable.
type oidcFlow struct {
	cfg OIDC
	now func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider
}

func newOIDCFlow(cfg OIDC, now func() time.Time) (*oidcFlow, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = DefaultRoleClaim
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = DefaultUsernameClaim
	}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"profile", "email", "groups"}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: oidcTimeout}
	}
	return &oidcFlow{cfg: cfg, now: now}, nil
}

func (f *oidcFlow) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, f.cfg.HTTPClient)
}

func (f *oidcFlow) discover(ctx context.Context) (*oidc.Provider, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.provider != nil {
		return f.provider, nil
	}
	ctx, cancel := context.WithTimeout(ctx, oidcTimeout)
	defer cancel()
	// The provider keeps this context for fetching keys later: it must outlive the request.
	p, err := oidc.NewProvider(f.ctx(context.WithoutCancel(ctx)), f.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover OIDC provider %s: %w", f.cfg.Issuer, err)
	}
	f.provider = p
	return p, nil
}

func (f *oidcFlow) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: f.cfg.ClientID, ClientSecret: f.cfg.ClientSecret, RedirectURL: f.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, f.cfg.Scopes...),
	}
}

// flowState is what the browser carries between the redirect and the callback, in an
// HttpOnly cookie scoped to /auth/callback: the state (bound to this browser, so that a
// callback started elsewhere is refused), the nonce (bound into the ID token) and the PKCE
// verifier (which only this browser's callback can present).
type flowState struct {
	State, Nonce, Verifier string
}

func (s flowState) encode() string { return s.State + "." + s.Nonce + "." + s.Verifier }

func decodeFlowState(v string) (flowState, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return flowState{}, false
	}
	return flowState{State: parts[0], Nonce: parts[1], Verifier: parts[2]}, true
}

func randomString() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// start returns the provider's authorization URL and the state to keep in the browser.
func (f *oidcFlow) start(ctx context.Context) (string, flowState, error) {
	p, err := f.discover(ctx)
	if err != nil {
		return "", flowState{}, err
	}
	var st flowState
	if st.State, err = randomString(); err != nil {
		return "", st, err
	}
	if st.Nonce, err = randomString(); err != nil {
		return "", st, err
	}
	st.Verifier = oauth2.GenerateVerifier()
	u := f.oauth(p).AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	return u, st, nil
}

// identity is what a verified ID token says about the person.
type identity struct {
	Issuer, Subject, Name string
	Roles                 []string
	// Groups are the claim's values, for the record.
	Groups []string
}

// errFlow is a refused callback; its message is safe to show.
type errFlow struct {
	msg string
	err error
}

func (e *errFlow) Error() string { return e.msg + ": " + e.err.Error() }
func (e *errFlow) Unwrap() error { return e.err }

// finish exchanges the code (with the PKCE verifier) and verifies the ID token: signature,
// issuer, audience, expiry (on firedrill's clock) and the nonce.
func (f *oidcFlow) finish(ctx context.Context, st flowState, code string) (*identity, error) {
	p, err := f.discover(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, oidcTimeout)
	defer cancel()
	tok, err := f.oauth(p).Exchange(f.ctx(ctx), code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return nil, &errFlow{"the identity provider refused the sign-in code", err}
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, &errFlow{"the identity provider sent no ID token", errors.New("no id_token in the token response")}
	}
	idt, err := p.VerifierContext(f.ctx(ctx), &oidc.Config{ClientID: f.cfg.ClientID, Now: f.now}).Verify(f.ctx(ctx), raw)
	if err != nil {
		return nil, &errFlow{"the identity provider's ID token is not valid for firedrill", err}
	}
	if idt.Nonce == "" || !equalSecret(idt.Nonce, st.Nonce) {
		return nil, &errFlow{"the ID token was not issued for this sign-in", errors.New("nonce mismatch")}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, &errFlow{"the ID token's claims cannot be read", err}
	}
	name, _ := claims[f.cfg.UsernameClaim].(string)
	if name == "" {
		return nil, &errFlow{fmt.Sprintf("the ID token has no %s claim to name the user", f.cfg.UsernameClaim), errors.New("no username claim")}
	}
	id := &identity{Issuer: idt.Issuer, Subject: idt.Subject, Name: strings.ToLower(name)}
	id.Groups = claimStrings(claims[f.cfg.RoleClaim])
	for _, g := range id.Groups {
		for _, r := range f.cfg.RoleMap[g] {
			if !slices.Contains(id.Roles, r) {
				id.Roles = append(id.Roles, r)
			}
		}
	}
	slices.Sort(id.Roles)
	return id, nil
}

// claimStrings reads a claim that is a string or a list of strings.
func claimStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
