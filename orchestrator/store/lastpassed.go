package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/firedrill/firedrill/drills"
)

// lastPassedCache keeps LastPassedRuns' answer with the audit head it was computed at.
// Which runs count as drills changes only when a run ends (or its disaster strikes), and every
// such write appends a run event to the audit chain in its transaction, on every replica: the
// answer is reused while the head has not moved, or moved only by running runs' progress
// (AuditProgressOnly). The head is read before the aggregate, so a run that ends during it
// forces the next call to compute again.
type lastPassedCache struct {
	mu     sync.Mutex
	valid  bool
	head   int64
	out    map[string]time.Time
	flight singleflight.Group
}

// lastPassedWhere is drills.CountsAsDrillOf as a condition: the run succeeded, was not
// forced, its disaster struck, and the service's RTO and RPO were both measured and met
// (MeasurementInput.Objectives). The drill's time is when the run ended.
const lastPassedWhere = `FROM measurements m JOIN runs r ON r.id = m.run_id
WHERE r.state = ? AND NOT r.forced AND r.t0 IS NOT NULL
  AND m.rto_actual_ms IS NOT NULL AND m.rto_met AND m.rpo_actual_ms IS NOT NULL AND m.rpo_met`

// lastPassedPG aggregates; SQLite would return the max of two times as untyped text, so
// lastPassedSQLite picks each service's row instead and keeps the columns' types.
const (
	lastPassedPG = `SELECT m.service AS service, max(COALESCE(r.ended_at, r.created_at)) AS ended_at, NULL AS created_at ` +
		lastPassedWhere + ` GROUP BY m.service`
	lastPassedSQLite = `SELECT service, ended_at, created_at FROM (
    SELECT m.service, r.ended_at, r.created_at,
           ROW_NUMBER() OVER (PARTITION BY m.service ORDER BY COALESCE(r.ended_at, r.created_at) DESC) AS n
    ` + lastPassedWhere + `
) AS k WHERE n = 1`
)

// LastPassedRuns returns, per service, when its latest drill ended: a run that counts as a
// drill of the service by drills.CountsAsDrillOf (succeeded, not forced, both the service's
// RTO and RPO measured and met). Services never drilled are absent. One aggregate over the
// measurements (about 0.2s at 300,000), reused while the audit head stays where it was
// (lastPassedCache): the dashboard and the history ask on every load.
func (s *Store) LastPassedRuns(ctx context.Context) (map[string]time.Time, error) {
	head, _, err := s.AuditHead(ctx)
	if err != nil {
		return nil, fmt.Errorf("last passed runs: %w", err)
	}
	c := &s.lastPassed
	c.mu.Lock()
	valid, cachedHead, cached := c.valid, c.head, c.out
	c.mu.Unlock()
	if valid && cachedHead <= head {
		ok := cachedHead == head
		if !ok {
			// Only running runs' steps since: no run that counts changed.
			if ok, err = s.AuditProgressOnly(ctx, cachedHead, head); err != nil {
				return nil, fmt.Errorf("last passed runs: %w", err)
			}
			if ok {
				c.mu.Lock()
				if c.head == cachedHead {
					c.head = head
				}
				c.mu.Unlock()
			}
		}
		if ok {
			return maps.Clone(cached), nil
		}
	}
	ch := c.flight.DoChan(fmt.Sprint(head), func() (any, error) {
		var rows []struct {
			Service   string     `gorm:"column:service"`
			EndedAt   *time.Time `gorm:"column:ended_at"`
			CreatedAt *time.Time `gorm:"column:created_at"`
		}
		q := lastPassedPG
		if s.dialect != DialectPostgres {
			q = lastPassedSQLite
		}
		// Not the caller's context: others may be waiting for this answer.
		if err := s.db.WithContext(context.WithoutCancel(ctx)).Raw(q, string(drills.RunSucceeded)).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("last passed runs: %w", translate(err))
		}
		out := make(map[string]time.Time, len(rows))
		for _, r := range rows {
			if at := cmp.Or(r.EndedAt, r.CreatedAt); at != nil {
				out[r.Service] = at.UTC()
			}
		}
		c.mu.Lock()
		if !c.valid || head >= c.head {
			c.valid, c.head, c.out = true, head, out
		}
		c.mu.Unlock()
		return out, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return maps.Clone(r.Val.(map[string]time.Time)), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
