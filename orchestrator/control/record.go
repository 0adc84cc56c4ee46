package control

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Names under which operations are recorded in the operations log. Most are the Operation
// checked; a few operations that share a permission are recorded under their own name.
const (
	recAuthenticate   = "authenticate"
	recRunReject      = "run.reject"
	recFreezeOff      = "freeze.off"
	recScheduleResume = "schedule.resume"
	recUserCreate     = "user.create"
	recUserDisable    = "user.disable"
	recRoleGrant      = "role.grant"
	recRoleRevoke     = "role.revoke"
	recTokenCreate    = "token.create"
	recTokenRevoke    = "token.revoke"
	recBootstrap      = "user.bootstrap"
	recFindingAdd     = "finding.add"
	recFindingUpdate  = "finding.update"
	recRunNote        = "run.note"
)

// actorOf is who a caller is, for the record; zero when nobody could be told.
func actorOf(caller *Caller) drills.Actor {
	if caller == nil {
		return drills.Actor{}
	}
	return caller.Actor
}

// authorize checks op against the authorization table and records a denial. name is what
// the record calls the operation ("" for op itself) and target what it acted on.
func (c *Control) authorize(ctx context.Context, caller *Caller, op Operation, name, target string) error {
	err := Authorize(caller, op)
	if err != nil {
		if name == "" {
			name = string(op)
		}
		c.record(ctx, actorOf(caller), name, target, store.OutcomeDenied, err.Error(), nil)
	}
	return err
}

// record appends an operation outside any transaction: a denial, a failure after the
// operation's transaction rolled back. Failing to record is logged: the caller's outcome
// stands.
func (c *Control) record(ctx context.Context, actor drills.Actor, name, target, outcome, msg string, detail any) {
	if !actor.IsZero() && actor.Validate() != nil {
		// A malformed actor is recorded without its identity rather than not at all.
		actor = drills.Actor{}
	}
	_, err := c.cfg.Store.OperationRecord(context.WithoutCancel(ctx), &store.OperationRecordParams{
		Actor: actor, Operation: name, Target: target, Outcome: outcome, Message: msg, Detail: detail,
		At: c.cfg.Clock.Now(),
	})
	if err != nil {
		c.log.ErrorContext(ctx, "operation not recorded", "operation", name, "target", target, "outcome", outcome, "err", err)
	}
}

// recordTx appends a successful operation in tx, so that it commits with what it did.
func (c *Control) recordTx(ctx context.Context, tx *store.Tx, caller *Caller, name, target, msg string, detail any) error {
	_, err := c.cfg.Store.OperationRecordTx(ctx, tx, &store.OperationRecordParams{
		Actor: actorOf(caller), Operation: name, Target: target, Outcome: store.OutcomeOK, Message: msg, Detail: detail,
		At: c.cfg.Clock.Now(),
	})
	return err
}

// failed maps an operation's error to an *Error (see storeError), records the failure, and
// returns the *Error. An *Error (a check of control's own) is recorded as it is.
func (c *Control) failed(ctx context.Context, caller *Caller, name, target string, err error, subject string, msgs map[error]string) error {
	var e *Error
	if !errors.As(err, &e) {
		e = storeError(err, subject, msgs)
	}
	outcome := store.OutcomeFailed
	if e.Category == CategoryForbidden || e.Category == CategoryUnauthenticated {
		outcome = store.OutcomeDenied
	}
	if e.Category == CategoryInternal {
		c.log.ErrorContext(ctx, "operation failed", "operation", name, "target", target, "err", err)
	}
	c.record(ctx, actorOf(caller), name, target, outcome, e.Message, nil)
	return e
}

// conflicts are the store's errors that say the target is not in a state that allows the
// operation, with what a caller is told.
var conflicts = []struct {
	err error
	msg string
}{
	{store.ErrRunTerminal, "%s has ended"},
	{store.ErrInvalidTransition, "%s is not in a state that allows this"},
	{store.ErrNotAwaitingApproval, "%s is not awaiting approval"},
	{store.ErrApprovalExpired, "the approval window of %s ended; the run is blocked"},
	{store.ErrNotAwaiting, "%s is not waiting for a decision"},
	{store.ErrFrozen, "a freeze is already on"},
	{store.ErrDuplicate, "%s already exists"},
	{store.ErrUserDisabled, "%s: the user is disabled"},
	{store.ErrAdminExists, "an admin already exists"},
	{store.ErrLastAdmin, "%s is the last enabled admin: make another admin first"},
	{store.ErrTokenRevoked, "%s is already revoked"},
	{store.ErrOrphaned, "%s is no longer defined in the estate"},
	{store.ErrLeaseLost, "%s changed hands; try again"},
	{store.ErrReportPublished, "%s is published: it never changes (a correction is a new version)"},
	{store.ErrFindingClosed, "%s is closed: a passing drill retested it"},
}

// storeError maps a store error to a category and a message safe to show, about subject
// ("run 0190...", "user alice"). msgs overrides the message of a sentinel. The cause stays
// wrapped for errors.Is and the log.
func storeError(err error, subject string, msgs map[error]string) *Error {
	for sentinel, msg := range msgs {
		if errors.Is(err, sentinel) {
			cat := CategoryConflict
			switch {
			case errors.Is(sentinel, store.ErrNotFound):
				cat = CategoryNotFound
			case sentinel == store.ErrSelfApproval:
				cat = CategoryForbidden
			}
			return &Error{Category: cat, Message: msg, Err: err}
		}
	}
	switch {
	case errors.Is(err, store.ErrSelfApproval):
		return &Error{Category: CategoryForbidden, Message: subject + ": the person who asked for a run cannot approve or reject it", Err: err}
	case errors.Is(err, store.ErrNotFound):
		return &Error{Category: CategoryNotFound, Message: subject + " not found", Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Category: CategoryInternal, Message: "the operation did not complete in time", Err: err}
	}
	for _, c := range conflicts {
		if errors.Is(err, c.err) {
			msg := c.msg
			if strings.Contains(msg, "%s") {
				msg = fmt.Sprintf(msg, subject)
			}
			return &Error{Category: CategoryConflict, Message: msg, Err: err}
		}
	}
	return &Error{Category: CategoryInternal, Message: "internal error", Err: err}
}

func conflictf(format string, args ...any) *Error {
	return newError(CategoryConflict, nil, format, args...)
}

func notFoundf(format string, args ...any) *Error {
	return newError(CategoryNotFound, nil, format, args...)
}

func internal(cause error) *Error {
	return &Error{Category: CategoryInternal, Message: "internal error", Err: cause}
}
