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

// drillAuth runs one drill of the test plan (auth) to its end on the fixture's clock: the
// disaster, an optional failed step, the given measurement of auth.
func (f *fixture) drillAuth(requester *control.Caller, state drills.RunState, failStep string, auth store.MeasurementInput) string {
	f.t.Helper()
	ctx := context.Background()
	id := f.submit(requester).ID
	epoch, err := f.st.RunClaim(ctx, &store.RunClaimParams{RunID: id, Owner: "test", LeaseFor: time.Hour})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.RunStateSet(ctx, &store.RunStateSetParams{RunID: id, Epoch: epoch, State: drills.RunRunning}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.RunMilestone(ctx, &store.RunMilestoneParams{RunID: id, Epoch: epoch, Milestone: drills.MilestoneDisaster}); err != nil {
		f.t.Fatal(err)
	}
	if failStep != "" {
		step, err := f.st.StepStart(ctx, &store.StepStartParams{RunID: id, Epoch: epoch, Seq: 1, Key: failStep, Action: "nomad.run_job", Service: "auth", Timeout: time.Minute})
		if err != nil {
			f.t.Fatal(err)
		}
		if err := f.st.StepFinish(ctx, &store.StepFinishParams{RunID: id, Epoch: epoch, StepID: step, State: drills.StepFailed, Error: "no capacity on yatap"}); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := f.st.RunFinish(ctx, &store.RunFinishParams{RunID: id, Epoch: epoch, State: state, Measurements: []store.MeasurementInput{auth}}); err != nil {
		f.t.Fatalf("RunFinish: %v", err)
	}
	return id
}

// The findings lifecycle, on the fake clock: a failed drill records its findings with a due
// date; past it they are overdue; a compliance officer carries one by an accepted risk; an
// SRE fixes another, which stays overdue until a later passing drill retests it; then nothing
// is overdue. Nobody but that drill closes a finding.
func TestFindingLifecycle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alice, _ := f.person("alice", drills.RoleSRE)
	kim, _ := f.person("kim", drills.RoleCompliance)
	vic, _ := f.person("vic", drills.RoleViewer)
	sec, slow, yes := time.Second, 2*time.Hour, true
	missed := store.MeasurementInput{Service: "auth", Criticality: drills.CriticalityCore, RTOObjective: time.Hour, RTOActual: &slow, Restored: true,
		RPOObjective: time.Minute, RPOActual: &sec, RPOMet: &yes}

	failed := f.drillAuth(alice, drills.RunFailed, "start-on-yatap", missed)
	ended := f.clk.Now()
	view, err := f.ctl.RunGet(ctx, vic, failed)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []drills.FindingKind
	for _, fv := range view.Findings {
		kinds = append(kinds, fv.Kind)
		if fv.Status != drills.FindingOpen || fv.DueAt == nil || !fv.DueAt.Equal(ended.Add(store.DefaultFindingDue)) || fv.Overdue || fv.RunID != failed {
			t.Errorf("%s = %+v; want open, due %s, not overdue, of run %s", fv.ID, fv, ended.Add(store.DefaultFindingDue), failed)
		}
	}
	if want := []drills.FindingKind{drills.FindingStepFailed, drills.FindingObjectiveMissed}; !slices.Equal(kinds, want) {
		t.Fatalf("findings of the failed drill = %v, want %v", kinds, want)
	}
	stepFinding, rtoFinding := view.Findings[0].ID, view.Findings[1].ID

	// A day past the due date both are overdue.
	f.clk.Advance(store.DefaultFindingDue + 24*time.Hour)
	overdue := func() []string {
		t.Helper()
		list, err := f.ctl.FindingList(ctx, vic, &control.FindingListParams{Overdue: true})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, fv := range list.Findings {
			if !fv.Overdue {
				t.Errorf("%s listed as overdue, but its view says not", fv.ID)
			}
			ids = append(ids, fv.ID)
		}
		return ids
	}
	if got := overdue(); !slices.Equal(got, []string{stepFinding, rtoFinding}) {
		t.Fatalf("overdue = %v, want both findings", got)
	}

	// Only a compliance officer accepts a risk, with a reason; it covers the finding.
	wantCategory(t, "an SRE accepting a risk", func() error {
		_, err := f.ctl.FindingAcceptRisk(ctx, alice, &control.FindingAcceptRiskParams{ID: rtoFinding, Reason: "x"})
		return err
	}(), control.CategoryForbidden)
	wantCategory(t, "accepting a risk without a reason", func() error {
		_, err := f.ctl.FindingAcceptRisk(ctx, kim, &control.FindingAcceptRiskParams{ID: rtoFinding, Reason: "  "})
		return err
	}(), control.CategoryInvalid)
	d, err := f.ctl.FindingAcceptRisk(ctx, kim, &control.FindingAcceptRiskParams{ID: rtoFinding, Reason: "auth's RTO objective is under review by the board"})
	if err != nil || d.Finding.Status != drills.FindingRiskAccepted || d.Finding.Overdue || d.Finding.RiskAcceptedBy == nil || *d.Finding.RiskAcceptedBy != kim.Actor {
		t.Fatalf("FindingAcceptRisk = %+v, %v", d, err)
	}

	// The SRE fixes the other: fixed is not closed, so it stays overdue.
	wantCategory(t, "setting retested by hand", func() error {
		_, err := f.ctl.FindingUpdate(ctx, alice, &control.FindingUpdateParams{ID: stepFinding, Status: ptr("retested")})
		return err
	}(), control.CategoryInvalid)
	d, err = f.ctl.FindingUpdate(ctx, alice, &control.FindingUpdateParams{ID: stepFinding, Status: ptr("fixed"), Owner: ptr("alice"),
		RootCause: ptr("yatap's node pool was half the size of sangam's"), Comment: "pool resized, CHG-7"})
	if err != nil || d.Finding.Status != drills.FindingFixed || d.Finding.Owner != "alice" || len(d.History) != 2 || d.History[1].Comment != "pool resized, CHG-7" {
		t.Fatalf("FindingUpdate = %+v, %v", d, err)
	}
	if got := overdue(); !slices.Equal(got, []string{stepFinding}) {
		t.Fatalf("overdue after the risk acceptance and the fix = %v, want %s only", got, stepFinding)
	}

	// A later passing drill of auth retests the fixed finding; the accepted risk stays.
	met := missed
	met.RTOActual, met.RTOMet = &sec, true
	passed := f.drillAuth(alice, drills.RunSucceeded, "", met)
	d, err = f.ctl.FindingGet(ctx, vic, stepFinding)
	if err != nil || d.Finding.Status != drills.FindingRetested || d.Finding.ClosedByRunID != passed || d.Finding.Overdue {
		t.Fatalf("after the passing drill: %+v, %v; want retested by %s", d, err, passed)
	}
	if last := d.History[len(d.History)-1]; last.By != store.FindingSystemActor || last.Changes["status"] != (control.FindingChangeView{From: "fixed", To: "retested"}) {
		t.Errorf("last history entry = %+v, want firedrill retesting it", last)
	}
	if d, _ := f.ctl.FindingGet(ctx, vic, rtoFinding); d.Finding.Status != drills.FindingRiskAccepted {
		t.Errorf("the accepted risk after the passing drill = %s, want risk_accepted", d.Finding.Status)
	}
	if got := overdue(); len(got) != 0 {
		t.Errorf("overdue after the retest = %v, want none", got)
	}
	wantCategory(t, "changing a retested finding", func() error {
		_, err := f.ctl.FindingUpdate(ctx, kim, &control.FindingUpdateParams{ID: stepFinding, Owner: ptr("kim")})
		return err
	}(), control.CategoryConflict)

	// Every change is in the operations log, and so the audit chain.
	for _, op := range []string{"finding.accept_risk", "finding.update", store.OperationFindingsAtFinish} {
		if len(f.operations(&store.OperationListParams{Operation: op, Outcome: store.OutcomeOK})) == 0 {
			t.Errorf("no %s recorded", op)
		}
	}
}

func TestFindingAddAndRunRecordRefuseBadInput(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	kim, _ := f.person("kim", drills.RoleCompliance)
	run := f.submit(func() *control.Caller { c, _ := f.person("alice", drills.RoleSRE); return c }())
	for _, c := range []struct {
		p     control.FindingAddParams
		field string
	}{
		{control.FindingAddParams{Severity: "low"}, "title"},
		{control.FindingAddParams{Title: "x", Severity: "dire"}, "severity"},
		{control.FindingAddParams{Title: "x", Severity: "low", Service: "atlantis"}, "service"},
		{control.FindingAddParams{Title: "x", Severity: "low", DueAt: "next week"}, "due_at"},
		{control.FindingAddParams{Title: "x", Severity: "low", RunID: "nope"}, "run_id"},
	} {
		_, err := f.ctl.FindingAdd(ctx, kim, &c.p)
		if e := wantCategory(t, "FindingAdd", err, control.CategoryInvalid); e.Field != c.field {
			t.Errorf("FindingAdd(%+v) names field %q, want %q", c.p, e.Field, c.field)
		}
	}
	d, err := f.ctl.FindingAdd(ctx, kim, &control.FindingAddParams{Title: "runbook out of date", Severity: "low", RunID: run.ID, DueAt: "2027-02-01"})
	if err != nil || d.Finding.Plan != run.Plan || !d.Finding.DueAt.Equal(time.Date(2027, 2, 1, 23, 59, 59, 999e6, time.UTC)) {
		t.Fatalf("FindingAdd = %+v, %v", d, err)
	}
	if _, err := f.ctl.FindingUpdate(ctx, kim, &control.FindingUpdateParams{ID: d.Finding.ID}); control.CategoryOf(err) != control.CategoryInvalid {
		t.Errorf("an update changing nothing = %v, want invalid", err)
	}
	for _, c := range []struct {
		p     control.RunParticipantsParams
		field string
	}{
		{control.RunParticipantsParams{RunID: run.ID}, "participants"},
		{control.RunParticipantsParams{RunID: run.ID, Participants: []control.ParticipantParams{{Name: "kim"}}}, "participants[0].role"},
		{control.RunParticipantsParams{RunID: run.ID, Participants: []control.ParticipantParams{{Name: "kim", Role: "a"}, {Name: "kim", Role: "b"}}}, "participants[1].name"},
	} {
		_, err := f.ctl.RunParticipantsRecord(ctx, kim, &c.p)
		if e := wantCategory(t, "RunParticipantsRecord", err, control.CategoryInvalid); e.Field != c.field {
			t.Errorf("RunParticipantsRecord(%+v) names field %q, want %q", c.p, e.Field, c.field)
		}
	}
	if _, err := f.ctl.RunNoteAdd(ctx, kim, &control.RunNoteParams{RunID: run.ID, Kind: "lesson"}); control.CategoryOf(err) != control.CategoryInvalid {
		t.Errorf("a note without text = %v, want invalid", err)
	}
}

func ptr[T any](v T) *T { return &v }

// A run's participants are recorded against the plan's participant blocks: a person the plan
// names is intended whatever the caller says, anyone else is not unless said so, and an
// intended person nobody recorded shows as not attended. A later record corrects an earlier one.
func TestRunParticipantsAgainstThePlan(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alice, _ := f.person("alice", drills.RoleSRE)
	kim, _ := f.person("kim", drills.RoleCompliance)
	run := f.submit(alice)
	views, err := f.ctl.RunParticipantsRecord(ctx, alice, &control.RunParticipantsParams{RunID: run.ID, Participants: []control.ParticipantParams{
		{Name: "kim", Role: "incident commander"}, {Name: "park", Role: "network", Attended: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ctl.RunParticipantsRecord(ctx, kim, &control.RunParticipantsParams{RunID: run.ID, Participants: []control.ParticipantParams{
		{Name: "kim", Role: "incident commander", Attended: true},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ctl.RunNoteAdd(ctx, kim, &control.RunNoteParams{RunID: run.ID, Kind: "deviation", Text: "lee was on leave"}); err != nil {
		t.Fatal(err)
	}
	v, err := f.ctl.RunGet(ctx, kim, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		name               string
		intended, attended bool
		recorded           bool
	}
	var got []row
	for _, p := range v.Participants {
		got = append(got, row{p.Name, p.Intended, p.Attended, p.RecordedBy != nil})
	}
	want := []row{{"kim", true, true, true}, {"park", false, true, true}, {"lee", true, false, false}}
	if !slices.Equal(got, want) {
		t.Errorf("participants = %+v, want %+v", got, want)
	}
	if len(views) != 3 {
		t.Errorf("RunParticipantsRecord returned %d participants, want the recorded two and lee", len(views))
	}
	if len(v.Notes) != 1 || v.Notes[0].Kind != "deviation" || v.Notes[0].By != kim.Actor {
		t.Errorf("notes = %+v", v.Notes)
	}
	if n := len(f.operations(&store.OperationListParams{Operation: string(control.OpRunRecord), Target: run.ID})); n != 2 {
		t.Errorf("%d run.record operations recorded, want 2", n)
	}
}
