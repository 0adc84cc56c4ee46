package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// rolesFor is the approval policy a run inserted in state st needs: one, exactly when it
// awaits approval.
func rolesFor(st drills.RunState) []string {
	if st == drills.RunAwaitingApproval {
		return []string{drills.RoleSRE, drills.RoleCompliance}
	}
	return nil
}

// insertRun stores a run of plan in state st.
func insertRun(t *testing.T, s *store.Store, plan *store.PlanRecord, st drills.RunState) *store.Run {
	t.Helper()
	run, err := s.RunInsert(context.Background(), &store.RunInsertParams{
		PlanID: plan.ID, PlanName: plan.Name, EstateSHA256: "abc", FromSite: "sangam", ToSite: "yatap",
		RequestedBy: tester, State: st, ApprovalRoles: rolesFor(st),
	})
	if err != nil {
		t.Fatalf("RunInsert: %v", err)
	}
	return run
}

func TestClaimNextTakesOnlyClaimableRuns(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s) // a pending run claimed by replica-a for a minute: a live lease
		// Leave the claim in running, as a replica would.
		if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunRunning}); err != nil {
			t.Fatalf("RunStateSet: %v", err)
		}
		approval := insertRun(t, s, b.plan, drills.RunAwaitingApproval)
		ended := insertRun(t, s, b.plan, drills.RunPending)
		e := claimRunning(t, s, ended.ID)
		if err := s.RunFinish(ctx, &store.RunFinishParams{RunID: ended.ID, Epoch: e, State: drills.RunSucceeded}); err != nil {
			t.Fatal(err)
		}
		pending := insertRun(t, s, b.plan, drills.RunPending)

		now := time.Now()
		run, epoch, err := s.RunClaimNext(ctx, &store.RunClaimNextParams{Owner: "replica-b", LeaseFor: time.Hour, Now: now})
		if err != nil {
			t.Fatalf("RunClaimNext: %v", err)
		}
		if run.ID != pending.ID || epoch != 1 || run.LeaseEpoch != 1 || run.LeaseOwner != "replica-b" {
			t.Errorf("RunClaimNext = run %s epoch %d owner %s, want the pending run %s at epoch 1 for replica-b", run.ID, epoch, run.LeaseOwner, pending.ID)
		}
		if _, _, err := s.RunClaimNext(ctx, &store.RunClaimNextParams{Owner: "replica-b", LeaseFor: time.Hour, Now: now}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second RunClaimNext = %v, want ErrNotFound (live lease, awaiting approval, terminal)", err)
		}

		// Two minutes later replica-a's one-minute lease has expired: its run is taken over.
		later := now.Add(2 * time.Minute)
		run, epoch, err = s.RunClaimNext(ctx, &store.RunClaimNextParams{Owner: "replica-b", LeaseFor: time.Hour, Now: later})
		if err != nil {
			t.Fatalf("RunClaimNext after expiry: %v", err)
		}
		if run.ID != b.run.ID || epoch != b.epoch+1 || run.State != drills.RunRunning {
			t.Errorf("RunClaimNext after expiry = run %s epoch %d state %s, want %s epoch %d running", run.ID, epoch, run.State, b.run.ID, b.epoch+1)
		}
		err = s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunWaitingOperator})
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("write at the old epoch = %v, want ErrLeaseLost", err)
		}
		evs := assertEventsGapless(t, s, b.run.ID)
		last := evs[len(evs)-1]
		var data map[string]any
		if err := json.Unmarshal(last.Data, &data); err != nil {
			t.Fatal(err)
		}
		if last.Kind != store.EventRunClaimed || data["previous_owner"] != "replica-a" || data["owner"] != "replica-b" {
			t.Errorf("last event = %s %v, want run_claimed from replica-a to replica-b", last.Kind, data)
		}
		got, err := s.RunGet(ctx, approval.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LeaseEpoch != 0 {
			t.Errorf("awaiting_approval run claimed (epoch %d)", got.LeaseEpoch)
		}
		if _, _, err := s.RunClaimNext(ctx, &store.RunClaimNextParams{Owner: "x", LeaseFor: time.Hour, Now: later}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RunClaimNext with nothing claimable = %v, want ErrNotFound", err)
		}
	})
}

// TestClaimNextConcurrentClaimersNeverShareARun races replicas with their own connection pools
// on one PostgreSQL database.
func TestClaimNextConcurrentClaimersNeverShareARun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDatabase(t)
	const replicas, runs = 6, 40
	stores := make([]*store.Store, replicas)
	for i := range stores {
		s, err := store.Open(ctx, store.Config{DatabaseURL: dsn, MaxOpenConns: 3})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	if _, err := stores[0].MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	plan, err := stores[0].PlanSave(ctx, store.PlanSaveParams{Name: "p", Source: []byte("plan")})
	if err != nil {
		t.Fatal(err)
	}
	for range runs {
		insertRun(t, stores[0], plan, drills.RunPending)
	}
	var mu sync.Mutex
	claimedBy := map[string][]string{}
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			owner := fmt.Sprintf("replica-%d", i)
			for {
				run, _, err := s.RunClaimNext(ctx, &store.RunClaimNextParams{Owner: owner, LeaseFor: time.Hour})
				if errors.Is(err, store.ErrNotFound) {
					return
				}
				if err != nil {
					t.Errorf("%s: RunClaimNext: %v", owner, err)
					return
				}
				mu.Lock()
				claimedBy[run.ID] = append(claimedBy[run.ID], owner)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimedBy) != runs {
		t.Errorf("%d runs claimed, want %d", len(claimedBy), runs)
	}
	for id, owners := range claimedBy {
		if len(owners) != 1 {
			t.Errorf("run %s claimed by %v, want exactly one replica", id, owners)
		}
	}
}

func TestClaimStepMarkUnknownAwaitsADecision(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		stepID, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Seq: 1, Key: "notify", Action: "command"})
		if err != nil {
			t.Fatal(err)
		}
		epoch, err := s.RunClaim(ctx, &store.RunClaimParams{RunID: b.run.ID, Owner: "replica-b", LeaseFor: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.StepMarkUnknown(ctx, &store.StepMarkUnknownParams{RunID: b.run.ID, Epoch: b.epoch, StepID: stepID}); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("StepMarkUnknown at the old epoch = %v, want ErrLeaseLost", err)
		}
		for range 2 { // a second mark (another takeover) changes nothing
			if err := s.StepMarkUnknown(ctx, &store.StepMarkUnknownParams{RunID: b.run.ID, Epoch: epoch, StepID: stepID, Note: "takeover"}); err != nil {
				t.Fatalf("StepMarkUnknown: %v", err)
			}
		}
		steps, err := s.StepResultList(ctx, b.run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if steps[0].State != drills.StepUnknown || steps[0].EndedAt != nil || steps[0].Error != "takeover" {
			t.Errorf("step = %s ended %v error %q, want unknown, open, takeover", steps[0].State, steps[0].EndedAt, steps[0].Error)
		}
		d, err := s.StepDecide(ctx, &store.StepDecideParams{RunID: b.run.ID, StepKey: "notify", Decision: store.DecisionRetry, By: person("alice")})
		if err != nil {
			t.Fatalf("StepDecide on an unknown step: %v", err)
		}
		if d.StepID != stepID {
			t.Errorf("decision on step %s, want %s", d.StepID, stepID)
		}
		kinds := map[string]int{}
		for _, ev := range assertEventsGapless(t, s, b.run.ID) {
			kinds[ev.Kind]++
		}
		if kinds[store.EventStepUnknown] != 1 {
			t.Errorf("%d step_unknown events, want 1", kinds[store.EventStepUnknown])
		}
	})
}

func TestClaimEstateGet(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		src := []byte("site \"sangam\" {\n  role = \"primary\"\n  nomad {\n    address = \"http://127.0.0.1:4646\"\n    region = \"kr\"\n  }\n}\n")
		cfg, diags := drills.ParseEstate(src, "firedrill.hcl")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if err := s.EstateSave(ctx, cfg, src); err != nil {
			t.Fatal(err)
		}
		got, err := s.EstateGet(ctx, cfg.SHA256)
		if err != nil {
			t.Fatalf("EstateGet: %v", err)
		}
		if string(got.Source) != string(src) || got.File != "firedrill.hcl" || got.SHA256 != cfg.SHA256 {
			t.Errorf("EstateGet = %q %s %s, want the saved source", got.Source, got.File, got.SHA256)
		}
		if _, err := s.EstateGet(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("EstateGet(unknown) = %v, want ErrNotFound", err)
		}
	})
}
