// Package console serves the console's foundation: signing in (local accounts and the bank's
// identity provider over OpenID Connect), server-side sessions in cookies, CSRF tokens, login
// rate limiting, and the signed-in home page. A session yields the same *control.Caller an
// API token does (Via console), so the console's pages call the same control operations under
// the same authorization table.
//
// console must not touch the store or decide who may do what: passwords, sessions and role
// changes are control's operations. It never logs or shows a password, a session secret, a
// CSRF token, an authorization code or an ID token.
package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"

	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// Cookie names. With Secure cookies the session cookie takes the __Host- prefix, which
// browsers accept only from a secure origin, for Path=/ and without Domain: no sibling
// subdomain can set or shadow it.
const (
	sessionCookie       = "firedrill_session"
	secureSessionCookie = "__Host-firedrill_session"
	loginCookie         = "firedrill_login"
	oidcCookie          = "firedrill_oidc"
	// CSRFField is the form field (and CSRFHeader the header) carrying the CSRF token.
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
	// maxFormBytes bounds a sign-in form, maxPageFormBytes any other console form.
	maxFormBytes     = 16 << 10
	maxPageFormBytes = 1 << 20
)

// Config configures a Console.
type Config struct {
	// Control carries out sign-in and every operation; required.
	Control *control.Control
	// OIDC enables sign-in with the bank's identity provider; nil offers local accounts only.
	OIDC *OIDC
	// SecureCookies marks cookies Secure even when the request did not come over TLS (TLS is
	// terminated by a proxy in front). Requests over TLS always get Secure cookies.
	SecureCookies bool
	// RateLimit bounds failed sign-ins; zero fields take the defaults.
	RateLimit RateLimit
	// Clock must be control's clock (sessions expire on it). Defaults to the wall clock.
	Clock clock.Clock
	// Logger defaults to one that discards.
	Logger *slog.Logger
	// Pages builds the console's pages (package pages' New) over the session's caller and
	// CSRF token; they are served at / behind the session, and every state-changing request
	// to them must carry its CSRF token. Nil serves the signed-in home page alone.
	Pages func(caller func(*http.Request) (*control.Caller, error), csrfToken func(*http.Request) string) (http.Handler, error)
}

// Console serves the console's pages. It is safe for concurrent use.
type Console struct {
	cfg     Config
	log     *slog.Logger
	limiter *limiter
	oidc    *oidcFlow
	pages   *pages
	// app is the console's pages, nil without Config.Pages.
	app http.Handler
}

// New returns a Console.
func New(cfg Config) (*Console, error) {
	if cfg.Control == nil {
		return nil, errors.New("console: Config.Control is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Console{cfg: cfg, log: cfg.Logger.With("component", "console"), limiter: newLimiter(cfg.RateLimit, cfg.Clock)}
	if cfg.OIDC != nil {
		f, err := newOIDCFlow(*cfg.OIDC, cfg.Clock.Now)
		if err != nil {
			return nil, err
		}
		c.oidc = f
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	c.pages = p
	if cfg.Pages != nil {
		caller := func(r *http.Request) (*control.Caller, error) {
			caller, _, err := c.Caller(r)
			return caller, err
		}
		csrf := func(r *http.Request) string { return csrfToken(c.sessionSecret(r)) }
		if c.app, err = cfg.Pages(caller, csrf); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Register adds the console's routes to mux: GET and POST /login, GET /login/oidc, GET
// /auth/callback and POST /logout, and either its pages at / (Config.Pages) or the signed-in
// home page at GET /.
func (c *Console) Register(mux *http.ServeMux) {
	if c.app != nil {
		mux.Handle("/", c.headers(c.requireCSRF(c.app)))
	} else {
		mux.Handle("GET /{$}", c.headers(http.HandlerFunc(c.home)))
	}
	mux.Handle("GET /login", c.headers(http.HandlerFunc(c.loginForm)))
	mux.Handle("POST /login", c.headers(http.HandlerFunc(c.loginPassword)))
	mux.Handle("GET /login/oidc", c.headers(http.HandlerFunc(c.loginOIDC)))
	mux.Handle("GET /auth/callback", c.headers(http.HandlerFunc(c.callback)))
	mux.Handle("POST /logout", c.headers(http.HandlerFunc(c.logout)))
}

// headers sets what every console page needs: no caching of pages that show who is signed
// in, no framing (clickjacking), no scripts or styles from elsewhere.
func (c *Console) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self' "+c.formActions())
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// requireCSRF refuses, with 403 and before anything is done, a state-changing request that
// does not carry its session's CSRF token. A request without a session passes to the pages,
// which send it to sign in.
func (c *Console) requireCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			limit := int64(maxPageFormBytes)
			if isMultipart(r) {
				limit = maxUploadBytes
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if c.sessionSecret(r) != "" && !c.CheckCSRF(r) {
				http.Error(w, "403 forbidden: the form's CSRF token is missing or wrong; reload the page and try again", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// formActions lets the sign-in redirect reach the identity provider.
func (c *Console) formActions() string {
	if c.oidc == nil {
		return ""
	}
	return c.oidc.cfg.Issuer
}

// Caller returns the caller of r's session, and the session's CSRF token, or an
// unauthenticated *control.Error. Every request is checked against the store: a session
// signed out, expired or whose user was disabled is refused at once.
func (c *Console) Caller(r *http.Request) (*control.Caller, string, error) {
	secret := c.sessionSecret(r)
	caller, _, err := c.cfg.Control.SessionAuthenticate(r.Context(), secret)
	if err != nil {
		return nil, "", err
	}
	return caller, csrfToken(secret), nil
}

// CheckCSRF reports whether r carries the CSRF token of its session (form field or header).
// Every state-changing console request must pass it. An upload (multipart/form-data) carries
// it as its first field: only that field is read here, and the body is left whole for the page.
func (c *Console) CheckCSRF(r *http.Request) bool {
	secret := c.sessionSecret(r)
	if secret == "" {
		return false
	}
	got := r.Header.Get(CSRFHeader)
	switch {
	case got != "":
	case isMultipart(r):
		got = multipartCSRF(r)
	default:
		got = r.PostFormValue(CSRFField)
	}
	return got != "" && equalSecret(got, csrfToken(secret))
}

// csrfToken is the synchronizer token bound to a session: an HMAC of a fixed label under the
// session's secret. The server stores nothing more, and a token is worthless for any other
// session; it cannot be turned back into the secret.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("firedrill console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func equalSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (c *Console) secure(r *http.Request) bool { return c.cfg.SecureCookies || r.TLS != nil }

func (c *Console) sessionCookieName(r *http.Request) string {
	if c.secure(r) {
		return secureSessionCookie
	}
	return sessionCookie
}

func (c *Console) sessionSecret(r *http.Request) string {
	ck, err := r.Cookie(c.sessionCookieName(r))
	if err != nil {
		return ""
	}
	return ck.Value
}

// setCookie sets an HttpOnly, SameSite=Lax cookie (Secure when served over TLS or so
// configured); maxAge < 0 deletes it.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteLaxMode,
	})
}

func (c *Console) startSession(w http.ResponseWriter, r *http.Request, s *control.NewSession) {
	// The browser forgets the cookie when the session's absolute expiry passes; the server
	// holds the expiry itself and refuses the session at once after sign-out.
	maxAge := int(s.ExpiresAt.Sub(c.cfg.Clock.Now()).Seconds())
	c.setCookie(w, r, c.sessionCookieName(r), s.Secret, "/", max(maxAge, 1))
}

// clientAddr is the client's IP from the connection. A proxy's forwarding headers are not
// trusted: behind a proxy every client shares the proxy's address, which the per-account
// limit still covers.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (c *Console) internalError(w http.ResponseWriter, r *http.Request, err error) {
	c.log.ErrorContext(r.Context(), "console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	c.render(w, r, http.StatusInternalServerError, "error", pageData{Error: msgInternal})
}

// unauthenticated reports whether err is control's "not signed in".
func unauthenticated(err error) bool {
	var e *control.Error
	return errors.As(err, &e) && e.Category == control.CategoryUnauthenticated
}

// safeMessage is the message of a control error, safe to show.
func safeMessage(err error) string {
	var e *control.Error
	if errors.As(err, &e) && e.Category != control.CategoryInternal {
		return e.Message
	}
	return ""
}
