package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/firedrill/firedrill/orchestrator/store"
)

// TestCallErrorsAreReported: OnCallError hears of statements the database failed, not of
// answers such as "no such run".
func TestCallErrorsAreReported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var failed atomic.Int64
	s, err := store.Open(ctx, store.Config{DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "x.db"), OnCallError: func() { failed.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunGet(ctx, "no-such-run"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RunGet of no run = %v; want ErrNotFound", err)
	}
	if _, err := s.RunCountByState(ctx); err != nil {
		t.Fatal(err)
	}
	if n := failed.Load(); n != 0 {
		t.Errorf("%d call errors reported for answers; want 0", n)
	}
	_ = s.Close()
	if _, err := s.RunCountByState(ctx); err == nil {
		t.Fatal("RunCountByState on a closed store succeeded")
	}
	if n := failed.Load(); n != 1 {
		t.Errorf("%d call errors reported after one failed statement; want 1", n)
	}
}
