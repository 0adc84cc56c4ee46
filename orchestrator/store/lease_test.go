package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// eachWithClock runs fn on PostgreSQL and SQLite with stores whose clock is clk.
func eachWithClock(t *testing.T, fn func(t *testing.T, s *store.Store, clk *clocktest.Clock)) {
	t.Helper()
	open := func(t *testing.T, dsn string, clk *clocktest.Clock) *store.Store {
		t.Helper()
		ctx := context.Background()
		s, err := store.Open(ctx, store.Config{DatabaseURL: dsn, Clock: clk})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp: %v", err)
		}
		return s
	}
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		clk := clocktest.New(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
		fn(t, open(t, storetest.NewDatabase(t), clk), clk)
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		clk := clocktest.New(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
		fn(t, open(t, "sqlite:"+filepath.Join(t.TempDir(), "lease.db"), clk), clk)
	})
}

func TestLeaseAcquireRenewRelease(t *testing.T) {
	t.Parallel()
	eachWithClock(t, func(t *testing.T, s *store.Store, clk *clocktest.Clock) {
		ctx := context.Background()
		const ttl = 15 * time.Second
		if _, err := s.LeaseGet(ctx, "scheduler"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("LeaseGet before any acquire = %v, want ErrNotFound", err)
		}
		acquire := func(owner string, wantEpoch int64, wantHeld bool) {
			t.Helper()
			epoch, held, err := s.LeaseAcquire(ctx, &store.LeaseParams{Name: "scheduler", Owner: owner, TTL: ttl})
			if err != nil {
				t.Fatalf("LeaseAcquire(%s): %v", owner, err)
			}
			if held != wantHeld || (held && epoch != wantEpoch) {
				t.Fatalf("LeaseAcquire(%s) = %d, %v; want %d, %v", owner, epoch, held, wantEpoch, wantHeld)
			}
		}
		acquire("a", 1, true)
		acquire("b", 0, false) // held by a
		acquire("a", 1, true)  // ours: extended, same epoch
		clk.Advance(10 * time.Second)
		if err := s.LeaseRenew(ctx, &store.LeaseParams{Name: "scheduler", Owner: "a", Epoch: 1, TTL: ttl}); err != nil {
			t.Fatalf("LeaseRenew: %v", err)
		}
		clk.Advance(14 * time.Second)
		acquire("b", 0, false) // renewed 14s ago: still a's
		clk.Advance(2 * time.Second)
		acquire("b", 2, true) // expired: taken over, epoch bumped
		if err := s.LeaseRenew(ctx, &store.LeaseParams{Name: "scheduler", Owner: "a", Epoch: 1, TTL: ttl}); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("LeaseRenew by the old holder = %v, want ErrLeaseLost", err)
		}
		l, err := s.LeaseGet(ctx, "scheduler")
		if err != nil {
			t.Fatal(err)
		}
		if l.Owner != "b" || l.Epoch != 2 || !l.HeldAt(clk.Now()) || !l.ExpiresAt.Equal(clk.Now().Add(ttl)) {
			t.Fatalf("LeaseGet = %+v, want b at epoch 2 until %v", l, clk.Now().Add(ttl))
		}
		if err := s.LeaseRelease(ctx, &store.LeaseParams{Name: "scheduler", Owner: "a", Epoch: 1}); err != nil {
			t.Fatalf("LeaseRelease by a non-holder: %v", err)
		}
		if err := s.LeaseRelease(ctx, &store.LeaseParams{Name: "scheduler", Owner: "b", Epoch: 2}); err != nil {
			t.Fatalf("LeaseRelease: %v", err)
		}
		acquire("a", 3, true) // released: free at once
		if err := s.LeaseRenew(ctx, &store.LeaseParams{Name: "scheduler", Owner: "b", Epoch: 2, TTL: ttl}); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("LeaseRenew after release = %v, want ErrLeaseLost", err)
		}
	})
}

func TestLeaseAcquireConcurrentOneWinner(t *testing.T) {
	t.Parallel()
	s := storetest.Postgres(t)
	ctx := context.Background()
	const n = 8
	type result struct {
		held bool
		err  error
	}
	results := make(chan result, n)
	for i := range n {
		go func() {
			_, held, err := s.LeaseAcquire(ctx, &store.LeaseParams{Name: "race", Owner: string(rune('a' + i)), TTL: time.Minute})
			results <- result{held, err}
		}()
	}
	winners := 0
	for range n {
		r := <-results
		if r.err != nil {
			t.Fatalf("LeaseAcquire: %v", r.err)
		}
		if r.held {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d replicas hold the lease, want exactly 1", winners)
	}
}
