package control

import (
	"errors"
	"fmt"
)

// Category says what kind of failure an operation met; front ends map it to an HTTP status or
// an exit code in one place each.
type Category string

// Categories.
const (
	// CategoryInvalid: the request is malformed or names something inconsistent (HTTP 400/422).
	CategoryInvalid Category = "invalid"
	// CategoryUnauthenticated: no credentials, or they are unknown, expired, revoked or belong
	// to a disabled user (HTTP 401).
	CategoryUnauthenticated Category = "unauthenticated"
	// CategoryForbidden: the caller is known but may not do this (HTTP 403).
	CategoryForbidden Category = "forbidden"
	// CategoryNotFound: the run, step, schedule, user or token does not exist (HTTP 404).
	CategoryNotFound Category = "not_found"
	// CategoryConflict: the target is not in a state that allows this (HTTP 409).
	CategoryConflict Category = "conflict"
	// CategoryInternal: a bug or an outage; the message says nothing of the cause (HTTP 500).
	CategoryInternal Category = "internal"
)

// Error is an operation's failure: a category, a message safe to show to the caller, the
// field of the request it concerns (if any), and the internal cause.
type Error struct {
	Category Category
	// Message is safe to show: it names no secret and no internal detail.
	Message string
	// Field names the request field at fault ("plan_source", "roles[1]"), when one is.
	Field string
	// Details carries structured, safe-to-show data (e.g. a plan's positioned diagnostics).
	Details any
	// Err is the internal cause, for errors.Is/As and the log; never shown.
	Err error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// CategoryOf returns the category of err: that of the first *Error in its chain, else
// CategoryInternal.
func CategoryOf(err error) Category {
	var e *Error
	if errors.As(err, &e) {
		return e.Category
	}
	return CategoryInternal
}

func newError(c Category, cause error, format string, args ...any) *Error {
	return &Error{Category: c, Message: fmt.Sprintf(format, args...), Err: cause}
}

func invalidf(field, format string, args ...any) *Error {
	e := newError(CategoryInvalid, nil, format, args...)
	e.Field = field
	return e
}

func forbiddenf(format string, args ...any) *Error {
	return newError(CategoryForbidden, nil, format, args...)
}

func unauthenticatedf(format string, args ...any) *Error {
	return newError(CategoryUnauthenticated, nil, format, args...)
}
