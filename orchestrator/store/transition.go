package store

import (
	"errors"
	"fmt"

	"github.com/firedrill/firedrill/drills"
)

// ErrInvalidTransition: a write would move a run between two states the run state machine
// (drills.CheckRunTransition) does not connect, e.g. claiming a run that awaits approval. The
// error wraps the *drills.RunTransitionError, and ErrRunTerminal too when the run has ended.
var ErrInvalidTransition = errors.New("invalid run state transition")

// checkTransition is drills.CheckRunTransition as a store error. Every write of a run's state
// calls it inside its transaction, with the state it read under the run's lock.
func checkTransition(from, to drills.RunState) error {
	err := drills.CheckRunTransition(from, to)
	switch {
	case err == nil:
		return nil
	case from.IsTerminal():
		return fmt.Errorf("%w: %w: %w", ErrRunTerminal, ErrInvalidTransition, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalidTransition, err)
}

// claimableStates are the states a worker may pick up (drills.RunState.IsClaimable): a run
// nobody started, or one whose holder stopped renewing its lease. awaiting_approval is never
// claimable (nobody may start it before its policy is met), and terminal runs are done.
var claimableStates = func() []string {
	var out []string
	for _, s := range drills.RunStates {
		if s.IsClaimable() {
			out = append(out, string(s))
		}
	}
	return out
}()
