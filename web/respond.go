package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/firedrill/firedrill/orchestrator/control"
)

// Codes of failures that happen in the HTTP layer, before any operation: they share the
// error body's "code" with control's categories and have a status of their own in statusOf.
const (
	categoryTooLarge             control.Category = "too_large"
	categoryUnsupportedMediaType control.Category = "unsupported_media_type"
	categoryMethodNotAllowed     control.Category = "method_not_allowed"
)

// internalMessage is all a caller learns of a 5xx; the cause goes to the log.
const internalMessage = "internal error"

// statusOf is the one mapping from a failure's category to an HTTP status.
func statusOf(c control.Category) int {
	switch c {
	case control.CategoryInvalid:
		return http.StatusBadRequest
	case control.CategoryUnauthenticated:
		return http.StatusUnauthorized
	case control.CategoryForbidden:
		return http.StatusForbidden
	case control.CategoryNotFound:
		return http.StatusNotFound
	case categoryMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case control.CategoryConflict:
		return http.StatusConflict
	case categoryTooLarge:
		return http.StatusRequestEntityTooLarge
	case categoryUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// errorBody is the shape of every error reply.
type errorBody struct {
	Error *errorDetail `json:"error"`
}

type errorDetail struct {
	// Code is the failure's category.
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the body field, query parameter or path parameter at fault.
	Field string `json:"field,omitempty"`
	// Diagnostics are a plan's positioned problems.
	Diagnostics []control.Diagnostic `json:"diagnostics,omitempty"`
}

// writeError answers with err's status and safe message. A failure without a category, or an
// internal one, is logged with its cause and answered "internal error".
func (s *Server) writeError(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) int {
	var ce *control.Error
	if !errors.As(err, &ce) || statusOf(ce.Category) >= 500 {
		attrs := []any{"method", r.Method, "path", r.URL.Path, "error", err}
		if ce != nil && ce.Err != nil {
			attrs = append(attrs, "cause", ce.Err)
		}
		s.log.ErrorContext(ctx, "request failed", attrs...)
		writeErrorBody(w, http.StatusInternalServerError, &errorDetail{Code: string(control.CategoryInternal), Message: internalMessage})
		return http.StatusInternalServerError
	}
	status := statusOf(ce.Category)
	d := &errorDetail{Code: string(ce.Category), Message: ce.Message, Field: ce.Field}
	switch details := ce.Details.(type) {
	case []control.Diagnostic:
		d.Diagnostics = details
	case nil:
	default:
		s.log.DebugContext(ctx, "error details not shown", "type", slog.AnyValue(details).Kind().String())
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="firedrill"`)
	}
	writeErrorBody(w, status, d)
	return status
}

func writeErrorBody(w http.ResponseWriter, status int, d *errorDetail) {
	b, err := json.Marshal(errorBody{Error: d})
	if err != nil {
		// An errorDetail always marshals; keep the shape if it ever does not.
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
		status = http.StatusInternalServerError
	}
	writeBytes(w, status, append(b, '\n'))
}

func writeBytes(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
