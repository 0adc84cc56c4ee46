package control

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// ComplianceCacheFor is how long an evaluation is reused while nothing audited changed; an
// older one, up to complianceStaleFor, is still answered while a new one is made in the
// background. So what changes a verdict without an audited write (time passing a due date or
// a finding's due day, a schedule's skipped fire) shows at most that late plus one
// evaluation's time. So does a run another replica ended at an instant still ahead of this
// replica's clock (the evaluation counts the runs ended before its now), once this clock has
// passed it.
//
// Five minutes: the verdicts that move with time alone change on days (a drill falling due, a
// finding passing its due day), and at 100,000 runs each renewal costs seconds of both CPUs of
// a small server, which every page served meanwhile feels.
const ComplianceCacheFor = 5 * time.Minute

// complianceStaleFor bounds the age of an evaluation answered while a new one is made: past
// it (nobody asked for a while) the caller waits for the new one.
const complianceStaleFor = 3 * ComplianceCacheFor

// complianceCache keeps the last evaluation of each profile, period and language: at
// 100,000 runs an evaluation walks the year's runs and measurements (seconds), and the
// dashboard asks for it on every load.
//
// An entry is reused only while the audit chain's head is where it was when the evaluation
// began. Every run event (a run created, started, ended, its measurements) and every
// operation (a finding added or changed, a schedule paused) appends to the chain in the
// transaction that writes it, on every replica, so a run that ends moves the head and the
// next request waits for a new evaluation: a verdict is never stale after a run ends. The
// steps of a running drill move the head too but change no input of the evaluation: when
// every row since the entry's head is such progress (store.AuditProgressOnly), the entry
// stands, so a drill in progress does not make every dashboard load evaluate again. The head
// is read before the evaluation, so a change that lands during it forces the next one.
// Concurrent requests for the same evaluation share it.
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

// get returns the view of key evaluated at head, or at an earlier head that only running
// runs' progress moved since (progressOnly: store.AuditProgressOnly): at once when it is
// younger than ComplianceCacheFor; when younger than complianceStaleFor too, a new evaluation
// starting in the background. Otherwise it evaluates (whoever else asks meanwhile waits for
// that evaluation) and keeps the result. The view is shared: callers must not modify it.
func (c *complianceCache) get(ctx context.Context, key complianceKey, head int64, now time.Time,
	progressOnly func(ctx context.Context, after, upTo int64) (bool, error),
	evaluate func(context.Context) (*ComplianceView, error)) (*ComplianceView, error) {
	c.mu.Lock()
	e := c.entries[key]
	c.mu.Unlock()
	if e != nil && e.head <= head && !now.Before(e.at) && now.Sub(e.at) < complianceStaleFor {
		current := e.head == head
		if !current {
			ok, err := progressOnly(ctx, e.head, head)
			if err != nil {
				return nil, err
			}
			if current = ok; ok {
				c.mu.Lock()
				if c.entries[key] == e {
					c.entries[key] = &complianceEntry{head: head, at: e.at, view: e.view}
				}
				c.mu.Unlock()
			}
		}
		if current {
			if now.Sub(e.at) >= ComplianceCacheFor {
				c.evaluate(ctx, key, head, now, evaluate) // in the background
			}
			return e.view, nil
		}
	}
	select {
	case r := <-c.evaluate(ctx, key, head, now, evaluate):
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*ComplianceView), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// evaluate starts the evaluation of key at head, or joins the one under way, and keeps its
// result.
func (c *complianceCache) evaluate(ctx context.Context, key complianceKey, head int64, now time.Time,
	evaluate func(context.Context) (*ComplianceView, error)) <-chan singleflight.Result {
	flightKey := key.profile + "\x00" + key.period + "\x00" + key.lang + "\x00" + strconv.FormatInt(head, 10)
	return c.flight.DoChan(flightKey, func() (any, error) {
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
		if old := c.entries[key]; old == nil || old.head <= head {
			c.entries[key] = &complianceEntry{head: head, at: now, view: v}
		}
		c.mu.Unlock()
		return v, nil
	})
}
