package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

func enqueue(t *testing.T, s *store.Store, runID, event string, when time.Time) *store.Notification {
	t.Helper()
	n, err := s.NotificationEnqueue(context.Background(), &store.NotificationEnqueueParams{
		RunID: runID, Event: event, Channel: "ops-webhook",
		Payload: map[string]any{"event": event, "run_id": runID}, At: when,
	})
	if err != nil {
		t.Fatalf("NotificationEnqueue(%s, %s): %v", runID, event, err)
	}
	return n
}

func TestNotificationEnqueueList(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		n := enqueue(t, s, "run-1", "run_started", at(0))
		if n.ID == "" || n.RunID != "run-1" || n.Event != "run_started" || n.Channel != "ops-webhook" ||
			n.State != store.NotificationPending || n.Attempts != 0 || n.SentAt != nil || n.LastError != "" {
			t.Errorf("enqueued = %+v", n)
		}
		assertTime(t, "NextAttemptAt", &n.NextAttemptAt, at(0))
		assertTime(t, "CreatedAt", &n.CreatedAt, at(0))
		enqueue(t, s, "run-1", "run_ended", at(time.Second))
		enqueue(t, s, "run-2", "run_started", at(0))
		overdue := enqueue(t, s, "", "service_overdue", at(0))
		if overdue.RunID != "" {
			t.Errorf("RunID of a run-less notification = %q, want empty", overdue.RunID)
		}

		list, err := s.NotificationList(ctx, "run-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Event != "run_started" || list[1].Event != "run_ended" {
			t.Errorf("NotificationList(run-1) = %v, want run_started then run_ended", list)
		}
		var payload map[string]any
		if err := json.Unmarshal(list[0].Payload, &payload); err != nil || payload["event"] != "run_started" || payload["run_id"] != "run-1" {
			t.Errorf("payload = %s (%v), want the enqueued document", list[0].Payload, err)
		}
		runless, err := s.NotificationList(ctx, "")
		if err != nil || len(runless) != 1 || runless[0].ID != overdue.ID {
			t.Errorf("NotificationList(\"\") = %v, %v; want the service_overdue one", runless, err)
		}
		if none, err := s.NotificationList(ctx, "nope"); err != nil || len(none) != 0 {
			t.Errorf("NotificationList(nope) = %v, %v; want none", none, err)
		}
		got, err := s.NotificationGet(ctx, n.ID)
		if err != nil || got.ID != n.ID {
			t.Errorf("NotificationGet = %+v, %v", got, err)
		}
		if _, err := s.NotificationGet(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("NotificationGet(nope) = %v, want ErrNotFound", err)
		}

		bad := []*store.NotificationEnqueueParams{
			nil,
			{Channel: "c", Payload: 1},
			{Event: "e", Payload: 1},
			{Event: "e", Channel: "c"},
			{Event: "e", Channel: "c", Payload: json.RawMessage(`{nope`)},
			{Event: "e", Channel: "c", Payload: func() {}},
		}
		for _, p := range bad {
			if _, err := s.NotificationEnqueue(ctx, p); err == nil {
				t.Errorf("NotificationEnqueue(%+v) = nil error, want one", p)
			}
		}
	})
}

func TestNotificationClaimDue(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		// A whole second and a fraction of one: text comparison on SQLite must still order them.
		whole := time.Date(2026, 3, 14, 0, 0, 1, 0, time.UTC)
		first := enqueue(t, s, "run-1", "a", whole)
		second := enqueue(t, s, "run-1", "b", whole.Add(500*time.Millisecond))
		later := enqueue(t, s, "run-1", "c", whole.Add(10*time.Second))

		if _, err := s.NotificationClaimDue(ctx, whole, 0); err == nil {
			t.Error("NotificationClaimDue(limit 0) = nil error, want one")
		}
		if got, err := s.NotificationClaimDue(ctx, whole.Add(-time.Millisecond), 10); err != nil || len(got) != 0 {
			t.Errorf("claim before anything is due = %v, %v; want none", got, err)
		}
		got, err := s.NotificationClaimDue(ctx, whole, 10)
		if err != nil || len(got) != 1 || got[0].ID != first.ID {
			t.Fatalf("claim at exactly the due time = %v, %v; want only the first", got, err)
		}
		assertTime(t, "claimed NextAttemptAt", &got[0].NextAttemptAt, whole.Add(store.NotificationClaimLease))

		now := whole.Add(20 * time.Second)
		got, err = s.NotificationClaimDue(ctx, now, 1)
		if err != nil || len(got) != 1 || got[0].ID != second.ID {
			t.Fatalf("claim with limit 1 = %v, %v; want the oldest due unclaimed one (second)", got, err)
		}
		got, err = s.NotificationClaimDue(ctx, now, 10)
		if err != nil || len(got) != 1 || got[0].ID != later.ID {
			t.Fatalf("claim = %v, %v; want only the unclaimed one (later)", got, err)
		}
		if got, err := s.NotificationClaimDue(ctx, now, 10); err != nil || len(got) != 0 {
			t.Errorf("claim while every lease holds = %v, %v; want none", got, err)
		}
		// A sender that died: its claims come due again once the lease has passed.
		got, err = s.NotificationClaimDue(ctx, now.Add(store.NotificationClaimLease), 10)
		if err != nil || len(got) != 3 {
			t.Errorf("claim after the leases = %v, %v; want all three", got, err)
		}
	})
}

func TestNotificationResult(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		n := enqueue(t, s, "run-1", "run_ended", at(0))
		if _, err := s.NotificationClaimDue(ctx, at(0), 10); err != nil {
			t.Fatal(err)
		}
		retryAt := at(5 * time.Second)
		if err := s.NotificationResult(ctx, &store.NotificationResultParams{ID: n.ID, Error: "webhook answered 500", NextAttempt: &retryAt}); err != nil {
			t.Fatalf("NotificationResult(retry): %v", err)
		}
		got, err := s.NotificationGet(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != store.NotificationPending || got.Attempts != 1 || got.LastError != "webhook answered 500" || got.SentAt != nil {
			t.Errorf("after a failed attempt = %+v, want pending, 1 attempt, the error", got)
		}
		assertTime(t, "NextAttemptAt", &got.NextAttemptAt, retryAt)
		if claimed, err := s.NotificationClaimDue(ctx, at(4*time.Second), 10); err != nil || len(claimed) != 0 {
			t.Errorf("claim before the retry time = %v, %v; want none", claimed, err)
		}
		if claimed, err := s.NotificationClaimDue(ctx, retryAt, 10); err != nil || len(claimed) != 1 {
			t.Errorf("claim at the retry time = %v, %v; want it", claimed, err)
		}
		sent := at(6 * time.Second)
		if err := s.NotificationResult(ctx, &store.NotificationResultParams{ID: n.ID, SentAt: &sent}); err != nil {
			t.Fatalf("NotificationResult(sent): %v", err)
		}
		got, _ = s.NotificationGet(ctx, n.ID)
		if got.State != store.NotificationSent || got.Attempts != 2 || got.LastError != "" {
			t.Errorf("after delivery = %+v, want sent after 2 attempts", got)
		}
		assertTime(t, "SentAt", got.SentAt, sent)
		if err := s.NotificationResult(ctx, &store.NotificationResultParams{ID: n.ID, Error: "late"}); !errors.Is(err, store.ErrNotificationDone) {
			t.Errorf("result on a sent notification = %v, want ErrNotificationDone", err)
		}
		if claimed, err := s.NotificationClaimDue(ctx, at(time.Hour), 10); err != nil || len(claimed) != 0 {
			t.Errorf("claim after delivery = %v, %v; want none", claimed, err)
		}

		gaveUp := enqueue(t, s, "run-1", "run_started", at(0))
		if err := s.NotificationResult(ctx, &store.NotificationResultParams{ID: gaveUp.ID, Error: "connection refused"}); err != nil {
			t.Fatalf("NotificationResult(give up): %v", err)
		}
		got, _ = s.NotificationGet(ctx, gaveUp.ID)
		if got.State != store.NotificationFailed || got.Attempts != 1 || got.LastError != "connection refused" {
			t.Errorf("after giving up = %+v, want failed", got)
		}
		if claimed, err := s.NotificationClaimDue(ctx, at(time.Hour), 10); err != nil || len(claimed) != 0 {
			t.Errorf("claim after giving up = %v, %v; want none", claimed, err)
		}
		if err := s.NotificationResult(ctx, &store.NotificationResultParams{ID: "nope", SentAt: &sent}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("result on an unknown notification = %v, want ErrNotFound", err)
		}
	})
}

// Replicas polling at once never get the same notification.
func TestNotificationClaimDueConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const total, replicas = 60, 4
		for range total {
			enqueue(t, s, "run-1", "run_started", at(0))
		}
		var (
			mu      sync.Mutex
			claimed = map[string]int{}
			wg      sync.WaitGroup
		)
		for range replicas {
			wg.Go(func() {
				for {
					got, err := s.NotificationClaimDue(ctx, at(time.Second), 7)
					if err != nil {
						t.Errorf("NotificationClaimDue: %v", err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, n := range got {
						claimed[n.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(claimed) != total {
			t.Errorf("%d distinct notifications claimed, want %d", len(claimed), total)
		}
		for id, n := range claimed {
			if n != 1 {
				t.Errorf("notification %s claimed %d times, want once", id, n)
			}
		}
	})
}
