package control_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// RunEventsAfter gives a follower what of the timeline it has not seen, the steps when an
// entry is about one, and says when nothing more will come; it is authorized as RunGet.
func TestRunEventsAfter(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alice, _ := f.person("alice", drills.RoleSRE)
	kim, _ := f.person("kim", drills.RoleViewer)
	_, secret := f.person("nobody", drills.RoleViewer)
	if _, err := f.ctl.RoleRevoke(ctx, f.admin, &control.RoleChangeParams{User: "nobody", Role: drills.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	nobody := f.auth(secret) // a token of a user who holds no role any more
	run := f.submit(alice)

	got, err := f.ctl.RunEventsAfter(ctx, kim, &control.RunEventsParams{RunID: run.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 1 || got.Events[0].Kind != store.EventRunCreated || got.Steps != nil || got.Complete || got.Run.State != run.State {
		t.Fatalf("from the start: %+v", got)
	}
	epoch, err := f.st.RunClaim(ctx, &store.RunClaimParams{RunID: run.ID, Owner: "test", LeaseFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.RunStateSet(ctx, &store.RunStateSetParams{RunID: run.ID, Epoch: epoch, State: drills.RunRunning}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.StepStart(ctx, &store.StepStartParams{RunID: run.ID, Epoch: epoch, Seq: 1, Key: "check", Name: "check", Action: "manual"}); err != nil {
		t.Fatal(err)
	}
	got, err = f.ctl.RunEventsAfter(ctx, kim, &control.RunEventsParams{RunID: run.ID, After: 1})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range got.Events {
		kinds = append(kinds, e.Kind)
	}
	if got.Events[0].Seq != 2 || !slices.Equal(kinds, []string{store.EventRunClaimed, store.EventRunState, store.EventStepStarted}) ||
		len(got.Steps) != 1 || !got.Steps[0].AwaitingDecision || got.Complete || got.Run.State != drills.RunRunning {
		t.Fatalf("after 1: %v %+v", kinds, got)
	}
	if err := f.st.RunFinish(ctx, &store.RunFinishParams{RunID: run.ID, Epoch: epoch, State: drills.RunFailed, Reason: "the operator was not reached"}); err != nil {
		t.Fatal(err)
	}
	all, err := f.st.RunEventList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := all[len(all)-1].Seq
	if got, err := f.ctl.RunEventsAfter(ctx, kim, &control.RunEventsParams{RunID: run.ID, After: 4}); err != nil || !got.Complete || got.Events[len(got.Events)-1].Seq != last {
		t.Errorf("after the end: %+v, %v; want complete up to seq %d", got, err, last)
	}
	if got, err := f.ctl.RunEventsAfter(ctx, kim, &control.RunEventsParams{RunID: run.ID, Limit: 2}); err != nil || got.Complete || len(got.Events) != 2 {
		t.Errorf("limit 2 of an ended run: %+v, %v; want 2 events and not complete", got, err)
	}
	if got, err := f.ctl.RunEventsAfter(ctx, kim, &control.RunEventsParams{RunID: run.ID, After: last}); err != nil || !got.Complete || len(got.Events) != 0 {
		t.Errorf("after the last of an ended run: %+v, %v; want complete and empty", got, err)
	}

	for _, bad := range []struct {
		p     control.RunEventsParams
		field string
	}{
		{control.RunEventsParams{}, "id"},
		{control.RunEventsParams{RunID: run.ID, After: -1}, "after"},
		{control.RunEventsParams{RunID: run.ID, Limit: control.MaxRunEventsLimit + 1}, "limit"},
	} {
		e := wantCategory(t, "RunEventsAfter "+bad.field, func() error { _, err := f.ctl.RunEventsAfter(ctx, kim, &bad.p); return err }(), control.CategoryInvalid)
		if e.Field != bad.field {
			t.Errorf("RunEventsAfter(%+v) field %q, want %q", bad.p, e.Field, bad.field)
		}
	}
	wantCategory(t, "RunEventsAfter of an unknown run", func() error {
		_, err := f.ctl.RunEventsAfter(ctx, kim, &control.RunEventsParams{RunID: "nope"})
		return err
	}(), control.CategoryNotFound)
	wantCategory(t, "RunEventsAfter without a role", func() error {
		_, err := f.ctl.RunEventsAfter(ctx, nobody, &control.RunEventsParams{RunID: run.ID})
		return err
	}(), control.CategoryForbidden)
	wantCategory(t, "RunObjectives without a role", func() error { _, err := f.ctl.RunObjectives(ctx, nobody, run.ID); return err }(), control.CategoryForbidden)
	if denied := f.operations(&store.OperationListParams{Target: run.ID, ActorName: "nobody", Outcome: store.OutcomeDenied}); len(denied) != 2 {
		t.Errorf("%d refusals recorded for nobody, want 2", len(denied))
	}

	// The objectives are the recorded estate's, for the plan's services, strictest first.
	objs, err := f.ctl.RunObjectives(ctx, kim, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) == 0 || !slices.IsSortedFunc(objs, func(a, b control.ObjectiveView) int { return int(a.RTOObjectiveMS - b.RTOObjectiveMS) }) {
		t.Fatalf("objectives %+v: want the plan's services, strictest RTO first", objs)
	}
	for _, o := range objs {
		svc := f.estate.Service(o.Service)
		if svc == nil || svc.RTO.Milliseconds() != o.RTOObjectiveMS || svc.RPO.Milliseconds() != o.RPOObjectiveMS {
			t.Errorf("objective %+v does not match the estate's service", o)
		}
	}
}
