// Package runlog carries a run's ID and its current step in the context, and a slog.Handler
// that writes them on every line logged with that context: the runner's, and those of every
// package it calls (actions, the store, the notifier) without each passing them along. It
// holds no state of its own beyond the context values.
package runlog

import (
	"context"
	"log/slog"
)

// Keys of the attributes the handler adds.
const (
	KeyRunID = "run_id"
	KeyStep  = "step"
)

type scopeKey struct{}

// scope is what a context says of the run it belongs to.
type scope struct {
	runID, step string
}

// WithRun returns ctx marked as belonging to the run runID.
func WithRun(ctx context.Context, runID string) context.Context {
	return context.WithValue(ctx, scopeKey{}, &scope{runID: runID})
}

// WithStep returns ctx marked as executing step (a step's key) of the run ctx belongs to.
func WithStep(ctx context.Context, step string) context.Context {
	s := scope{step: step}
	if cur, ok := ctx.Value(scopeKey{}).(*scope); ok {
		s.runID = cur.runID
	}
	return context.WithValue(ctx, scopeKey{}, &s)
}

// RunID is the run ctx belongs to; empty when none.
func RunID(ctx context.Context) string {
	if s, ok := ctx.Value(scopeKey{}).(*scope); ok {
		return s.runID
	}
	return ""
}

// Handler adds run_id and step, from the context, to the records inner handles, unless the
// logger or the record already carries them.
type Handler struct {
	inner slog.Handler
	// hasRun and hasStep: the logger's own attributes (WithAttrs) already carry the key.
	hasRun, hasStep bool
}

// NewHandler wraps inner.
func NewHandler(inner slog.Handler) *Handler { return &Handler{inner: inner} }

// Enabled reports what inner does.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// Handle adds the context's run and step to r and hands it to inner.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	s, ok := ctx.Value(scopeKey{}).(*scope)
	if !ok {
		return h.inner.Handle(ctx, r)
	}
	needRun, needStep := s.runID != "" && !h.hasRun, s.step != "" && !h.hasStep
	if needRun || needStep {
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case KeyRunID:
				needRun = false
			case KeyStep:
				needStep = false
			}
			return needRun || needStep
		})
	}
	if needRun || needStep {
		r = r.Clone()
		if needRun {
			r.AddAttrs(slog.String(KeyRunID, s.runID))
		}
		if needStep {
			r.AddAttrs(slog.String(KeyStep, s.step))
		}
	}
	return h.inner.Handle(ctx, r)
}

// WithAttrs notes whether attrs carry run_id or step, so that Handle does not repeat them.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := &Handler{inner: h.inner.WithAttrs(attrs), hasRun: h.hasRun, hasStep: h.hasStep}
	for _, a := range attrs {
		switch a.Key {
		case KeyRunID:
			n.hasRun = true
		case KeyStep:
			n.hasStep = true
		}
	}
	return n
}

// WithGroup opens a group in inner; the run and step then land inside it, which a reader
// still finds under the group's name.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), hasRun: h.hasRun, hasStep: h.hasStep}
}
