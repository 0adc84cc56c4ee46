package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// AuditList filters the recorded operations, pages them newest first by a keyset cursor and
// gives each its audit row, whose hash the chain holds.
func TestAuditList(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i := range 30 {
			who, outcome, msg := "alice", store.OutcomeOK, fmt.Sprintf("run %d submitted", i)
			if i%3 == 0 {
				who, outcome, msg = "bob", store.OutcomeDenied, "bob may not RUN.SUBMIT: 100% refused"
			}
			if _, err := s.OperationRecord(ctx, &store.OperationRecordParams{Actor: person(who), Operation: "run.submit",
				Target: fmt.Sprintf("run-%d", i%5), Outcome: outcome, Message: msg, At: at(time.Duration(i) * time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		// Recorded, then chained (the chainer's work, done here at once).
		if _, err := s.AuditChain(ctx); err != nil {
			t.Fatal(err)
		}
		all, err := s.AuditList(ctx, &store.AuditListParams{Limit: 500})
		if err != nil || len(all.Entries) != 30 || all.Next != 0 || all.Entries[0].Message != "run 29 submitted" {
			t.Fatalf("AuditList(all) = %d entries, next %d, %v; want 30 newest first", len(all.Entries), all.Next, err)
		}
		for _, e := range all.Entries {
			if e.Seq == 0 || len(e.Hash) != 64 {
				t.Errorf("operation %d has no audit row (seq %d, hash %q)", e.ID, e.Seq, e.Hash)
			}
		}
		head, err := s.AuditHeadGet(ctx)
		if err != nil || head.Seq != all.Entries[0].Seq || head.Hash != all.Entries[0].Hash {
			t.Errorf("AuditHeadGet = %+v, %v; want the newest entry's row", head, err)
		}
		// Pages of 7 walk the whole list once, in order.
		var seen []int64
		p := &store.AuditListParams{Limit: 7}
		for {
			page, err := s.AuditList(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Entries {
				seen = append(seen, e.ID)
			}
			if page.Next == 0 {
				break
			}
			p.Before = page.Next
		}
		if len(seen) != 30 {
			t.Fatalf("paging saw %d entries, want 30", len(seen))
		}
		for i := range seen {
			if seen[i] != all.Entries[i].ID {
				t.Fatalf("paging order differs at %d: %d, want %d", i, seen[i], all.Entries[i].ID)
			}
		}
		since, until := at(10*time.Minute), at(20*time.Minute)
		for _, c := range []struct {
			name string
			p    store.AuditListParams
			want int
		}{
			{"actor", store.AuditListParams{ActorName: "bob"}, 10},
			{"outcome", store.AuditListParams{Outcome: store.OutcomeOK}, 20},
			{"target", store.AuditListParams{Target: "run-0"}, 6},
			{"operation", store.AuditListParams{Operation: "run.abort"}, 0},
			{"time", store.AuditListParams{Since: &since, Until: &until}, 10},
			{"text ignores case", store.AuditListParams{Text: "run.submit"}, 10},
			{"text with a wildcard", store.AuditListParams{Text: "100%"}, 10},
			{"text matching no wildcard", store.AuditListParams{Text: "1_0"}, 0},
			{"combined", store.AuditListParams{ActorName: "alice", Target: "run-1", Since: &since}, 3},
		} {
			c.p.Limit = 500
			page, err := s.AuditList(ctx, &c.p)
			if err != nil || len(page.Entries) != c.want {
				t.Errorf("%s: %d entries, %v; want %d", c.name, len(page.Entries), err, c.want)
			}
		}
	})
}
