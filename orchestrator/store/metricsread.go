package store

import (
	"context"
	"fmt"
	"time"

	"github.com/firedrill/firedrill/drills"
)

// The reads a Prometheus scrape makes (internal/metrics): each one statement, bounded by the
// number of states, leases or services, never by the number of runs returned.

// RunCountByState counts the runs in each state: one GROUP BY over runs.
func (s *Store) RunCountByState(ctx context.Context) (map[drills.RunState]int64, error) {
	var rows []struct {
		State string `gorm:"column:state"`
		N     int64  `gorm:"column:n"`
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT state, count(*) AS n FROM runs GROUP BY state`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count runs by state: %w", translate(err))
	}
	out := make(map[drills.RunState]int64, len(rows))
	for _, r := range rows {
		out[drills.RunState(r.State)] = r.N
	}
	return out, nil
}

// NotificationBacklog is the outbox as a scrape sees it.
type NotificationBacklog struct {
	// ByState counts notifications per state (pending, sent, failed).
	ByState map[string]int64
	// OldestPending is when the oldest notification still waiting to be sent was enqueued;
	// zero when none waits.
	OldestPending time.Time
}

// NotificationBacklogGet counts the outbox by state and finds its oldest pending entry (the
// second read uses notifications_due_idx's leading state column).
func (s *Store) NotificationBacklogGet(ctx context.Context) (*NotificationBacklog, error) {
	var rows []struct {
		State string `gorm:"column:state"`
		N     int64  `gorm:"column:n"`
	}
	db := s.db.WithContext(ctx)
	if err := db.Raw(`SELECT state, count(*) AS n FROM notifications GROUP BY state`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count notifications by state: %w", translate(err))
	}
	out := &NotificationBacklog{ByState: make(map[string]int64, len(rows))}
	for _, r := range rows {
		out.ByState[r.State] = r.N
	}
	var oldest []notificationModel
	if err := db.Where("state = ?", NotificationPending).Order("created_at").Limit(1).Find(&oldest).Error; err != nil {
		return nil, fmt.Errorf("oldest pending notification: %w", translate(err))
	}
	if len(oldest) == 1 {
		out.OldestPending = oldest[0].CreatedAt.UTC()
	}
	return out, nil
}

// RunLeases says who holds the leases of the runs that are not over.
type RunLeases struct {
	// Holders is the number of distinct replicas holding an unexpired run lease.
	Holders int64
	// Orphaned counts started runs that are not over and whose lease expired: no replica
	// carries them until one claims them again.
	Orphaned int64
}

// RunLeasesGet counts the replicas holding run leases at now, and the runs nobody holds.
func (s *Store) RunLeasesGet(ctx context.Context, now time.Time) (*RunLeases, error) {
	active := []string{string(drills.RunRunning), string(drills.RunWaitingOperator)}
	var out RunLeases
	db := s.db.WithContext(ctx)
	if err := db.Raw(`SELECT count(DISTINCT lease_owner) FROM runs WHERE state IN ? AND lease_expires_at > ?`, active, utcMS(now)).
		Scan(&out.Holders).Error; err != nil {
		return nil, fmt.Errorf("count run lease holders: %w", translate(err))
	}
	if err := db.Raw(`SELECT count(*) FROM runs WHERE state IN ? AND (lease_expires_at IS NULL OR lease_expires_at <= ?)`, active, utcMS(now)).
		Scan(&out.Orphaned).Error; err != nil {
		return nil, fmt.Errorf("count orphaned runs: %w", translate(err))
	}
	return &out, nil
}

// ServiceMeasured is the RTO and RPO last measured for a service: those of the latest ended
// run that measured its RTO.
type ServiceMeasured struct {
	Service string
	RunID   string
	EndedAt time.Time
	RTO     time.Duration
	// RPO is nil when that run did not measure data loss.
	RPO *time.Duration
	// RTOObjective and RPOObjective are the objectives the run measured against.
	RTOObjective, RPOObjective time.Duration
}

// serviceMeasuredQuery picks each service's latest measured row; ROW_NUMBER keeps the
// columns' types on both dialects.
const serviceMeasuredQuery = `SELECT service, run_id, ended_at, rto_actual_ms, rpo_actual_ms, rto_objective_ms, rpo_objective_ms FROM (
    SELECT m.service, m.run_id, r.ended_at, m.rto_actual_ms, m.rpo_actual_ms, m.rto_objective_ms, m.rpo_objective_ms,
           ROW_NUMBER() OVER (PARTITION BY m.service ORDER BY r.ended_at DESC, r.id DESC) AS n
    FROM measurements m JOIN runs r ON r.id = m.run_id
    WHERE r.ended_at IS NOT NULL AND m.rto_actual_ms IS NOT NULL
) AS k WHERE n = 1 ORDER BY service`

// ServiceMeasuredList returns, per service, its last measured RTO and RPO; services never
// measured are absent. It reads every measurement: callers reuse its answer while the audit
// head (AuditHead) has not moved, as a run's end always moves it.
func (s *Store) ServiceMeasuredList(ctx context.Context) ([]ServiceMeasured, error) {
	var rows []struct {
		Service        string     `gorm:"column:service"`
		RunID          string     `gorm:"column:run_id"`
		EndedAt        *time.Time `gorm:"column:ended_at"`
		RTOActualMS    int64      `gorm:"column:rto_actual_ms"`
		RPOActualMS    *int64     `gorm:"column:rpo_actual_ms"`
		RTOObjectiveMS int64      `gorm:"column:rto_objective_ms"`
		RPOObjectiveMS int64      `gorm:"column:rpo_objective_ms"`
	}
	if err := s.db.WithContext(ctx).Raw(serviceMeasuredQuery).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("last measured objectives: %w", translate(err))
	}
	out := make([]ServiceMeasured, 0, len(rows))
	for _, r := range rows {
		m := ServiceMeasured{
			Service: r.Service, RunID: r.RunID, RTO: time.Duration(r.RTOActualMS) * time.Millisecond,
			RTOObjective: time.Duration(r.RTOObjectiveMS) * time.Millisecond, RPOObjective: time.Duration(r.RPOObjectiveMS) * time.Millisecond,
		}
		if r.EndedAt != nil {
			m.EndedAt = r.EndedAt.UTC()
		}
		if r.RPOActualMS != nil {
			d := time.Duration(*r.RPOActualMS) * time.Millisecond
			m.RPO = &d
		}
		out = append(out, m)
	}
	return out, nil
}

// RunLeasesLapsed counts the runs owner holds, not over, whose lease expired at now: the
// owner's renewals did not reach the database for a whole lease.
func (s *Store) RunLeasesLapsed(ctx context.Context, owner string, now time.Time) (int64, error) {
	active := []string{string(drills.RunRunning), string(drills.RunWaitingOperator)}
	var n int64
	if err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM runs WHERE lease_owner = ? AND state IN ? AND lease_expires_at <= ?`, owner, active, utcMS(now)).
		Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("count lapsed run leases of %s: %w", owner, translate(err))
	}
	return n, nil
}
