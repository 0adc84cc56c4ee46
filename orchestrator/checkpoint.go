package orchestrator

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// EventStepCheckpoint is the timeline entry in which an attempt of a step records what its
// action is about to change (actions.Checkpointer), so that a later attempt after a takeover
// recognises its own earlier effect: a disaster step that stopped a job and died before
// recording its result is not failed for "removing nothing" when it runs again.
const EventStepCheckpoint = "step_checkpoint"

// checkpointData is the Data of an EventStepCheckpoint entry.
type checkpointData struct {
	Attempt  int            `json:"attempt"`
	Evidence map[string]any `json:"evidence"`
}

// stepCheckpoints records the checkpoints of one attempt of one step instance. The entry is
// fenced by the run's lease epoch like every write of the run: a replica that lost the run
// cannot checkpoint, so it must not make the change either.
type stepCheckpoints struct {
	x       *execution
	key     string
	attempt int
}

// Checkpoint implements actions.Checkpointer. Transient database errors are retried for as
// long as the lease allows (execution.record); an entry cut off after its commit may then be
// recorded twice, never not at all.
func (c *stepCheckpoints) Checkpoint(ctx context.Context, evidence map[string]any) error {
	if err := c.x.eventAppend(ctx, &store.RunEventAppendParams{
		RunID: c.x.runID, Epoch: c.x.epoch, Kind: EventStepCheckpoint, StepKey: c.key,
		Message: fmt.Sprintf("attempt %d", c.attempt),
		Data:    checkpointData{Attempt: c.attempt, Evidence: evidence},
		At:      c.x.r.cfg.Clock.Now(),
	}); err != nil {
		return fmt.Errorf("checkpoint step %s: %w", c.key, err)
	}
	return nil
}

// earlierCheckpoints reads what earlier attempts of the step instance checkpointed, oldest
// first. A first attempt has none, and reads nothing.
func (x *execution) earlierCheckpoints(ctx context.Context, key string, attempt int) ([]actions.Checkpoint, error) {
	if attempt <= 1 {
		return nil, nil
	}
	var events []*store.RunEvent
	if err := x.record(ctx, "read checkpoints of step "+key, func(ctx context.Context, _ bool) error {
		var err error
		events, err = x.r.cfg.Store.RunEventList(ctx, x.runID)
		return err
	}); err != nil {
		return nil, fmt.Errorf("read checkpoints of step %s: %w", key, err)
	}
	var out []actions.Checkpoint
	for _, e := range events {
		if e.Kind != EventStepCheckpoint || e.StepKey != key {
			continue
		}
		var d checkpointData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return nil, fmt.Errorf("read checkpoint %d of step %s: %w", e.Seq, key, err)
		}
		if d.Attempt >= attempt {
			continue // not earlier: cannot happen while attempts are fenced, kept out regardless
		}
		out = append(out, actions.Checkpoint{Attempt: d.Attempt, Evidence: d.Evidence})
	}
	return out, nil
}
