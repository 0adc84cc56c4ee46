package control_test

import (
	"context"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// A run's summary and view say it passed only by drills.Passed over what its measurements
// prove: an RPO never measured is not evidenced, and the run did not pass, whatever
// objectives_met was recorded.
func TestRunViewsPassOnlyOnEvidence(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alice, _ := f.person("alice", drills.RoleSRE)
	sec, yes := time.Second, true
	measured := store.MeasurementInput{Service: "payments", RTOActual: &sec, Restored: true, RTOMet: true, RPOActual: &sec, RPOMet: &yes}
	finish := func(auth store.MeasurementInput) string {
		t.Helper()
		id := f.submit(alice).ID
		epoch, err := f.st.RunClaim(ctx, &store.RunClaimParams{RunID: id, Owner: "test", LeaseFor: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.st.RunStateSet(ctx, &store.RunStateSetParams{RunID: id, Epoch: epoch, State: drills.RunRunning}); err != nil {
			t.Fatal(err)
		}
		if err := f.st.RunMilestone(ctx, &store.RunMilestoneParams{RunID: id, Epoch: epoch, Milestone: drills.MilestoneDisaster}); err != nil {
			t.Fatal(err)
		}
		// objectives_met recorded true, as an older version recorded it without an RPO figure.
		if err := f.st.RunFinish(ctx, &store.RunFinishParams{RunID: id, Epoch: epoch, State: drills.RunSucceeded, ObjectivesMet: &yes,
			Measurements: []store.MeasurementInput{auth, measured}}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	noRPO := finish(store.MeasurementInput{Service: "auth", RTOActual: &sec, Restored: true, RTOMet: true})
	auth := measured
	auth.Service = "auth"
	passed := finish(auth)

	list, err := f.ctl.RunListGet(ctx, alice, &control.RunListParams{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]control.RunSummary{}
	for _, r := range list.Runs {
		byID[r.ID] = r
	}
	if r := byID[noRPO]; r.Passed || r.ObjectivesMet == nil || *r.ObjectivesMet {
		t.Errorf("list: run without auth's RPO passed %v, objectives met %v; want false, false", r.Passed, r.ObjectivesMet)
	}
	if r := byID[passed]; !r.Passed || r.ObjectivesMet == nil || !*r.ObjectivesMet {
		t.Errorf("list: fully evidenced run passed %v, objectives met %v; want true, true", r.Passed, r.ObjectivesMet)
	}
	v, err := f.ctl.RunGet(ctx, alice, noRPO)
	if err != nil {
		t.Fatal(err)
	}
	if v.Run.Passed || len(v.Services) != 2 {
		t.Fatalf("view: passed %v, %d services; want not passed, 2", v.Run.Passed, len(v.Services))
	}
	for _, s := range v.Services {
		want := drills.EvidenceMet
		if s.Service == "auth" {
			want = drills.EvidenceNotEvidenced
		}
		if s.RPOEvidence != want || s.RTOEvidence != drills.EvidenceMet || s.Met != (want == drills.EvidenceMet) {
			t.Errorf("view: %s RTO %s RPO %s met %v; want RTO met, RPO %s", s.Service, s.RTOEvidence, s.RPOEvidence, s.Met, want)
		}
	}
}
