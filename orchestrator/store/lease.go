package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Lease is a named lease with a fencing epoch, e.g. "scheduler": held by the one replica that
// fires schedules. Expiry is judged by the store's clock, never the database server's, so that
// a fake clock drives it in tests; replicas' clocks must agree to well within the lease time.
type Lease struct {
	Name string
	// Owner is the holder; empty once released.
	Owner string
	// Epoch is bumped each time the lease changes hands.
	Epoch     int64
	ExpiresAt time.Time
	UpdatedAt time.Time
}

// HeldAt reports whether the lease is held by someone at now.
func (l *Lease) HeldAt(now time.Time) bool { return l.Owner != "" && l.ExpiresAt.After(now) }

func leaseOf(m *leaseModel) *Lease {
	return &Lease{Name: m.Name, Owner: m.Owner, Epoch: m.Epoch, ExpiresAt: m.ExpiresAt.UTC(), UpdatedAt: m.UpdatedAt.UTC()}
}

func checkLeaseArgs(name, owner string, ttl time.Duration) error {
	if name == "" || owner == "" {
		return errors.New("name and owner are required")
	}
	if ttl <= 0 {
		return fmt.Errorf("ttl must be positive, got %s", ttl)
	}
	return nil
}

// LeaseParams name a lease and its holder for LeaseAcquire, LeaseRenew and LeaseRelease.
type LeaseParams struct {
	Name string
	// Owner is the holder; unique per replica. Required.
	Owner string
	// Epoch is the epoch the holder acquired (LeaseRenew, LeaseRelease).
	Epoch int64
	// TTL is how long the lease lasts from now (LeaseAcquire, LeaseRenew).
	TTL time.Duration
}

// LeaseAcquire takes the lease p.Name for p.Owner for p.TTL if it is free (never taken,
// released or expired) or already the owner's, and returns its epoch and true. Changing hands
// bumps the epoch; re-acquiring one's own lease extends it and keeps the epoch. When someone
// else holds it, held is false and nothing changes.
func (s *Store) LeaseAcquire(ctx context.Context, p *LeaseParams) (epoch int64, held bool, err error) {
	if p == nil {
		return 0, false, errors.New("lease acquire: params are required")
	}
	name, owner, ttl := p.Name, p.Owner, p.TTL
	if err := checkLeaseArgs(name, owner, ttl); err != nil {
		return 0, false, fmt.Errorf("lease acquire %s: %w", name, err)
	}
	now := s.now(time.Time{})
	expires := utcMS(now.Add(ttl))
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fresh := leaseModel{Name: name, Owner: owner, Epoch: 1, ExpiresAt: expires, UpdatedAt: now}
		ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&fresh)
		if ins.Error != nil {
			return ins.Error
		}
		if ins.RowsAffected == 1 {
			epoch, held = 1, true
			return nil
		}
		q := tx
		if s.dialect == DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
		}
		var cur leaseModel
		if err := q.Where("name = ?", name).Take(&cur).Error; err != nil {
			return err
		}
		mine := cur.Owner == owner
		if !mine && cur.Owner != "" && cur.ExpiresAt.After(now) {
			return nil
		}
		next := cur.Epoch
		if !mine {
			next++
		}
		res := tx.Table("leases").Where("name = ? AND epoch = ?", name, cur.Epoch).UpdateColumns(map[string]any{
			"owner": owner, "epoch": next, "expires_at": expires, "updated_at": now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			epoch, held = next, true
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("lease acquire %s for %s: %w", name, owner, translate(err))
	}
	return epoch, held, nil
}

// LeaseRenew extends the owner's lease at p.Epoch to now+p.TTL. ErrLeaseLost when the lease
// changed hands (or was released) since.
func (s *Store) LeaseRenew(ctx context.Context, p *LeaseParams) error {
	if p == nil {
		return errors.New("lease renew: params are required")
	}
	name, owner, epoch, ttl := p.Name, p.Owner, p.Epoch, p.TTL
	if err := checkLeaseArgs(name, owner, ttl); err != nil {
		return fmt.Errorf("lease renew %s: %w", name, err)
	}
	now := s.now(time.Time{})
	res := s.db.WithContext(ctx).Table("leases").Where("name = ? AND owner = ? AND epoch = ?", name, owner, epoch).
		UpdateColumns(map[string]any{"expires_at": utcMS(now.Add(ttl)), "updated_at": now})
	if res.Error != nil {
		return fmt.Errorf("lease renew %s for %s epoch %d: %w", name, owner, epoch, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("lease renew %s for %s epoch %d: %w", name, owner, epoch, ErrLeaseLost)
	}
	return nil
}

// LeaseRelease gives the lease up at once, so another replica can take it without waiting for
// expiry. Releasing a lease no longer held (at that epoch) is not an error.
func (s *Store) LeaseRelease(ctx context.Context, p *LeaseParams) error {
	if p == nil {
		return errors.New("lease release: params are required")
	}
	name, owner, epoch := p.Name, p.Owner, p.Epoch
	now := s.now(time.Time{})
	err := s.db.WithContext(ctx).Table("leases").Where("name = ? AND owner = ? AND epoch = ?", name, owner, epoch).
		UpdateColumns(map[string]any{"owner": "", "expires_at": now, "updated_at": now}).Error
	if err != nil {
		return fmt.Errorf("lease release %s for %s epoch %d: %w", name, owner, epoch, translate(err))
	}
	return nil
}

// LeaseGet returns the lease name, or ErrNotFound if it was never taken.
func (s *Store) LeaseGet(ctx context.Context, name string) (*Lease, error) {
	var m leaseModel
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("lease get %s: %w", name, translate(err))
	}
	return leaseOf(&m), nil
}
