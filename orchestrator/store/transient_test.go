package store_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/firedrill/firedrill/orchestrator/store"
)

// TestIsTransientClassifiesPrecisely: connection faults and the server's own "try again"
// codes are transient; the store's verdicts (a lost lease above all), the caller's context
// and errors about the statement are not, however they are wrapped.
func TestIsTransientClassifiesPrecisely(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return fmt.Errorf("step start: %w", &pgconn.PgError{Code: code}) }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"terminated backend 57P01", pg("57P01"), true},
		{"crash shutdown 57P02", pg("57P02"), true},
		{"starting up 57P03", pg("57P03"), true},
		{"connection failure 08006", pg("08006"), true},
		{"serialization 40001", pg("40001"), true},
		{"deadlock 40P01", pg("40P01"), true},
		{"read-only after a failover 25006", pg("25006"), true},
		{"unique violation 23505", pg("23505"), false},
		{"syntax error 42601", pg("42601"), false},
		{"statement timeout 57014", pg("57014"), false},
		{"connection reset", fmt.Errorf("write: %w", &net.OpError{Op: "read", Err: syscall.ECONNRESET}), true},
		{"connection refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"bad connection", driver.ErrBadConn, true},
		{"lease lost", fmt.Errorf("step finish: %w", store.ErrLeaseLost), false},
		{"lease lost after a reset", fmt.Errorf("%w (%w)", store.ErrLeaseLost, pg("57P01")), false},
		{"not found", store.ErrNotFound, false},
		{"run terminal", store.ErrRunTerminal, false},
		{"step finished", store.ErrStepFinished, false},
		{"context cancelled", fmt.Errorf("query: %w", context.Canceled), false},
		{"deadline", context.DeadlineExceeded, false},
		{"other", errors.New("invalid plan"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := store.IsTransient(tt.err); got != tt.want {
			t.Errorf("IsTransient(%s: %v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
