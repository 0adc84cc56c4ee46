package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/firedrill/firedrill/drills"
)

// Outcomes of a recorded operation.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied"
	OutcomeFailed = "failed"
)

// Operation is one recorded control operation: who did (or tried) what to which target, and
// how it went. The operations table is append-only: the database refuses updates and deletes.
type Operation struct {
	ID int64
	At time.Time
	// Actor is who acted; zero for a caller that could not be authenticated.
	Actor drills.Actor
	// Operation names it ("run.approve").
	Operation string
	// Target is what it acted on: a run ID, a user, a schedule, a token ID; empty for none.
	Target string
	// Outcome is OutcomeOK, OutcomeDenied or OutcomeFailed.
	Outcome string
	// Message says what happened, safe to show.
	Message string
	// Detail is a JSON document of the operation's parameters and results; nil for none.
	Detail json.RawMessage
}

// OperationRecordParams are the arguments of OperationRecord.
type OperationRecordParams struct {
	// Actor is who acted; zero for an unauthenticated caller.
	Actor     drills.Actor
	Operation string
	Target    string
	Outcome   string
	Message   string
	// Detail is JSON-encoded; nil for none. It must hold no secret.
	Detail any
	// At defaults to the clock's now.
	At time.Time
}

// OperationRecord appends an operation to the operations log.
func (s *Store) OperationRecord(ctx context.Context, p *OperationRecordParams) (*Operation, error) {
	return inTx(ctx, s, p, s.OperationRecordTx)
}

// OperationRecordTx is OperationRecord in tx: the record commits with what the operation did.
func (s *Store) OperationRecordTx(ctx context.Context, tx *Tx, p *OperationRecordParams) (*Operation, error) {
	if p == nil || p.Operation == "" {
		return nil, errors.New("record operation: Operation is required")
	}
	switch p.Outcome {
	case OutcomeOK, OutcomeDenied, OutcomeFailed:
	default:
		return nil, fmt.Errorf("record operation %s: outcome %q is not one of ok, denied, failed", p.Operation, p.Outcome)
	}
	if !p.Actor.IsZero() {
		if err := checkActor("record operation "+p.Operation, p.Actor); err != nil {
			return nil, err
		}
	}
	m := operationModel{At: s.now(p.At), Actor: colsOf(p.Actor), Operation: p.Operation, Target: p.Target,
		Outcome: p.Outcome, Message: p.Message}
	if p.Detail != nil {
		b, err := json.Marshal(p.Detail)
		if err != nil {
			return nil, fmt.Errorf("record operation %s: detail: %w", p.Operation, err)
		}
		d := jsonDoc(b)
		m.Detail = &d
	}
	if err := tx.with(ctx).Create(&m).Error; err != nil {
		return nil, fmt.Errorf("record operation %s: %w", p.Operation, translate(err))
	}
	if isSQLite(tx.db) {
		// On PostgreSQL a trigger appends the audit row (migration 00007).
		if err := auditAppendSQLite(tx.with(ctx), AuditSourceOperation, "", m.ID, m.At, operationContent(&m)); err != nil {
			return nil, fmt.Errorf("record operation %s: %w", p.Operation, translate(err))
		}
	}
	return operationOf(&m), nil
}

// OperationListParams filter OperationList.
type OperationListParams struct {
	// Operation, Target, ActorName and Outcome, when set, keep the matching records.
	Operation string
	Target    string
	ActorName string
	Outcome   string
	// Limit defaults to 100, at most 1000.
	Limit int
}

// OperationList returns recorded operations, newest first.
func (s *Store) OperationList(ctx context.Context, p *OperationListParams) ([]*Operation, error) {
	if p == nil {
		p = &OperationListParams{}
	}
	limit := pageLimit(p.Limit, 100, 1000)
	q := s.db.WithContext(ctx).Model(&operationModel{})
	if p.Operation != "" {
		q = q.Where("operation = ?", p.Operation)
	}
	if p.Target != "" {
		q = q.Where("target = ?", p.Target)
	}
	if p.ActorName != "" {
		q = q.Where("actor_name = ?", p.ActorName)
	}
	if p.Outcome != "" {
		q = q.Where("outcome = ?", p.Outcome)
	}
	var ms []operationModel
	if err := q.Order("id DESC").Limit(limit).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("list operations: %w", translate(err))
	}
	out := make([]*Operation, len(ms))
	for i := range ms {
		out[i] = operationOf(&ms[i])
	}
	return out, nil
}

func operationOf(m *operationModel) *Operation {
	return &Operation{
		ID: m.ID, At: m.At.UTC(), Actor: m.Actor.actor(), Operation: m.Operation, Target: m.Target,
		Outcome: m.Outcome, Message: m.Message, Detail: rawOf(m.Detail),
	}
}
