package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// On PostgreSQL a fact's audit row is chained after its commit (migration 00015): the fact's
// transaction copies its content into audit_pending, and firedrill_audit_chain, called by the
// chainer that every PostgreSQL Store runs (and by whatever needs the chain complete), appends
// the pending rows to the chain in batches under the head's row lock. Writers no longer queue
// on the head; the chain trails the committed facts by the chainer's period, and verification
// reports a fact in that window as pending. On SQLite the store appends each row in the fact's
// transaction (auditAppendSQLite) and nothing is ever pending.

type auditPendingModel struct {
	ID      int64     `gorm:"column:id;primaryKey"`
	At      time.Time `gorm:"column:at"`
	Source  string    `gorm:"column:source"`
	RunID   string    `gorm:"column:run_id"`
	Ref     int64     `gorm:"column:ref"`
	Content string    `gorm:"column:content"`
}

func (auditPendingModel) TableName() string { return "audit_pending" }

// auditChainBatch bounds the rows one chaining transaction appends, so that a backlog (after
// a burst, or an import) is chained in transactions of bounded size.
const auditChainBatch = 2000

// Chainer pacing: right after work it looks again soon, idle it backs off. Each chaining that
// appends rows is one commit, whose WAL flush competes with the writers' own: 10 ms between
// them lets one commit carry a running drill's last few steps instead of each step's rows
// costing a flush of their own (readers that need the chain complete chain it themselves).
const (
	auditChainerBusyPeriod = 10 * time.Millisecond
	// Idle, a look costs a round trip and about a millisecond of a replica's CPU (measured:
	// 15 ms/s at 20 looks a second, on a serve doing nothing else); once a second is 1.5 ms/s.
	auditChainerIdlePeriod = time.Second
	// auditChainerDrainTimeout bounds the last chaining Close does.
	auditChainerDrainTimeout = 5 * time.Second
)

// AuditChain appends every audit row pending when it is called to the chain, waiting for a
// chaining in progress elsewhere, and returns how many rows it appended. After it returns, the
// chain covers every fact committed before the call. SQLite has nothing pending.
func (s *Store) AuditChain(ctx context.Context) (int64, error) {
	if s.dialect != DialectPostgres {
		return 0, nil
	}
	var total int64
	for {
		n, err := s.auditChainOnce(ctx, true)
		if isUndefinedObject(err) {
			// A schema before migration 00015 (export-all may read one): its triggers
			// chained every row in the fact's transaction, nothing is pending.
			return 0, nil
		}
		if err != nil {
			return total, err
		}
		total += int64(n)
		if n < auditChainBatch {
			return total, nil
		}
	}
}

// auditChainOnce calls firedrill_audit_chain once: the rows appended, or -1 when wait is false
// and another transaction is chaining.
func (s *Store) auditChainOnce(ctx context.Context, wait bool) (int, error) {
	var n int
	if err := s.sqlDB.QueryRowContext(ctx, "SELECT firedrill_audit_chain($1, $2)", auditChainBatch, wait).Scan(&n); err != nil {
		return 0, fmt.Errorf("audit chain: %w", translate(err))
	}
	return n, nil
}

// AuditPendingCount returns how many facts are committed but not yet in the audit chain.
func (s *Store) AuditPendingCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&auditPendingModel{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("audit pending: %w", translate(err))
	}
	return n, nil
}

// auditChainer is the store's background chaining loop (PostgreSQL only).
type auditChainer struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// startAuditChainer starts the loop that keeps the chain close behind the committed facts.
// Every PostgreSQL store runs one, so whatever process records a fact also chains it; the
// head's row lock lets one chain at a time, the others skip a turn.
func (s *Store) startAuditChainer() {
	ctx, cancel := context.WithCancel(context.Background())
	c := &auditChainer{cancel: cancel, done: make(chan struct{})}
	s.chainer = c
	go func() {
		defer close(c.done)
		s.runAuditChainer(ctx)
	}()
}

func (s *Store) runAuditChainer(ctx context.Context) {
	period := auditChainerIdlePeriod
	var lastErr string
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.auditChainOnce(ctx, false)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// Before migrations the function does not exist yet; any other failure is
			// logged once until it changes, and the loop keeps trying at the idle pace.
			if msg := err.Error(); msg != lastErr && !isUndefinedObject(err) {
				s.logger.Warn("audit chaining failed; will retry", "error", msg)
				lastErr = msg
			}
			period = auditChainerIdlePeriod
		case n != 0: // work done, or another chainer is at it (-1): look again soon
			lastErr = ""
			period = auditChainerBusyPeriod
		default:
			period = min(period*2, auditChainerIdlePeriod)
		}
		t.Reset(period)
	}
}

// stopAuditChainer stops the loop and chains what is left, so that a short-lived process (a
// CLI command) leaves nothing pending.
func (s *Store) stopAuditChainer() {
	c := s.chainer
	if c == nil {
		return
	}
	c.once.Do(func() {
		c.cancel()
		<-c.done
		ctx, cancel := context.WithTimeout(context.Background(), auditChainerDrainTimeout)
		defer cancel()
		if _, err := s.AuditChain(ctx); err != nil && !isUndefinedObject(err) {
			s.logger.Warn("audit chaining at close failed; the next firedrill to run chains the rest", "error", err.Error())
		}
	})
}

// isUndefinedObject tells whether PostgreSQL refused err's statement for naming a function or
// table that does not exist (a database not migrated yet).
func isUndefinedObject(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "42883" || pe.Code == "42P01")
}
