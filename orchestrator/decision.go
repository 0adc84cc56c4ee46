package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// storeDecisions waits for a person's decision on one step result, recorded in the store by
// another process (the CLI, later the console).
type storeDecisions struct {
	store  *store.Store
	clock  clock.Clock
	poll   time.Duration
	stepID string
}

// Await implements actions.DecisionWaiter.
func (d *storeDecisions) Await(ctx context.Context) (*actions.Decision, error) {
	for {
		dec, err := d.store.StepDecisionGet(ctx, d.stepID)
		switch {
		case err == nil:
			return &actions.Decision{Done: dec.Decision == store.DecisionDone, By: dec.By.Name, Comment: dec.Comment, At: dec.At}, nil
		case !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil:
			// A store hiccup must not fail a step a person is working on: look again.
		case ctx.Err() != nil:
			return nil, fmt.Errorf("waiting for a decision: %w", ctx.Err())
		}
		t := d.clock.NewTimer(d.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for a decision: %w", ctx.Err())
		case <-t.C():
		}
	}
}
