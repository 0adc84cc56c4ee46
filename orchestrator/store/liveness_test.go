package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestScheduleFireFencedByTheLeaseEpoch: a decision made under the scheduler lease is refused
// once the lease changed hands or expired, and accepted from its holder.
func TestScheduleFireFencedByTheLeaseEpoch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		scheduleSetup(t, s)
		epochA, held, err := s.LeaseAcquire(ctx, &store.LeaseParams{Name: "scheduler", Owner: "a", TTL: time.Hour})
		if err != nil || !held {
			t.Fatalf("LeaseAcquire a = %v, %v", held, err)
		}
		fire := func(owner string, epoch int64, at time.Time) error {
			_, err := s.ScheduleFire(ctx, &store.ScheduleFireParams{
				Schedule: "weekly", FireTime: at, Decision: store.FireSkippedPaused, DecidedBy: owner,
				Lease: "scheduler", LeaseEpoch: epoch,
			})
			return err
		}
		t1 := time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
		if err := fire("a", epochA, t1); err != nil {
			t.Fatalf("the holder's decision: %v", err)
		}
		if err := fire("b", epochA, t1.Add(time.Hour)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("a non-holder's decision = %v, want ErrLeaseLost", err)
		}
		if err := s.LeaseRelease(ctx, &store.LeaseParams{Name: "scheduler", Owner: "a", Epoch: epochA}); err != nil {
			t.Fatal(err)
		}
		if _, held, err := s.LeaseAcquire(ctx, &store.LeaseParams{Name: "scheduler", Owner: "b", TTL: time.Hour}); err != nil || !held {
			t.Fatalf("LeaseAcquire b = %v, %v", held, err)
		}
		if err := fire("a", epochA, t1.Add(2*time.Hour)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("the old holder's decision after the takeover = %v, want ErrLeaseLost", err)
		}
		if n := len(fireList(t, s, "weekly")); n != 1 {
			t.Errorf("%d fires recorded, want only the holder's", n)
		}
	})
}

func fireList(t *testing.T, s *store.Store, name string) []*store.FireRecord {
	t.Helper()
	fs, err := s.ScheduleFireList(context.Background(), &store.ScheduleFireListParams{Schedule: name})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestSchedulerHeartbeatSpans: heartbeats closer than the gap extend a replica's span; a later
// one starts a new span, so the downtime in between is covered by no replica.
func TestSchedulerHeartbeatSpans(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
		beat := func(at time.Time) {
			if err := s.SchedulerHeartbeat(ctx, &store.SchedulerHeartbeatParams{Owner: "r1", Gap: 15 * time.Second, At: at}); err != nil {
				t.Fatal(err)
			}
		}
		beat(t0)
		beat(t0.Add(10 * time.Second))
		beat(t0.Add(20 * time.Second))
		spans, err := s.SchedulerReplicasBetween(ctx, t0, t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(spans) != 1 || !spans[0].StartedAt.Equal(t0) || !spans[0].SeenAt.Equal(t0.Add(20*time.Second)) {
			t.Fatalf("spans = %+v, want r1 from 09:00:00 to 09:00:20", spans)
		}
		beat(t0.Add(time.Hour)) // down for an hour
		spans, err = s.SchedulerReplicasBetween(ctx, t0.Add(30*time.Minute), t0.Add(30*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(spans) != 0 {
			t.Errorf("spans covering the downtime = %+v, want none", spans)
		}
	})
}
