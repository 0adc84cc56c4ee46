package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// ErrFrozen means a freeze is already on.
var ErrFrozen = errors.New("a freeze is already on")

// Freeze is a global change freeze: while one is active no run starts.
type Freeze struct {
	ID       string
	Reason   string
	SetBy    string
	SetAt    time.Time
	LiftedBy string
	LiftedAt *time.Time
}

// Active reports whether the freeze is still on.
func (f *Freeze) Active() bool { return f.LiftedAt == nil }

// FreezeSet turns a freeze on, recording who and why. ErrFrozen (with the active freeze) when
// one is already on.
func (s *Store) FreezeSet(ctx context.Context, by, reason string, at time.Time) (*Freeze, error) {
	if by == "" || reason == "" {
		return nil, errors.New("freeze: who sets it and why are required")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	m := freezeModel{ID: id.String(), Reason: reason, SetBy: by, SetAt: s.now(at)}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var active []freezeModel
		if err := tx.Where("lifted_at IS NULL").Find(&active).Error; err != nil {
			return err
		}
		if len(active) > 0 {
			return fmt.Errorf("%w: set by %s at %s: %s", ErrFrozen, active[0].SetBy, active[0].SetAt.UTC().Format(time.RFC3339), active[0].Reason)
		}
		return tx.Create(&m).Error
	})
	if err != nil {
		return nil, fmt.Errorf("set freeze: %w", translate(err))
	}
	return freezeOf(&m), nil
}

// FreezeLift turns the active freeze off. ErrNotFound when none is on.
func (s *Store) FreezeLift(ctx context.Context, by string, at time.Time) (*Freeze, error) {
	if by == "" {
		return nil, errors.New("lift freeze: who lifts it is required")
	}
	at = s.now(at)
	var m freezeModel
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("lifted_at IS NULL").Order("set_at DESC").Take(&m).Error; err != nil {
			return err
		}
		m.LiftedBy, m.LiftedAt = by, &at
		return tx.Model(&freezeModel{}).Where("id = ?", m.ID).UpdateColumns(map[string]any{"lifted_by": by, "lifted_at": at}).Error
	})
	if err != nil {
		return nil, fmt.Errorf("lift freeze: %w", translate(err))
	}
	return freezeOf(&m), nil
}

// FreezeActive returns the active freeze, if any.
func (s *Store) FreezeActive(ctx context.Context) (*Freeze, bool, error) {
	var ms []freezeModel
	if err := s.db.WithContext(ctx).Where("lifted_at IS NULL").Order("set_at DESC").Limit(1).Find(&ms).Error; err != nil {
		return nil, false, fmt.Errorf("read freeze: %w", translate(err))
	}
	if len(ms) == 0 {
		return nil, false, nil
	}
	return freezeOf(&ms[0]), true, nil
}

// FreezeList returns every freeze, newest first.
func (s *Store) FreezeList(ctx context.Context) ([]*Freeze, error) {
	var ms []freezeModel
	if err := s.db.WithContext(ctx).Order("set_at DESC").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("list freezes: %w", translate(err))
	}
	out := make([]*Freeze, 0, len(ms))
	for i := range ms {
		out = append(out, freezeOf(&ms[i]))
	}
	return out, nil
}

func freezeOf(m *freezeModel) *Freeze {
	return &Freeze{ID: m.ID, Reason: m.Reason, SetBy: m.SetBy, SetAt: m.SetAt.UTC(), LiftedBy: m.LiftedBy, LiftedAt: utcPtr(m.LiftedAt)}
}
