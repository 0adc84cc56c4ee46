package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/examples"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// saveExampleEstate stores the example estate: auth <- payments <- remittance.
func saveExampleEstate(t *testing.T, s *store.Store) {
	t.Helper()
	src, err := examples.FS.ReadFile("firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := drills.ParseEstate(src, "firedrill.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := s.EstateSave(context.Background(), cfg, src); err != nil {
		t.Fatal(err)
	}
}

func met(service string) store.MeasurementInput {
	rto, rpo := 2*time.Minute, time.Second
	return store.MeasurementInput{Service: service, Criticality: drills.CriticalityCore, RTOObjective: 5 * time.Minute,
		RTOActual: &rto, Restored: true, RTOMet: true, RPOObjective: time.Minute, RPOActual: &rpo, RPOMet: ptr(true)}
}

// drill runs one drill of b's plan to its end at base+offset: a failed step when failStep
// is set, the disaster, and the measurements given.
func drill(t *testing.T, s *store.Store, offset time.Duration, state drills.RunState, failStep string, ms ...store.MeasurementInput) *store.Run {
	t.Helper()
	ctx := context.Background()
	b := setup(t, s)
	if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunRunning, At: at(offset)}); err != nil {
		t.Fatal(err)
	}
	if err := s.RunMilestone(ctx, &store.RunMilestoneParams{RunID: b.run.ID, Epoch: b.epoch, Milestone: drills.MilestoneDisaster, At: at(offset + time.Second)}); err != nil {
		t.Fatal(err)
	}
	if failStep != "" {
		id, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Seq: 1, Key: failStep, Action: "postgres.promote",
			Service: "payments", Idempotent: true, Timeout: time.Minute, At: at(offset + 2*time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: b.run.ID, Epoch: b.epoch, StepID: id, State: drills.StepFailed,
			Error: "standby refused promotion", At: at(offset + 3*time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RunFinish(ctx, &store.RunFinishParams{RunID: b.run.ID, Epoch: b.epoch, State: state, At: at(offset + time.Minute),
		Measurements: ms}); err != nil {
		t.Fatalf("RunFinish: %v", err)
	}
	r, err := s.RunGet(ctx, b.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func allFindings(t *testing.T, s *store.Store, p *store.FindingListParams) []*store.Finding {
	t.Helper()
	page, err := s.FindingList(context.Background(), p)
	if err != nil {
		t.Fatalf("FindingList: %v", err)
	}
	return page.Findings
}

func kindsOf(fs []*store.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f.Kind) + ":" + f.Service
	}
	return out
}

func TestRunFinishRecordsFindingsAndAPassingRunRetestsThem(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		saveExampleEstate(t, s)
		slow := met("payments")
		slow.RTOActual, slow.RTOMet = ptr(9*time.Minute), false
		slow.RPOActual, slow.RPOMet = nil, nil
		failed := drill(t, s, 0, drills.RunFailed, "promote-ledger", slow)

		got := allFindings(t, s, &store.FindingListParams{RunID: failed.ID})
		want := []string{"step_failed:payments", "objective_missed:payments", "objective_not_evidenced:payments", "dependency_uncovered:payments"}
		if !slices.Equal(kindsOf(got), want) {
			t.Fatalf("findings of the failed run = %v, want %v", kindsOf(got), want)
		}
		due := failed.EndedAt.Add(store.DefaultFindingDue)
		for _, f := range got {
			if f.Status != drills.FindingOpen || f.DueAt == nil || !f.DueAt.Equal(due) || f.Plan != failed.PlanName || f.CreatedBy != store.FindingSystemActor {
				t.Errorf("%s = status %s due %v plan %q by %v; want open, due %v, plan %s, by firedrill", f.ID, f.Status, f.DueAt, f.Plan, f.CreatedBy, due, failed.PlanName)
			}
		}
		if got[0].StepKey != "promote-ledger" || got[0].Description != "standby refused promotion" {
			t.Errorf("step finding = %+v", got[0])
		}
		if got[3].Title != "payments was failed over without auth, which it depends on" {
			t.Errorf("dependency finding title = %q", got[3].Title)
		}
		ops, err := s.OperationList(ctx, &store.OperationListParams{Operation: store.OperationFindingsAtFinish, Target: failed.ID})
		if err != nil || len(ops) != 1 {
			t.Fatalf("operations recording the findings = %v, %v; want one", ops, err)
		}

		// A finding without a service, of the same plan, and one of another service.
		planWide, err := s.FindingInsert(ctx, &store.FindingInsertParams{Title: "runbook out of date", Severity: drills.SeverityLow, Plan: failed.PlanName, By: person("carol")})
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.FindingInsert(ctx, &store.FindingInsertParams{Title: "remittance alert missing", Severity: drills.SeverityMedium, Service: "remittance", By: person("carol")})
		if err != nil {
			t.Fatal(err)
		}
		accepted, err := s.FindingAcceptRisk(ctx, &store.FindingAcceptRiskParams{ID: got[2].ID, Reason: "no canary until Q3", By: person("carol")})
		if err != nil || accepted.Status != drills.FindingRiskAccepted || accepted.RiskAcceptedBy.Name != "carol" {
			t.Fatalf("FindingAcceptRisk = %+v, %v", accepted, err)
		}
		if _, err := s.FindingUpdate(ctx, &store.FindingUpdateParams{ID: got[1].ID, Status: ptr(drills.FindingFixed), Owner: ptr("dana"), By: person("dana")}); err != nil {
			t.Fatal(err)
		}

		// A forced run passes nothing; a passing run of payments and auth retests.
		drill(t, s, time.Hour, drills.RunFailed, "", met("payments"), met("auth"))
		passed := drill(t, s, 2*time.Hour, drills.RunSucceeded, "", met("payments"), met("auth"))
		for _, c := range []struct {
			id     string
			status drills.FindingStatus
		}{
			{got[0].ID, drills.FindingRetested}, {got[1].ID, drills.FindingRetested}, {got[2].ID, drills.FindingRiskAccepted},
			{got[3].ID, drills.FindingRetested}, {planWide.ID, drills.FindingRetested}, {other.ID, drills.FindingOpen},
		} {
			f, err := s.FindingGet(ctx, c.id)
			if err != nil {
				t.Fatal(err)
			}
			if f.Status != c.status {
				t.Errorf("%s (%s) after the passing run = %s, want %s", f.ID, f.Title, f.Status, c.status)
			}
			if (f.Status == drills.FindingRetested) != (f.ClosedByRunID == passed.ID) {
				t.Errorf("%s closed by %q, want %s exactly when retested", f.ID, f.ClosedByRunID, passed.ID)
			}
		}
		if n := len(allFindings(t, s, &store.FindingListParams{RunID: passed.ID})); n != 0 {
			t.Errorf("the passing run recorded %d findings, want none", n)
		}
		hist, err := s.FindingUpdateList(ctx, got[1].ID)
		if err != nil || len(hist) != 3 {
			t.Fatalf("history of %s = %d entries, %v; want created, fixed, retested", got[1].ID, len(hist), err)
		}
		if hist[1].Changes["owner"].To != "dana" || hist[2].Changes["status"] != (store.FindingChange{From: "fixed", To: "retested"}) || hist[2].By != store.FindingSystemActor {
			t.Errorf("history = %+v %+v", hist[1], hist[2])
		}

		// Closed is final; retested and risk_accepted are not set by hand.
		if _, err := s.FindingUpdate(ctx, &store.FindingUpdateParams{ID: got[0].ID, Owner: ptr("x"), By: person("dana")}); !errors.Is(err, store.ErrFindingClosed) {
			t.Errorf("updating a retested finding = %v, want ErrFindingClosed", err)
		}
		for _, st := range []drills.FindingStatus{drills.FindingRetested, drills.FindingRiskAccepted, "gone"} {
			if _, err := s.FindingUpdate(ctx, &store.FindingUpdateParams{ID: other.ID, Status: &st, By: person("dana")}); !errors.Is(err, store.ErrFindingStatus) {
				t.Errorf("FindingUpdate(status %s) = %v, want ErrFindingStatus", st, err)
			}
		}
		// Withdrawing an accepted risk reopens the finding without the acceptance.
		reopened, err := s.FindingUpdate(ctx, &store.FindingUpdateParams{ID: got[2].ID, Status: ptr(drills.FindingInProgress), By: person("dana")})
		if err != nil || reopened.Status != drills.FindingInProgress || reopened.RiskReason != "" || !reopened.RiskAcceptedBy.IsZero() {
			t.Errorf("withdrawing the risk = %+v, %v", reopened, err)
		}
	})
}

func TestDependencyDrilledWithinAYearIsCovered(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		saveExampleEstate(t, s)
		drill(t, s, 0, drills.RunSucceeded, "", met("auth"))
		r := drill(t, s, 300*24*time.Hour, drills.RunSucceeded, "", met("payments"))
		if got := allFindings(t, s, &store.FindingListParams{RunID: r.ID}); len(got) != 0 {
			t.Errorf("payments drilled 300 days after auth: findings %v, want none", kindsOf(got))
		}
		late := drill(t, s, 400*24*time.Hour, drills.RunSucceeded, "", met("payments"))
		if got := kindsOf(allFindings(t, s, &store.FindingListParams{RunID: late.ID})); !slices.Equal(got, []string{"dependency_uncovered:payments"}) {
			t.Errorf("payments drilled 400 days after auth: findings %v, want the uncovered dependency", got)
		}
	})
}

func TestFindingListOverdueAndPages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var ids []string
		for i := range 5 {
			due := at(time.Duration(i) * 24 * time.Hour)
			f, err := s.FindingInsert(ctx, &store.FindingInsertParams{Title: "f", Severity: drills.SeverityLow, DueAt: &due, By: person("carol")})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, f.ID)
		}
		if _, err := s.FindingAcceptRisk(ctx, &store.FindingAcceptRiskParams{ID: ids[0], Reason: "accepted", By: person("carol")}); err != nil {
			t.Fatal(err)
		}
		now := at(3*24*time.Hour - time.Minute)
		overdue := allFindings(t, s, &store.FindingListParams{OverdueAt: &now})
		if got := []string{overdue[0].ID, overdue[1].ID}; len(overdue) != 2 || !slices.Equal(got, ids[1:3]) {
			t.Errorf("overdue = %v, want %v (the accepted risk is not overdue)", kindsOf(overdue), ids[1:3])
		}
		for _, f := range overdue {
			if !f.Overdue(now) {
				t.Errorf("%s listed overdue but Overdue(now) = false", f.ID)
			}
		}
		page, err := s.FindingList(ctx, &store.FindingListParams{Limit: 2})
		if err != nil || len(page.Findings) != 2 || page.Next == 0 {
			t.Fatalf("first page = %+v, %v", page, err)
		}
		var seen []string
		for p := (&store.FindingListParams{Limit: 2}); ; {
			page, err := s.FindingList(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range page.Findings {
				seen = append(seen, f.ID)
			}
			if page.Next == 0 {
				break
			}
			p.AfterSeq = page.Next
		}
		if !slices.Equal(seen, ids) {
			t.Errorf("paged = %v, want %v", seen, ids)
		}
	})
}

func TestRunParticipantsAndNotes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		if err := s.RunParticipantsRecord(ctx, &store.RunParticipantsRecordParams{RunID: b.run.ID, By: person("carol"), At: at(0), Participants: []store.ParticipantInput{
			{Name: "kim", Role: "incident commander", Intended: true},
			{Name: "lee", Role: "dba", Intended: true, Attended: true},
		}}); err != nil {
			t.Fatal(err)
		}
		if err := s.RunParticipantsRecord(ctx, &store.RunParticipantsRecordParams{RunID: b.run.ID, By: person("carol"), At: at(time.Minute), Participants: []store.ParticipantInput{
			{Name: "kim", Role: "incident commander", Attended: true},
			{Name: "park", Role: "network", Attended: true},
		}}); err != nil {
			t.Fatal(err)
		}
		ps, err := s.RunParticipantsList(ctx, b.run.ID)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			name               string
			intended, attended bool
		}
		var got []row
		for _, p := range ps {
			got = append(got, row{p.Name, p.Intended, p.Attended})
		}
		if want := []row{{"kim", true, true}, {"lee", true, true}, {"park", false, true}}; !slices.Equal(got, want) {
			t.Errorf("participants = %v, want %v", got, want)
		}
		if err := s.RunParticipantsRecord(ctx, &store.RunParticipantsRecordParams{RunID: "nope", By: person("carol"),
			Participants: []store.ParticipantInput{{Name: "kim", Role: "x"}}}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("participants of an unknown run = %v, want ErrNotFound", err)
		}
		for _, n := range []struct{ kind, text string }{{store.NoteDeviation, "failover started 20 minutes late"}, {store.NoteLesson, "page the DBA first"}} {
			if _, err := s.RunNoteAdd(ctx, &store.RunNoteAddParams{RunID: b.run.ID, Kind: n.kind, Text: n.text, By: person("carol")}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.RunNoteAdd(ctx, &store.RunNoteAddParams{RunID: b.run.ID, Kind: "rumour", Text: "x", By: person("carol")}); err == nil {
			t.Error("a note of kind rumour was recorded")
		}
		notes, err := s.RunNotesList(ctx, b.run.ID)
		if err != nil || len(notes) != 2 || notes[0].Kind != store.NoteDeviation || notes[1].Text != "page the DBA first" {
			t.Errorf("notes = %+v, %v", notes, err)
		}
		for _, stmt := range []string{"UPDATE run_notes SET text = 'x'", "DELETE FROM run_participants"} {
			if err := s.DBForTest().Exec(stmt).Error; err == nil {
				t.Errorf("%s succeeded: the table must be append-only", stmt)
			}
		}
	})
}
