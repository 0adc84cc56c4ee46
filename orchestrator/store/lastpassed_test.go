package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestLastPassedRunsFollowsRunEnds: the answer LastPassedRuns reuses is never the one from
// before a run ended, on both dialects.
func TestLastPassedRunsFollowsRunEnds(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		last := func() map[string]time.Time {
			t.Helper()
			got, err := s.LastPassedRuns(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := last(); len(got) != 0 {
			t.Fatalf("before any run: %v", got)
		}
		r1 := drill(t, s, 0, drills.RunSucceeded, "", met("payments"))
		if got := last(); len(got) != 1 || !got["payments"].Equal(*r1.EndedAt) {
			t.Fatalf("after the first drill: %v, want payments at %v", got, *r1.EndedAt)
		}
		got := last()
		got["payments"] = time.Time{} // a caller's change must not reach the next caller
		drill(t, s, time.Hour, drills.RunFailed, "", met("payments"), met("auth"))
		if got := last(); len(got) != 1 || !got["payments"].Equal(*r1.EndedAt) {
			t.Fatalf("after a failed drill: %v, want payments at %v", got, *r1.EndedAt)
		}
		r3 := drill(t, s, 2*time.Hour, drills.RunSucceeded, "", met("payments"), met("auth"))
		if got := last(); len(got) != 2 || !got["payments"].Equal(*r3.EndedAt) || !got["auth"].Equal(*r3.EndedAt) {
			t.Fatalf("after the second passing drill: %v, want both at %v", got, *r3.EndedAt)
		}
	})
}
