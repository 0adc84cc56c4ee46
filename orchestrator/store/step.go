package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/firedrill/firedrill/drills"
)

// StepStartParams are the arguments of StepStart.
type StepStartParams struct {
	// ID is the step result's ID (a UUID); empty means a new one. A caller that retries a
	// StepStart whose first attempt may have committed passes the same ID each time, so that
	// ErrDuplicate on the retry can be told apart from a real duplicate.
	ID    string
	RunID string
	Epoch int64
	// Seq orders the step within the run's plan.
	Seq     int
	Key     string
	Name    string
	Action  string
	Site    string
	Service string
	// Attempt counts from 1; 0 means 1.
	Attempt    int
	Idempotent bool
	Timeout    time.Duration
	// At defaults to the clock's now.
	At time.Time
}

// StepStart records that a step attempt is about to run (state running) and its step_started
// event, and returns the step result's ID. It commits before the action is called, so a
// takeover knows the step may have had effects. ErrDuplicate if this attempt was already
// started. Fenced.
func (s *Store) StepStart(ctx context.Context, p *StepStartParams) (string, error) {
	if p == nil || p.RunID == "" || p.Key == "" || p.Action == "" {
		return "", errors.New("step start: RunID, Key and Action are required")
	}
	attempt := p.Attempt
	if attempt == 0 {
		attempt = 1
	}
	if attempt < 0 || p.Seq < 0 || p.Timeout < 0 {
		return "", fmt.Errorf("step start %s/%s: Seq, Attempt and Timeout must not be negative", p.RunID, p.Key)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("step start %s/%s: %w", p.RunID, p.Key, err)
	}
	if p.ID != "" {
		if id, err = uuid.Parse(p.ID); err != nil {
			return "", fmt.Errorf("step start %s/%s: ID: %w", p.RunID, p.Key, err)
		}
	}
	at := s.now(p.At)
	if s.dialect == DialectPostgres {
		if err := s.stepStartPostgres(ctx, p, id.String(), attempt, at); err != nil {
			return "", fmt.Errorf("step start %s/%s attempt %d: %w", p.RunID, p.Key, attempt, err)
		}
		return id.String(), nil
	}
	err = s.fencedTx(ctx, p.RunID, p.Epoch, at, func(tx *gorm.DB, _ *fenceRow) error {
		m := stepResultModel{
			ID:         id.String(),
			RunID:      p.RunID,
			Seq:        p.Seq,
			StepKey:    p.Key,
			StepName:   p.Name,
			Action:     p.Action,
			Site:       p.Site,
			Service:    p.Service,
			Attempt:    attempt,
			State:      string(drills.StepRunning),
			Idempotent: p.Idempotent,
			TimeoutMS:  msOf(p.Timeout),
			StartedAt:  at,
		}
		if err := tx.Create(&m).Error; err != nil {
			return translate(err)
		}
		return appendEvent(tx, p.RunID, at, EventStepStarted, p.Key, p.Action, map[string]any{
			"step_id": m.ID, "seq": p.Seq, "attempt": attempt, "action": p.Action,
			"site": p.Site, "service": p.Service, "idempotent": p.Idempotent,
			"timeout_ms": msOf(p.Timeout),
		})
	})
	if err != nil {
		return "", fmt.Errorf("step start %s/%s attempt %d: %w", p.RunID, p.Key, attempt, err)
	}
	return id.String(), nil
}

// StepFinishParams are the arguments of StepFinish.
type StepFinishParams struct {
	RunID  string
	Epoch  int64
	StepID string
	// State is the outcome; it must not be running.
	State drills.StepState
	Error string
	// Evidence is a JSON document (stored as jsonb on PostgreSQL, so it round-trips by value,
	// not byte for byte); empty means none.
	Evidence json.RawMessage
	// At defaults to the clock's now.
	At time.Time
}

// StepFinish records a step attempt's outcome, its duration since started_at, and its
// step_finished event. A step result is finished once: a second StepFinish fails with
// ErrStepFinished. Fenced.
func (s *Store) StepFinish(ctx context.Context, p *StepFinishParams) error {
	if p == nil || p.RunID == "" || p.StepID == "" {
		return errors.New("step finish: RunID and StepID are required")
	}
	if p.State == "" || p.State == drills.StepRunning {
		return fmt.Errorf("step finish %s: state %q is not an outcome", p.StepID, p.State)
	}
	if err := checkJSON(p.Evidence); err != nil {
		return fmt.Errorf("step finish %s: evidence: %w", p.StepID, err)
	}
	at := s.now(p.At)
	if s.dialect == DialectPostgres {
		if err := s.stepFinishPostgres(ctx, p, at); err != nil {
			return fmt.Errorf("step finish %s/%s as %s: %w", p.RunID, p.StepID, p.State, err)
		}
		return nil
	}
	err := s.fencedTx(ctx, p.RunID, p.Epoch, at, func(tx *gorm.DB, _ *fenceRow) error {
		var m stepResultModel
		if err := tx.Where("id = ? AND run_id = ?", p.StepID, p.RunID).Take(&m).Error; err != nil {
			return translate(err)
		}
		if m.EndedAt != nil {
			return fmt.Errorf("%w as %s", ErrStepFinished, m.State)
		}
		dur := max(at.Sub(m.StartedAt), 0)
		durMS := msOf(dur)
		if err := tx.Model(&stepResultModel{}).Where("id = ?", p.StepID).UpdateColumns(map[string]any{
			"state":       string(p.State),
			"ended_at":    at,
			"duration_ms": durMS,
			"error":       p.Error,
			"evidence":    jsonDocOf(p.Evidence),
		}).Error; err != nil {
			return err
		}
		return appendEvent(tx, p.RunID, at, EventStepFinished, m.StepKey, p.Error, map[string]any{
			"step_id": m.ID, "attempt": m.Attempt, "state": p.State, "duration_ms": durMS,
		})
	})
	if err != nil {
		return fmt.Errorf("step finish %s/%s as %s: %w", p.RunID, p.StepID, p.State, err)
	}
	return nil
}

func checkJSON(raw json.RawMessage) error {
	if len(raw) > 0 && !json.Valid(raw) {
		return errors.New("not valid JSON")
	}
	return nil
}

// StepResultList returns the run's step results by seq, then attempt. An unknown run has none.
func (s *Store) StepResultList(ctx context.Context, runID string) ([]*StepResult, error) {
	return stepResultList(s.db.WithContext(ctx), runID)
}

func stepResultList(db *gorm.DB, runID string) ([]*StepResult, error) {
	ms, err := stepResultRows(db, runID)
	if err != nil {
		return nil, fmt.Errorf("step result list %s: %w", runID, translate(err))
	}
	out := make([]*StepResult, len(ms))
	for i := range ms {
		out[i] = stepResultOf(&ms[i])
	}
	return out, nil
}

// stepResultRows reads the run's step results, scanned by hand: every view of a run reads
// them, and gorm's reflection over their 17 columns cost more than the rows.
func stepResultRows(db *gorm.DB, runID string) ([]stepResultModel, error) {
	rs, err := db.Raw(stepResultsSQL+"?"+stepResultsOrder, runID).Rows()
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	return scanStepResults(rs)
}

// stepResultsSQL, the run's id, then stepResultsOrder is the read scanStepResults scans.
const (
	stepResultsSQL = `SELECT id, run_id, seq, step_key, step_name, action, site, service, attempt, state, idempotent,
        timeout_ms, started_at, ended_at, duration_ms, error, evidence
        FROM step_results WHERE run_id = `
	stepResultsOrder = ` ORDER BY seq, attempt, started_at`
)

func scanStepResults(rs rowScanner) ([]stepResultModel, error) {
	var ms []stepResultModel
	for rs.Next() {
		var m stepResultModel
		if err := rs.Scan(&m.ID, &m.RunID, &m.Seq, &m.StepKey, &m.StepName, &m.Action, &m.Site, &m.Service, &m.Attempt, &m.State,
			&m.Idempotent, &m.TimeoutMS, &m.StartedAt, &m.EndedAt, &m.DurationMS, &m.Error, &m.Evidence); err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, rs.Err()
}

// MeasurementList returns the run's measurements by service name. An unknown run has none.
func (s *Store) MeasurementList(ctx context.Context, runID string) ([]*Measurement, error) {
	return measurementList(s.db.WithContext(ctx), runID)
}

func measurementList(db *gorm.DB, runID string) ([]*Measurement, error) {
	var ms []measurementModel
	if err := db.Where("run_id = ?", runID).Order("service").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("measurement list %s: %w", runID, translate(err))
	}
	out := make([]*Measurement, len(ms))
	for i := range ms {
		out[i] = measurementOf(&ms[i])
	}
	return out, nil
}

// MeasurementListRuns returns the measurements of each of runIDs, by run and then by service
// name. Runs with none are absent.
func (s *Store) MeasurementListRuns(ctx context.Context, runIDs []string) (map[string][]*Measurement, error) {
	out := map[string][]*Measurement{}
	if len(runIDs) == 0 {
		return out, nil
	}
	ms, err := scanModels(s.db.WithContext(ctx).Raw(`SELECT `+measurementColumns.list("")+` FROM measurements WHERE run_id IN ? ORDER BY run_id, service`, runIDs), measurementColumns)
	if err != nil {
		return nil, fmt.Errorf("measurement list of %d runs: %w", len(runIDs), translate(err))
	}
	for i := range ms {
		out[ms[i].RunID] = append(out[ms[i].RunID], measurementOf(&ms[i]))
	}
	return out, nil
}

// RunEventList returns the run's timeline by seq. An unknown run has none.
func (s *Store) RunEventList(ctx context.Context, runID string) ([]*RunEvent, error) {
	return runEventList(s.db.WithContext(ctx), runID)
}

func runEventList(db *gorm.DB, runID string) ([]*RunEvent, error) {
	var ms []runEventModel
	if err := db.Where("run_id = ?", runID).Order("seq").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("run event list %s: %w", runID, translate(err))
	}
	out := make([]*RunEvent, len(ms))
	for i := range ms {
		out[i] = runEventOf(&ms[i])
	}
	return out, nil
}

// RunEventListAfter returns up to limit of the run's timeline events numbered after seq, by
// seq: what a follower of a running run has not seen yet. Numbers are gapless and taken under
// the run row's lock, so an event numbered after seq never commits before one numbered
// before it: reading after the last seq seen misses nothing. An unknown run has none.
func (s *Store) RunEventListAfter(ctx context.Context, runID string, seq, limit int) ([]*RunEvent, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("run event list %s after %d: limit must be positive", runID, seq)
	}
	var ms []runEventModel
	if err := s.db.WithContext(ctx).Where("run_id = ? AND seq > ?", runID, seq).Order("seq").Limit(limit).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("run event list %s after %d: %w", runID, seq, translate(err))
	}
	out := make([]*RunEvent, len(ms))
	for i := range ms {
		out[i] = runEventOf(&ms[i])
	}
	return out, nil
}

// RunEventAppendParams are the arguments of RunEventAppend.
type RunEventAppendParams struct {
	RunID   string
	Epoch   int64
	Kind    string
	StepKey string
	Message string
	// Data is JSON-encoded into the event.
	Data any
	// At defaults to the clock's now.
	At time.Time
}

// RunEventAppend adds an entry to a run's timeline that no other write records (a probe's
// summary, a canary's last row). Fenced.
func (s *Store) RunEventAppend(ctx context.Context, p *RunEventAppendParams) error {
	if p == nil || p.RunID == "" || p.Kind == "" {
		return errors.New("run event append: RunID and Kind are required")
	}
	at := s.now(p.At)
	err := s.fencedTx(ctx, p.RunID, p.Epoch, at, func(tx *gorm.DB, _ *fenceRow) error {
		return appendEvent(tx, p.RunID, at, p.Kind, p.StepKey, p.Message, p.Data)
	})
	if err != nil {
		return fmt.Errorf("append %s event to run %s: %w", p.Kind, p.RunID, err)
	}
	return nil
}
