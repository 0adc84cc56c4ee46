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
// day, a schedule's skipped fire) shows at most that late.
const ComplianceCacheFor = 15 * time.Second

// complianceCache keeps the last evaluation of each profile, period and language: at
// 100,000 runs an evaluation walks the year's runs and measurements (about a second), and the
// dashboard asks for it on every load.
//
// An entry is reused only while the audit chain's head is where it was when the evaluation
// began. Every run event (a run created, started, ended, its measurements) and every
// operation (a finding added or changed, a schedule paused) appends to the chain in the
// transaction that writes it, on every replica, so a run that ends moves the head and the
// next request evaluates again: a verdict is never stale after a run ends. The head is read
// before the evaluation, so a change that lands during it forces the next one. Concurrent
// requests for the same missing entry share one evaluation.
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

// get returns the cached view of key when it was evaluated at head less than
// ComplianceCacheFor before now, else evaluates it once (whoever else asks meanwhile waits
// for that evaluation) and keeps it. The view is shared: callers must not modify it.
func (c *complianceCache) get(ctx context.Context, key complianceKey, head int64, now time.Time,
	evaluate func(context.Context) (*ComplianceView, error)) (*ComplianceView, error) {
	c.mu.Lock()
	if e := c.entries[key]; e != nil && e.head == head && now.Sub(e.at) < ComplianceCacheFor && !now.Before(e.at) {
		c.mu.Unlock()
		return e.view, nil
	}
	c.mu.Unlock()
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
