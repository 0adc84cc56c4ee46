package store

import "gorm.io/gorm"

// Test-only access to internals for the external store_test package.

// AllModelsForTest returns a zero value of every gorm model.
func AllModelsForTest() []any { return allModels() }

// DBForTest returns the store's gorm handle.
func (s *Store) DBForTest() *gorm.DB { return s.db }

// SetSnapshotPauseForTest has RunSnapshotGet on PostgreSQL call pause after it read the run
// row, before its other reads.
func (s *Store) SetSnapshotPauseForTest(pause func()) { s.snapshotPause = pause }

// StepResultsByGormForTest reads a run's step results as gorm scans them, to hold the
// hand-written scan of stepResultRows to it.
func (s *Store) StepResultsByGormForTest(runID string) ([]*StepResult, error) {
	var ms []stepResultModel
	if err := s.db.Where("run_id = ?", runID).Order("seq, attempt, started_at").Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make([]*StepResult, len(ms))
	for i := range ms {
		out[i] = stepResultOf(&ms[i])
	}
	return out, nil
}

// RunEventsByGormForTest reads a run's timeline as gorm scans it, to hold runEventRows to it.
func (s *Store) RunEventsByGormForTest(runID string) ([]*RunEvent, error) {
	var ms []runEventModel
	if err := s.db.Where("run_id = ?", runID).Order("seq").Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make([]*RunEvent, len(ms))
	for i := range ms {
		out[i] = runEventOf(&ms[i])
	}
	return out, nil
}
