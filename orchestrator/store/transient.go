package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsTransient reports whether err is a database fault that a later attempt of the same
// operation may not meet: the connection was reset or closed under the statement (a backend
// terminated, the server restarting, a failover), the server refused connections for a moment,
// or a serialization conflict. It is false for the store's own verdicts (ErrLeaseLost above
// all: fencing stays fatal; ErrNotFound, ErrDuplicate, ErrRunTerminal), for the caller's
// context ending and for every error the database gives about the statement itself.
//
// A statement cut off by a reset may or may not have committed: callers that retry must make
// the write idempotent or recognise their own earlier success (see StepStartParams.ID).
func IsTransient(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, ErrLeaseLost), errors.Is(err, ErrNotFound), errors.Is(err, ErrDuplicate),
		errors.Is(err, ErrRunTerminal), errors.Is(err, ErrStepFinished),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return transientSQLState(pgErr.Code)
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		// The server is down, restarting or not yet accepting connections.
		return true
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	var netErr net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &netErr):
		return true
	}
	return false
}

// transientSQLState classifies a PostgreSQL error code (Appendix A of its manual).
func transientSQLState(code string) bool {
	switch code {
	case "57P01", // admin_shutdown: pg_terminate_backend, or a fast shutdown
		"57P02", // crash_shutdown
		"57P03", // cannot_connect_now: starting up, or in recovery during a failover
		"40001", // serialization_failure
		"40P01", // deadlock_detected: the transaction was rolled back whole
		"53300", // too_many_connections
		"25006": // read_only_sql_transaction: connected to a demoted primary mid-failover
		return true
	}
	// Class 08: connection exception.
	return len(code) == 5 && code[:2] == "08"
}
