package control

import (
	"context"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// notify tells the notifier, if any, of ev once the operation behind it has committed. A
// notification that cannot be queued is logged and the operation's outcome stands: a
// person's decision never waits on, or fails because of, a webhook.
func (c *Control) notify(ctx context.Context, ev notify.Event) {
	if c.cfg.Notifier == nil {
		return
	}
	if err := c.cfg.Notifier.Notify(context.WithoutCancel(ctx), ev); err != nil {
		c.log.WarnContext(ctx, "notification not queued", "run_id", ev.RunID, "event", string(ev.Kind), "err", err)
	}
}

// announceAwaiting announces a run an operation left waiting for approval.
func (c *Control) announceAwaiting(ctx context.Context, run *store.Run) {
	if run != nil && run.State == drills.RunAwaitingApproval {
		c.notify(ctx, notify.ApprovalNeeded(run))
	}
}

// announceEnded announces a run an operation ended without a worker (rejected, its approval
// window ended, aborted while waiting for approval): no worker will ever announce it. A run
// not ended, or one a worker has claimed (its lease epoch counts claims), is left to the
// worker, which announces the runs it ends.
func (c *Control) announceEnded(ctx context.Context, run *store.Run) {
	if run != nil && run.State.IsTerminal() && run.LeaseEpoch == 0 {
		c.notify(ctx, notify.RunEndedUnexecuted(run))
	}
}

// announceEndedIDs announces the runs among ids that an operation ended at once (a freeze
// that aborts everything in flight ends the runs awaiting approval; the others end, and are
// announced, when their worker sees the request).
func (c *Control) announceEndedIDs(ctx context.Context, ids []string) {
	if c.cfg.Notifier == nil {
		return
	}
	for _, id := range ids {
		run, err := c.cfg.Store.RunGet(context.WithoutCancel(ctx), id)
		if err != nil {
			c.log.WarnContext(ctx, "notification not queued: the run could not be read", "run_id", id, "err", err)
			continue
		}
		c.announceEnded(ctx, run)
	}
}
