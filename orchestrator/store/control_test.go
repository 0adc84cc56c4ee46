package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

func TestFreeze(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, on, err := s.FreezeActive(ctx); err != nil || on {
			t.Fatalf("FreezeActive on a new database = %v, %v", on, err)
		}
		if _, err := s.FreezeLift(ctx, "alice", at(0)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FreezeLift with none on = %v, want ErrNotFound", err)
		}
		if _, err := s.FreezeSet(ctx, "alice", "", at(0)); err == nil {
			t.Error("FreezeSet without a reason succeeded")
		}
		f, err := s.FreezeSet(ctx, "alice", "market turmoil", at(0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.FreezeSet(ctx, "bob", "again", at(1)); !errors.Is(err, store.ErrFrozen) {
			t.Errorf("second FreezeSet = %v, want ErrFrozen", err)
		}
		got, on, err := s.FreezeActive(ctx)
		if err != nil || !on || got.ID != f.ID || got.SetBy != "alice" || !got.SetAt.Equal(wantTime(at(0))) {
			t.Errorf("FreezeActive = %+v, %v, %v", got, on, err)
		}
		lifted, err := s.FreezeLift(ctx, "bob", at(time.Hour))
		if err != nil || lifted.LiftedBy != "bob" || lifted.Active() {
			t.Errorf("FreezeLift = %+v, %v", lifted, err)
		}
		if _, on, _ := s.FreezeActive(ctx); on {
			t.Error("freeze still on after lifting")
		}
		list, err := s.FreezeList(ctx)
		if err != nil || len(list) != 1 || list[0].LiftedAt == nil {
			t.Errorf("FreezeList = %v, %v", list, err)
		}
	})
}

func TestUsers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, bad := range []struct {
			name  string
			roles []string
		}{{"Alice", []string{"sre"}}, {"alice", nil}, {"alice", []string{"king"}}} {
			if _, err := s.UserUpsert(ctx, bad.name, bad.roles); err == nil {
				t.Errorf("UserUpsert(%q, %v) succeeded", bad.name, bad.roles)
			}
		}
		u, err := s.UserUpsert(ctx, "alice", []string{"sre", "compliance", "sre"})
		if err != nil || len(u.Roles) != 2 || !u.HasRole("sre") || !u.HasRole("compliance") {
			t.Fatalf("UserUpsert = %+v, %v", u, err)
		}
		if err := s.UserDisable(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.UserGet(ctx, "alice"); !u.Disabled {
			t.Error("alice not disabled")
		}
		if u, _ := s.UserUpsert(ctx, "alice", []string{"auditor"}); u.Disabled || u.HasRole("sre") {
			t.Errorf("re-upsert = %+v; want enabled with the new roles only", u)
		}
		if err := s.UserDisable(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserDisable(nobody) = %v", err)
		}
	})
}

func TestApprovals(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for name, roles := range map[string][]string{"alice": {"sre"}, "bob": {"sre"}, "kim": {"compliance"}, "audrey": {"auditor"}} {
			if _, err := s.UserUpsert(ctx, name, roles); err != nil {
				t.Fatal(err)
			}
		}
		plan, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "p", Source: []byte("plan")})
		if err != nil {
			t.Fatal(err)
		}
		deadline := at(time.Hour)
		newRun := func() *store.Run {
			t.Helper()
			r, err := s.RunInsert(ctx, &store.RunInsertParams{
				PlanID: plan.ID, PlanName: "p", TriggeredBy: "cli:alice", State: drills.RunAwaitingApproval,
				ApprovalPolicy: []byte(`{"roles":["sre","compliance"]}`), ApprovalDeadline: &deadline,
			})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		decide := func(runID, by, decision string, when time.Duration) (*store.ApprovalOutcome, error) {
			return s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: runID, Approver: by, Decision: decision, Comment: "ok", At: at(when)})
		}

		run := newRun()
		refused := []struct{ by, why string }{{"alice", "requester"}, {"audrey", "no role"}, {"nobody", "unknown"}}
		for _, r := range refused {
			if _, err := decide(run.ID, r.by, store.ApprovalApprove, 0); !errors.Is(err, store.ErrNotAllowed) {
				t.Errorf("%s (%s) approving = %v, want ErrNotAllowed", r.by, r.why, err)
			}
		}
		out, err := decide(run.ID, "bob", store.ApprovalApprove, time.Minute)
		if err != nil || out.Satisfied || len(out.Missing) != 1 || out.Missing[0] != "compliance" || out.Run.State != drills.RunAwaitingApproval {
			t.Fatalf("bob's approval = %+v, %v; want still missing compliance", out, err)
		}
		if _, err := decide(run.ID, "bob", store.ApprovalApprove, time.Minute); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("bob again = %v, want ErrDuplicate", err)
		}
		out, err = decide(run.ID, "kim", store.ApprovalApprove, 2*time.Minute)
		if err != nil || !out.Satisfied || out.Run.State != drills.RunPending {
			t.Fatalf("kim's approval = %+v, %v; want the policy met and the run pending", out, err)
		}
		if _, err := decide(run.ID, "kim", store.ApprovalReject, 3*time.Minute); !errors.Is(err, store.ErrNotAwaitingApproval) {
			t.Errorf("deciding an approved run = %v, want ErrNotAwaitingApproval", err)
		}
		list, err := s.ApprovalList(ctx, run.ID)
		if err != nil || len(list) != 2 || list[0].Approver != "bob" || list[1].Approver != "kim" {
			t.Errorf("ApprovalList = %v, %v", list, err)
		}

		rejected := newRun()
		out, err = decide(rejected.ID, "kim", store.ApprovalReject, time.Minute)
		if err != nil || out.Run.State != drills.RunBlocked || out.Run.StateReason != "rejected by kim: ok" {
			t.Errorf("rejection = %+v, %v; want blocked with who and why", out, err)
		}

		late := newRun()
		if _, err := decide(late.ID, "bob", store.ApprovalApprove, 2*time.Hour); !errors.Is(err, store.ErrApprovalExpired) {
			t.Errorf("approval after the deadline = %v, want ErrApprovalExpired", err)
		}
		if r, _ := s.RunGet(ctx, late.ID); r.State != drills.RunBlocked {
			t.Errorf("late run is %s, want blocked", r.State)
		}
		stale := newRun()
		ids, err := s.RunApprovalsExpire(ctx, at(2*time.Hour))
		if err != nil || len(ids) != 1 || ids[0] != stale.ID {
			t.Errorf("RunApprovalsExpire = %v, %v; want only %s", ids, err, stale.ID)
		}
	})
}

func TestRunAbortRequest(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		if _, err := s.RunAbortRequest(ctx, &store.RunAbortRequestParams{RunID: b.run.ID, By: "alice"}); err == nil {
			t.Error("abort without a reason succeeded")
		}
		r, err := s.RunAbortRequest(ctx, &store.RunAbortRequestParams{RunID: b.run.ID, By: "alice", Reason: "VAN down", At: at(0)})
		if err != nil || r.AbortRequestedBy != "alice" || r.AbortReason != "VAN down" || r.AbortRequestedAt == nil {
			t.Fatalf("RunAbortRequest = %+v, %v", r, err)
		}
		// The first request wins; a second is only recorded on the timeline.
		r, err = s.RunAbortRequest(ctx, &store.RunAbortRequestParams{RunID: b.run.ID, By: "bob", Reason: "also", At: at(1)})
		if err != nil || r.AbortRequestedBy != "alice" {
			t.Errorf("second request = %+v, %v; want alice's kept", r, err)
		}
		if _, err := s.RunAbortRequest(ctx, &store.RunAbortRequestParams{RunID: "nope", By: "a", Reason: "b"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("abort of an unknown run = %v", err)
		}
		assertEventsGapless(t, s, b.run.ID)
	})
}
