package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// ReadyTimeout bounds the readiness check of one GET /readyz.
const ReadyTimeout = 2 * time.Second

// unmatchedRoute is the route label of a request no pattern matched: the raw path would let
// any client create series.
const unmatchedRoute = "unmatched"

// readyz answers 200 when this replica can take its share of the work (Config.Ready), 503
// with the reason otherwise. A load balancer or Nomad's check stops sending it traffic then;
// /healthz (alive) says whether to restart it.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.cfg.Ready(ctx); err != nil {
		// Ready's message is the public reason; its cause (errors.Unwrap) goes to the log.
		s.log.WarnContext(ctx, "not ready", "reason", err.Error(), "err", errors.Unwrap(err))
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "not_ready", "reason": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ready", "database": s.cfg.Database})
}

// instrument records each request's duration by the pattern the mux matched (never the raw
// path, so label values stay bounded), its method and status.
func (s *Server) instrument(next http.Handler) http.Handler {
	if s.cfg.Metrics == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		tw := &trackingWriter{ResponseWriter: w}
		next.ServeHTTP(tw, r)
		status := tw.status
		if !tw.wrote {
			status = http.StatusOK
		}
		s.cfg.Metrics.HTTPRequest(routeLabel(r.Pattern), r.Method, status, time.Since(start))
	})
}

// routeLabel is a mux pattern without its method ("GET /api/v1/runs/{id}" -> "/api/v1/runs/{id}").
func routeLabel(pattern string) string {
	if pattern == "" {
		return unmatchedRoute
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

// notReadyError is the default readiness check's failure: a public reason, the cause logged.
type notReadyError struct {
	reason string
	cause  error
}

func (e *notReadyError) Error() string { return e.reason }
func (e *notReadyError) Unwrap() error { return e.cause }
