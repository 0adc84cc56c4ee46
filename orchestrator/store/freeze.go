package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/firedrill/firedrill/drills"
)

// ErrFrozen means a freeze is already on.
var ErrFrozen = errors.New("a freeze is already on")

// Freeze is a global change freeze: while one is active no run starts.
type Freeze struct {
	ID     string
	Reason string
	SetBy  drills.Actor
	SetAt  time.Time
	// LiftedBy is zero while the freeze is on.
	LiftedBy drills.Actor
	LiftedAt *time.Time
}

// Active reports whether the freeze is still on.
func (f *Freeze) Active() bool { return f.LiftedAt == nil }

// FreezeSetParams are the arguments of FreezeSet.
type FreezeSetParams struct {
	// By is who sets the freeze; required.
	By     drills.Actor
	Reason string
	// At defaults to the clock's now.
	At time.Time
}

// FreezeSet turns a freeze on, recording who and why. ErrFrozen (with the active freeze) when
// one is already on.
func (s *Store) FreezeSet(ctx context.Context, p *FreezeSetParams) (*Freeze, error) {
	return inTx(ctx, s, p, s.FreezeSetTx)
}

// FreezeSetTx is FreezeSet in tx.
func (s *Store) FreezeSetTx(ctx context.Context, tx *Tx, p *FreezeSetParams) (*Freeze, error) {
	if p == nil || p.Reason == "" {
		return nil, errors.New("freeze: why it is set is required")
	}
	if err := checkActor("freeze: By", p.By); err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	m := freezeModel{ID: id.String(), Reason: p.Reason, SetBy: colsOf(p.By), SetAt: s.now(p.At)}
	db := tx.with(ctx)
	var active []freezeModel
	if err := db.Where("lifted_at IS NULL").Find(&active).Error; err != nil {
		return nil, fmt.Errorf("set freeze: %w", translate(err))
	}
	if len(active) > 0 {
		return nil, fmt.Errorf("set freeze: %w: set by %s at %s: %s", ErrFrozen, active[0].SetBy.actor(),
			active[0].SetAt.UTC().Format(time.RFC3339), active[0].Reason)
	}
	if err := db.Create(&m).Error; err != nil {
		if err = translate(err); errors.Is(err, ErrDuplicate) {
			// Another freeze went on concurrently (freezes_one_active_key).
			return nil, fmt.Errorf("set freeze: %w", ErrFrozen)
		}
		return nil, fmt.Errorf("set freeze: %w", err)
	}
	return freezeOf(&m), nil
}

// FreezeLiftParams are the arguments of FreezeLift.
type FreezeLiftParams struct {
	// By is who lifts the freeze; required.
	By drills.Actor
	// At defaults to the clock's now.
	At time.Time
}

// FreezeLift turns the active freeze off. ErrNotFound when none is on.
func (s *Store) FreezeLift(ctx context.Context, p *FreezeLiftParams) (*Freeze, error) {
	return inTx(ctx, s, p, s.FreezeLiftTx)
}

// FreezeLiftTx is FreezeLift in tx.
func (s *Store) FreezeLiftTx(ctx context.Context, tx *Tx, p *FreezeLiftParams) (*Freeze, error) {
	if p == nil {
		return nil, errors.New("lift freeze: params are required")
	}
	if err := checkActor("lift freeze: By", p.By); err != nil {
		return nil, err
	}
	at := s.now(p.At)
	db := tx.with(ctx)
	var m freezeModel
	if err := db.Where("lifted_at IS NULL").Order("set_at DESC").Take(&m).Error; err != nil {
		return nil, fmt.Errorf("lift freeze: %w", translate(err))
	}
	m.LiftedBy, m.LiftedAt = colsOf(p.By), &at
	set := setActor(map[string]any{"lifted_at": at}, "lifted_by_", p.By)
	if err := db.Model(&freezeModel{}).Where("id = ?", m.ID).UpdateColumns(set).Error; err != nil {
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

// FreezeLatest returns the latest freeze, on or lifted; ErrNotFound when there never was one.
func (s *Store) FreezeLatest(ctx context.Context) (*Freeze, error) {
	var m freezeModel
	if err := s.db.WithContext(ctx).Order("set_at DESC, id DESC").Take(&m).Error; err != nil {
		return nil, fmt.Errorf("read latest freeze: %w", translate(err))
	}
	return freezeOf(&m), nil
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
	return &Freeze{ID: m.ID, Reason: m.Reason, SetBy: m.SetBy.actor(), SetAt: m.SetAt.UTC(), LiftedBy: m.LiftedBy.actor(), LiftedAt: utcPtr(m.LiftedAt)}
}
