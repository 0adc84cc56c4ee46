package control

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/firedrill/firedrill/orchestrator/store"
)

// FreezeGet says whether a freeze is on, with the latest freeze (on or lifted) when there
// was one.
func (c *Control) FreezeGet(ctx context.Context, caller *Caller) (*FreezeView, error) {
	if err := c.authorize(ctx, caller, OpFreezeRead, "", ""); err != nil {
		return nil, err
	}
	f, err := c.cfg.Store.FreezeLatest(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &FreezeView{}, nil
	case err != nil:
		return nil, internal(err)
	}
	return freezeViewOf(f, nil), nil
}

// FreezeOn turns the freeze on. With AbortRunning, every run not yet ended is asked to abort
// in the same transaction as the freeze and its record: all of it happens, or none.
func (c *Control) FreezeOn(ctx context.Context, caller *Caller, p *FreezeOnParams) (*FreezeView, error) {
	if p == nil {
		p = &FreezeOnParams{}
	}
	name := string(OpFreezeSet)
	if err := c.authorize(ctx, caller, OpFreezeSet, name, ""); err != nil {
		return nil, err
	}
	switch {
	case strings.TrimSpace(p.Reason) == "":
		return nil, c.failed(ctx, caller, name, "", invalidf("reason", "reason is required: say why the freeze is on"), "", nil)
	case len(p.Reason) > maxComment:
		return nil, c.failed(ctx, caller, name, "", invalidf("reason", "reason is longer than %d characters", maxComment), "", nil)
	}
	var f *store.Freeze
	var aborted []string
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		at := c.cfg.Clock.Now()
		var err error
		if f, err = c.cfg.Store.FreezeSetTx(ctx, tx, &store.FreezeSetParams{By: caller.Actor, Reason: p.Reason, At: at}); err != nil {
			return err
		}
		if p.AbortRunning {
			aborted, err = c.cfg.Store.RunAbortActiveTx(ctx, tx, &store.RunAbortActiveParams{By: caller.Actor, Reason: "freeze: " + p.Reason, At: at})
			if err != nil {
				return err
			}
		}
		detail := map[string]any{"reason": p.Reason, "abort_running": p.AbortRunning}
		if p.AbortRunning {
			detail["aborted_runs"] = aborted
		}
		return c.recordTx(ctx, tx, caller, name, f.ID, "freeze on", detail)
	})
	if err != nil {
		msgs := map[error]string{}
		if cur, on, ferr := c.cfg.Store.FreezeActive(ctx); ferr == nil && on {
			msgs[store.ErrFrozen] = "a freeze is already on, set by " + cur.SetBy.String() + " at " + cur.SetAt.Format(time.RFC3339) + ": " + cur.Reason
		}
		return nil, c.failed(ctx, caller, name, "", err, "the freeze", msgs)
	}
	return freezeViewOf(f, aborted), nil
}

// FreezeOff lifts the freeze.
func (c *Control) FreezeOff(ctx context.Context, caller *Caller) (*FreezeView, error) {
	if err := c.authorize(ctx, caller, OpFreezeSet, recFreezeOff, ""); err != nil {
		return nil, err
	}
	var f *store.Freeze
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		f, err = c.cfg.Store.FreezeLiftTx(ctx, tx, &store.FreezeLiftParams{By: caller.Actor, At: c.cfg.Clock.Now()})
		switch {
		case errors.Is(err, store.ErrNotFound):
			return conflictf("no freeze is on")
		case err != nil:
			return err
		}
		return c.recordTx(ctx, tx, caller, recFreezeOff, f.ID, "freeze lifted", map[string]any{"reason": f.Reason, "set_by": f.SetBy})
	})
	if err != nil {
		return nil, c.failed(ctx, caller, recFreezeOff, "", err, "the freeze", nil)
	}
	return freezeViewOf(f, nil), nil
}

func freezeViewOf(f *store.Freeze, aborted []string) *FreezeView {
	setAt := f.SetAt
	return &FreezeView{
		Active: f.Active(), Reason: f.Reason, SetBy: actorPtr(f.SetBy), SetAt: &setAt,
		LiftedBy: actorPtr(f.LiftedBy), LiftedAt: f.LiftedAt, AbortedRuns: aborted,
	}
}
