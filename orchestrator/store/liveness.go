package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// schedulerReplicaRetention is how long a replica's liveness is kept after it was last seen.
const schedulerReplicaRetention = 30 * 24 * time.Hour

// SchedulerReplica is when one scheduler replica was alive without a break: from StartedAt to
// SeenAt, its latest pass.
type SchedulerReplica struct {
	Owner     string
	StartedAt time.Time
	SeenAt    time.Time
}

// AliveAt reports whether the replica was alive at t, give or take slack.
func (r *SchedulerReplica) AliveAt(t time.Time, slack time.Duration) bool {
	return !r.StartedAt.After(t.Add(slack)) && !r.SeenAt.Before(t.Add(-slack))
}

// SchedulerHeartbeatParams are the arguments of SchedulerHeartbeat.
type SchedulerHeartbeatParams struct {
	// Owner names the replica (unique per process). Required.
	Owner string
	// Gap: a heartbeat more than Gap after the previous one starts a new span of liveness (the
	// replica was not deciding in between). Required.
	Gap time.Duration
	// At defaults to the clock's now.
	At time.Time
}

// SchedulerHeartbeat records that the replica is alive at p.At: it extends the replica's
// current span, or starts a new one after a gap longer than p.Gap. Spans last seen more than
// 30 days ago are dropped.
func (s *Store) SchedulerHeartbeat(ctx context.Context, p *SchedulerHeartbeatParams) error {
	if p == nil || p.Owner == "" || p.Gap <= 0 {
		return errors.New("scheduler heartbeat: Owner and a positive Gap are required")
	}
	at := s.now(p.At)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fresh := schedulerReplicaModel{Owner: p.Owner, StartedAt: at, SeenAt: at}
		ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&fresh)
		if ins.Error != nil || ins.RowsAffected == 1 {
			return ins.Error
		}
		var cur schedulerReplicaModel
		q := tx
		if s.dialect == DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
		}
		if err := q.Where("owner = ?", p.Owner).Take(&cur).Error; err != nil {
			return err
		}
		set := map[string]any{"seen_at": at}
		if at.Sub(cur.SeenAt) > p.Gap || at.Before(cur.StartedAt) {
			set["started_at"] = at
		}
		if err := tx.Model(&schedulerReplicaModel{}).Where("owner = ?", p.Owner).UpdateColumns(set).Error; err != nil {
			return err
		}
		return tx.Where("seen_at < ?", at.Add(-schedulerReplicaRetention)).Delete(&schedulerReplicaModel{}).Error
	})
	if err != nil {
		return fmt.Errorf("scheduler heartbeat %s: %w", p.Owner, translate(err))
	}
	return nil
}

// SchedulerReplicasBetween returns the replicas' spans of liveness that overlap [from, to].
func (s *Store) SchedulerReplicasBetween(ctx context.Context, from, to time.Time) ([]*SchedulerReplica, error) {
	var ms []schedulerReplicaModel
	if err := s.db.WithContext(ctx).Where("seen_at >= ? AND started_at <= ?", utcMS(from), utcMS(to)).
		Order("owner").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("scheduler replicas between %s and %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), translate(err))
	}
	out := make([]*SchedulerReplica, len(ms))
	for i, m := range ms {
		out[i] = &SchedulerReplica{Owner: m.Owner, StartedAt: m.StartedAt.UTC(), SeenAt: m.SeenAt.UTC()}
	}
	return out, nil
}
