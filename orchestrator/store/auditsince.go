package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// progressKinds are the run events that change no run that is over, no finding and no
// schedule: a running run's steps, its claim and its milestones. A run that ends writes
// run_finished (or run_state), an operation writes an operation row: neither is progress.
var progressKinds = []string{EventStepStarted, EventStepFinished, EventRunClaimed, EventMilestone}

// maxProgressRows bounds what AuditProgressOnly reads: past it, it answers false.
const maxProgressRows = 5000

// AuditProgressOnly reports whether every audit row after seq after, up to upTo, is the
// progress of a running run (progressKinds): then whatever was computed from the ended runs,
// the findings and the schedules when the head was at after still holds at upTo. The audit
// chain is appended under one row lock in each writer's transaction, so a reader that sees
// the head at upTo sees every row up to it. More than maxProgressRows rows answer false.
func (s *Store) AuditProgressOnly(ctx context.Context, after, upTo int64) (bool, error) {
	if upTo < after {
		return false, nil
	}
	if upTo-after > maxProgressRows {
		return false, nil
	}
	var rows []struct {
		Source  string `gorm:"column:source"`
		Content string `gorm:"column:content"`
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT source, content FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq`, after, upTo).
		Scan(&rows).Error; err != nil {
		return false, fmt.Errorf("audit rows %d-%d: %w", after+1, upTo, translate(err))
	}
	if int64(len(rows)) != upTo-after {
		return false, nil // a gap: not a chain this function can vouch for
	}
	for _, r := range rows {
		if r.Source != AuditSourceRunEvent {
			return false, nil
		}
		var c struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(r.Content), &c); err != nil || !slices.Contains(progressKinds, c.Kind) {
			return false, nil
		}
	}
	return true, nil
}
