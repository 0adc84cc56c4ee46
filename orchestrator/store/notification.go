package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// States of a notification.
const (
	// NotificationPending: waiting to be sent, or to be retried at NextAttemptAt.
	NotificationPending = "pending"
	// NotificationSent: the receiver accepted it.
	NotificationSent = "sent"
	// NotificationFailed: given up after the sender's last attempt.
	NotificationFailed = "failed"
)

// NotificationClaimLease is how far NotificationClaimDue pushes a claimed notification's
// next_attempt_at: while a sender holds it, no other replica claims it again. A sender must
// record the result (NotificationResult) well within it; if it dies instead, the notification
// is claimed again once the lease has passed.
const NotificationClaimLease = time.Minute

// ErrNotificationDone means a result was recorded for a notification that is no longer
// pending (it was sent or given up already, e.g. by a replica that claimed it after a lease
// ran out).
var ErrNotificationDone = errors.New("notification is no longer pending")

// Notification is one message to one channel, written when an event happens and delivered by
// a sender with retries (the outbox pattern), so a slow or failing receiver never blocks a
// drill and nothing is lost across a restart.
type Notification struct {
	ID string
	// RunID is empty for notifications that concern no run (a service overdue).
	RunID   string
	Event   string
	Channel string
	// Payload is the JSON document the sender renders; stored as jsonb on PostgreSQL, so it
	// round-trips by value, not byte for byte.
	Payload json.RawMessage
	State   string
	// Attempts counts the sends whose result was recorded.
	Attempts      int
	NextAttemptAt time.Time
	// LastError is the last failed attempt's error (as the sender recorded it).
	LastError string
	CreatedAt time.Time
	SentAt    *time.Time
}

// NotificationEnqueueParams are the arguments of NotificationEnqueue.
type NotificationEnqueueParams struct {
	// RunID is optional: empty stores NULL.
	RunID string
	// Event and Channel are required.
	Event   string
	Channel string
	// Payload is JSON-encoded (a json.RawMessage is stored as is, once validated); required.
	Payload any
	// At is when the notification was raised and becomes due. Defaults to the clock's now.
	At time.Time
}

// NotificationEnqueue stores a pending notification, due at p.At.
func (s *Store) NotificationEnqueue(ctx context.Context, p *NotificationEnqueueParams) (*Notification, error) {
	if p == nil || p.Event == "" || p.Channel == "" {
		return nil, errors.New("notification enqueue: Event and Channel are required")
	}
	if p.Payload == nil {
		return nil, fmt.Errorf("notification enqueue %s to %s: Payload is required", p.Event, p.Channel)
	}
	payload, err := json.Marshal(p.Payload)
	if err != nil {
		return nil, fmt.Errorf("notification enqueue %s to %s: payload: %w", p.Event, p.Channel, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("notification enqueue %s to %s: %w", p.Event, p.Channel, err)
	}
	at := s.now(p.At)
	m := notificationModel{
		ID:            id.String(),
		Event:         p.Event,
		Channel:       p.Channel,
		Payload:       jsonDoc(payload),
		State:         NotificationPending,
		NextAttemptAt: at,
		CreatedAt:     at,
	}
	if p.RunID != "" {
		m.RunID = &p.RunID
	}
	if err := s.db.WithContext(ctx).Create(&m).Error; err != nil {
		return nil, fmt.Errorf("notification enqueue %s to %s: %w", p.Event, p.Channel, translate(err))
	}
	return notificationOf(&m), nil
}

// NotificationClaimDue returns up to limit pending notifications due at now (next_attempt_at
// <= now), oldest due first, and in the same transaction moves their next_attempt_at to
// now+NotificationClaimLease, so that another replica polling meanwhile does not send them
// too. On PostgreSQL rows another transaction is claiming are skipped (FOR UPDATE SKIP
// LOCKED); SQLite has a single writer. The returned records carry the new next_attempt_at.
func (s *Store) NotificationClaimDue(ctx context.Context, now time.Time, limit int) ([]*Notification, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("notification claim: limit must be positive, got %d", limit)
	}
	// Times are stored UTC with ms precision in one format on SQLite, so comparing them there
	// (as text) orders them correctly.
	at := s.now(now)
	until := utcMS(at.Add(NotificationClaimLease))
	var ms []notificationModel
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Where("state = ? AND next_attempt_at <= ?", NotificationPending, at).
			Order("next_attempt_at, id").Limit(limit)
		if s.dialect == DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked})
		}
		if err := q.Find(&ms).Error; err != nil {
			return err
		}
		if len(ms) == 0 {
			return nil
		}
		ids := make([]string, len(ms))
		for i := range ms {
			ids[i] = ms[i].ID
			ms[i].NextAttemptAt = until
		}
		return tx.Model(&notificationModel{}).Where("id IN ?", ids).UpdateColumn("next_attempt_at", until).Error
	})
	if err != nil {
		return nil, fmt.Errorf("notification claim due at %s: %w", at.Format(time.RFC3339Nano), translate(err))
	}
	out := make([]*Notification, len(ms))
	for i := range ms {
		out[i] = notificationOf(&ms[i])
	}
	return out, nil
}

// NotificationResultParams are the arguments of NotificationResult.
type NotificationResultParams struct {
	ID string
	// SentAt, when set, says it was sent then.
	SentAt *time.Time
	// Error is the attempt's error, stored as last_error as given: keep secrets out of it.
	Error string
	// NextAttempt, when set (and SentAt is not), makes it due again then.
	NextAttempt *time.Time
}

// NotificationResult records the outcome of one attempt to send a pending notification and
// counts the attempt:
//   - SentAt set: sent at SentAt;
//   - otherwise NextAttempt set: pending again, due at NextAttempt, with Error as last_error;
//   - neither: failed for good, with Error as last_error.
//
// ErrNotFound for an unknown ID, ErrNotificationDone if the notification is no longer pending.
func (s *Store) NotificationResult(ctx context.Context, p *NotificationResultParams) error {
	if p == nil {
		p = &NotificationResultParams{}
	}
	id, sentAt, errMsg, nextAttempt := p.ID, p.SentAt, p.Error, p.NextAttempt
	if id == "" {
		return errors.New("notification result: id is required")
	}
	cols := map[string]any{
		"attempts":   gorm.Expr("attempts + 1"),
		"last_error": errMsg,
	}
	outcome := NotificationFailed
	switch {
	case sentAt != nil:
		outcome = NotificationSent
		cols["sent_at"] = utcMS(*sentAt)
	case nextAttempt != nil:
		outcome = NotificationPending
		cols["next_attempt_at"] = utcMS(*nextAttempt)
	}
	cols["state"] = outcome
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&notificationModel{}).Where("id = ? AND state = ?", id, NotificationPending).UpdateColumns(cols)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			return nil
		}
		var cur notificationModel
		if err := tx.Where("id = ?", id).Take(&cur).Error; err != nil {
			return err
		}
		return fmt.Errorf("%w: it is %s", ErrNotificationDone, cur.State)
	})
	if err != nil {
		return fmt.Errorf("notification result %s as %s: %w", id, outcome, translate(err))
	}
	return nil
}

// NotificationList returns a run's notifications, oldest first. An empty runID lists the
// notifications that concern no run. An unknown run has none.
func (s *Store) NotificationList(ctx context.Context, runID string) ([]*Notification, error) {
	q := s.db.WithContext(ctx)
	if runID == "" {
		q = q.Where("run_id IS NULL")
	} else {
		q = q.Where("run_id = ?", runID)
	}
	var ms []notificationModel
	if err := q.Order("created_at, id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("notification list %q: %w", runID, translate(err))
	}
	out := make([]*Notification, len(ms))
	for i := range ms {
		out[i] = notificationOf(&ms[i])
	}
	return out, nil
}

// NotificationGet returns one notification, or ErrNotFound.
func (s *Store) NotificationGet(ctx context.Context, id string) (*Notification, error) {
	var m notificationModel
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("notification get %s: %w", id, translate(err))
	}
	return notificationOf(&m), nil
}

func notificationOf(m *notificationModel) *Notification {
	n := &Notification{
		ID:            m.ID,
		Event:         m.Event,
		Channel:       m.Channel,
		Payload:       json.RawMessage(append([]byte(nil), m.Payload...)),
		State:         m.State,
		Attempts:      m.Attempts,
		NextAttemptAt: m.NextAttemptAt.UTC(),
		LastError:     m.LastError,
		CreatedAt:     m.CreatedAt.UTC(),
		SentAt:        utcPtr(m.SentAt),
	}
	if m.RunID != nil {
		n.RunID = *m.RunID
	}
	return n
}
