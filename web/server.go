package web

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// DefaultMaxBodyBytes bounds a request body when Config.MaxBodyBytes is zero: 1 MiB.
const DefaultMaxBodyBytes int64 = 1 << 20

// HealthTimeout bounds the health check of one GET /healthz.
const HealthTimeout = 2 * time.Second

// OpenAPI is the OpenAPI 3 document of /api/v1, as served at GET /api/v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

// Config configures a Server.
type Config struct {
	// Control carries out every operation; required.
	Control *control.Control
	// Logger defaults to one that discards.
	Logger *slog.Logger
	// Health checks that the server can do its work (the database answers with the schema this
	// binary expects); GET /healthz answers 503 when it fails. Defaults to a check that always
	// passes.
	Health func(ctx context.Context) error
	// Database names the database's dialect in the reply of GET /healthz ("postgres",
	// "sqlite"). Defaults to "unknown".
	Database string
	// MaxBodyBytes bounds a request body: a longer one is refused with 413. Defaults to
	// DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// Console adds the server-rendered console's routes (GET /, /login, /auth/callback,
	// /logout; *console.Console is one) beside /api/v1; nil serves the API alone.
	Console interface{ Register(mux *http.ServeMux) }
	// Ready says whether this replica can take its share of the work; GET /readyz answers
	// 503 otherwise, with the error's message as the reason: it is shown unauthenticated, so
	// it names the failed check, never a host or a secret (the wrapped cause is logged).
	// Defaults to Health, reported as "database unreachable or schema outdated".
	Ready func(ctx context.Context) error
	// Metrics, when set, is served at GET /metrics and records every request's duration by
	// route pattern. Nil serves no /metrics.
	Metrics *metrics.Metrics
}

// Server serves /healthz and /api/v1. It is safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Control == nil {
		return nil, errors.New("web: Config.Control is required")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("web: Config.MaxBodyBytes is %d: want 0 (the default, %d) or more", cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Health == nil {
		cfg.Health = func(context.Context) error { return nil }
	}
	if cfg.Ready == nil {
		health := cfg.Health
		cfg.Ready = func(ctx context.Context) error {
			if err := health(ctx); err != nil {
				return &notReadyError{reason: "database unreachable or schema outdated", cause: err}
			}
			return nil
		}
	}
	if cfg.Database == "" {
		cfg.Database = "unknown"
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "web")}
	s.handler = s.instrument(s.recoverPanics(s.mux()))
	return s, nil
}

// Handler returns the handler serving /healthz and every route of Routes.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("/healthz", methodNotAllowed([]string{http.MethodGet}))
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("/readyz", methodNotAllowed([]string{http.MethodGet}))
	if s.cfg.Metrics != nil {
		mux.Handle("GET /metrics", s.cfg.Metrics.Handler())
		mux.Handle("/metrics", methodNotAllowed([]string{http.MethodGet}))
	}
	methods := map[string][]string{}
	var patterns []string
	for _, rt := range routes {
		mux.Handle(rt.Method+" "+rt.Pattern, s.serveRoute(rt))
		if _, ok := methods[rt.Pattern]; !ok {
			patterns = append(patterns, rt.Pattern)
		}
		methods[rt.Pattern] = append(methods[rt.Pattern], rt.Method)
	}
	// A known path asked with another method: 405 with Allow, in the API's error shape (the
	// ServeMux's own 405 is plain text).
	for _, p := range patterns {
		mux.Handle(p, methodNotAllowed(methods[p]))
	}
	if s.cfg.Console != nil {
		s.cfg.Console.Register(mux)
	}
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeErrorBody(w, http.StatusNotFound, &errorDetail{
			Code:    string(control.CategoryNotFound),
			Message: fmt.Sprintf("no API route %s: GET /api/v1/openapi.json lists them", r.URL.Path),
		})
	})
	return mux
}

// healthz answers 200 when the health check passes, 503 otherwise; the reply names the
// database's dialect, never its address.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), HealthTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.cfg.Health(ctx); err != nil {
		s.log.WarnContext(ctx, "health check failed", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, `{"status":"unavailable","database":"unreachable or schema outdated"}`)
		return
	}
	fmt.Fprintf(w, "{\"status\":\"ok\",\"database\":%q}\n", s.cfg.Database)
}

func methodNotAllowed(methods []string) http.Handler {
	allow := slices.Clone(methods)
	if slices.Contains(allow, http.MethodGet) {
		allow = append(allow, http.MethodHead)
	}
	slices.Sort(allow)
	header := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", header)
		writeErrorBody(w, http.StatusMethodNotAllowed, &errorDetail{
			Code:    string(categoryMethodNotAllowed),
			Message: fmt.Sprintf("%s %s is not a route: this path answers %s", r.Method, r.URL.Path, header),
		})
	})
}

// recoverPanics turns a handler's panic into a logged 500: a panic is a bug, and the caller
// still gets the API's error shape.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			if !tw.wrote {
				writeErrorBody(tw, http.StatusInternalServerError, &errorDetail{Code: string(control.CategoryInternal), Message: internalMessage})
			}
		}()
		next.ServeHTTP(tw, r)
	})
}

// trackingWriter records whether the header was written.
type trackingWriter struct {
	http.ResponseWriter
	wrote  bool
	status int
}

func (w *trackingWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote, w.status = true, code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackingWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.wrote, w.status = true, http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Timeouts of the HTTP server NewHTTPServer returns. A reply that takes longer than
// WriteTimeout is a stuck one; the console's event streams, the one reply that lasts, set
// their own write deadline at each write and end when the server shuts down.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 2 * time.Minute
)

// NewHTTPServer returns the http.Server to serve h with: every phase of a connection is
// bounded, so a slow or silent client (or one that keeps idle connections open) cannot hold
// a replica's connections, or its shutdown, for ever.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
	}
}
