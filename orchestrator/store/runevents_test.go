package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// RunEventListAfter pages through a run's timeline by seq, as a follower of a running run
// reads it: after a seq, at most limit, nothing of another run.
func TestRunEventListAfter(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		other := setup(t, s)
		for i := range 5 {
			if _, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Seq: i, Key: fmt.Sprintf("step-%d", i), Action: "command"}); err != nil {
				t.Fatal(err)
			}
		}
		all := assertEventsGapless(t, s, b.run.ID)
		var got []int
		for after := 0; ; {
			page, err := s.RunEventListAfter(ctx, b.run.ID, after, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 3 {
				t.Fatalf("after %d limit 3: %d events", after, len(page))
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				if e.RunID != b.run.ID {
					t.Errorf("event %d of run %s in run %s's timeline", e.Seq, e.RunID, b.run.ID)
				}
				got = append(got, e.Seq)
			}
			after = page[len(page)-1].Seq
		}
		if len(got) != len(all) {
			t.Fatalf("paged %v, want the %d events of the timeline", got, len(all))
		}
		for i, seq := range got {
			if seq != all[i].Seq {
				t.Errorf("paged %v, want the timeline's seqs in order", got)
				break
			}
		}
		if page, err := s.RunEventListAfter(ctx, b.run.ID, all[len(all)-1].Seq, 10); err != nil || len(page) != 0 {
			t.Errorf("after the last: %d events, %v; want none", len(page), err)
		}
		if page, err := s.RunEventListAfter(ctx, "no-such-run", 0, 10); err != nil || len(page) != 0 {
			t.Errorf("an unknown run: %d events, %v; want none", len(page), err)
		}
		if _, err := s.RunEventListAfter(ctx, other.run.ID, 0, 0); err == nil {
			t.Error("limit 0: no error")
		}
	})
}
