package control

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// ComplianceCacheFor is how long an evaluation is reused while nothing audited changed: what
// changes a verdict without an audited write (time passing a due date or a finding's due
// day, a schedule's skipped fire) shows at most that late. So does a run another replica
// ended at an instant still ahead of this replica's clock (the evaluation counts the runs
// ended before its now), once this clock has passed it.
const ComplianceCacheFor = 15 * time.Second

// complianceCache keeps the last evaluation of each profile, period and language: at
// 100,000 runs an evaluation walks the year's runs and measurements (about a second), and the
// dashboard asks for it on every load.
//
// An entry is reused only while the audit chain's head is where it was when the evaluation
// began. Every run event (a run created, started, ended, its measurements) and every
// operation (a finding added or changed, a schedule paused) appends to the chain in the
// transaction that writes it, on every replica, so a run that ends moves the head and the
// next request evaluates again: a verdict is never stale after a run ends. The steps of a
// running drill move the head too but change no input of the evaluation: when every row since
// the entry's head is such progress (store.AuditProgressOnly), the entry stands, so a drill
// in progress does not make every dashboard load evaluate again. The head is read before the
// evaluation, so a change that lands during it forces the next one. Concurrent requests for
// the same missing entry share one evaluation.
type complianceCache struct {
	mu      sync.Mutex
	entries map[complianceKey]*complianceEntry
	flight  singleflight.Group
}

type complianceKey struct{ profile, period, lang string }

type complianceEntry struct {
	head int64
	at   time.Time
	view *ComplianceView
}

// get returns the cached view of key when it was evaluated less than ComplianceCacheFor
// before now at head, or at an earlier head that only running runs' progress moved since
// (progressOnly: store.AuditProgressOnly), else evaluates it once (whoever else asks meanwhile waits
// for that evaluation) and keeps it. The view is shared: callers must not modify it.
func (c *complianceCache) get(ctx context.Context, key complianceKey, head int64, now time.Time,
	progressOnly func(ctx context.Context, after, upTo int64) (bool, error),
	evaluate func(context.Context) (*ComplianceView, error)) (*ComplianceView, error) {
	c.mu.Lock()
	e := c.entries[key]
	c.mu.Unlock()
	if e != nil && now.Sub(e.at) < ComplianceCacheFor && !now.Before(e.at) {
		if e.head == head {
			return e.view, nil
		}
		// The head moved: if only running runs' steps moved it, the evaluation stands.
		if ok, err := progressOnly(ctx, e.head, head); err != nil {
			return nil, err
		} else if ok {
			c.mu.Lock()
			if c.entries[key] == e && head > e.head {
				c.entries[key] = &complianceEntry{head: head, at: e.at, view: e.view}
			}
			c.mu.Unlock()
			return e.view, nil
		}
	}
	flightKey := key.profile + "\x00" + key.period + "\x00" + key.lang + "\x00" + strconv.FormatInt(head, 10)
	ch := c.flight.DoChan(flightKey, func() (any, error) {
		// Not the caller's context: the others waiting for this evaluation must not fail
		// because the first caller went away.
		v, err := evaluate(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.entries == nil {
			c.entries = map[complianceKey]*complianceEntry{}
		}
		c.entries[key] = &complianceEntry{head: head, at: now, view: v}
		c.mu.Unlock()
		return v, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*ComplianceView), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
