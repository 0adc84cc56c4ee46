package report_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/examples"
	"github.com/firedrill/firedrill/internal/clock/clocktest"
	oreport "github.com/firedrill/firedrill/orchestrator/report"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
	"github.com/firedrill/firedrill/report"
)

var year = report.PeriodRef{Name: "2026", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}

// listing stands in for the profile evaluation (part A), which this package only carries: it
// lists each estate service with the drills that measured it, so the test can see what the
// gatherer handed it.
type listing struct {
	drillsSeen []*oreport.DrillFacts
}

func (l *listing) Scope(profile, period, lang string) (*oreport.Scope, error) {
	if profile != "kr-efsr" {
		return nil, &oreport.InvalidError{Field: "profile", Message: "unknown profile " + profile}
	}
	return &oreport.Scope{Profile: report.ProfileRef{ID: profile, Title: "전자금융감독규정"}, Period: year, Lang: "ko"}, nil
}

func (l *listing) Evaluate(_ context.Context, _ *oreport.Scope, f *oreport.Facts) (*oreport.Evaluation, error) {
	for d, err := range f.Drills {
		if err != nil {
			return nil, err
		}
		l.drillsSeen = append(l.drillsSeen, d)
	}
	ev := &oreport.Evaluation{Status: drills.Compliant}
	for _, s := range f.Estate.Services {
		ev.Services = append(ev.Services, report.Service{Service: s.Name, Criticality: string(s.Criticality), Status: drills.Compliant,
			RTOObjectiveMS: s.RTO.Milliseconds(), RPOObjectiveMS: s.RPO.Milliseconds(), RTOEvidence: drills.EvidenceMet, RPOEvidence: drills.EvidenceMet})
	}
	return ev, nil
}

func estate(t *testing.T) *drills.Estate {
	t.Helper()
	src, err := examples.FS.ReadFile("firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	est, diags := drills.ParseEstate(src, "firedrill.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return est
}

// drill records an ended run the way the runner does: claimed, running, a step, the
// disaster, and its end with a measurement of each service.
func drill(t *testing.T, s *store.Store, plan *store.PlanRecord, t0 time.Time, restored map[string]time.Duration) string {
	t.Helper()
	ctx := context.Background()
	run, err := s.RunInsert(ctx, &store.RunInsertParams{PlanID: plan.ID, PlanName: plan.Name, FromSite: "sangam", ToSite: "yatap",
		RequestedBy: drills.Actor{Kind: drills.ActorSchedule, Name: "yearly"}})
	if err != nil {
		t.Fatal(err)
	}
	epoch, err := s.RunClaim(ctx, &store.RunClaimParams{RunID: run.ID, Owner: "replica-a", LeaseFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: run.ID, Epoch: epoch, State: drills.RunRunning, At: t0.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	id, err := s.StepStart(ctx, &store.StepStartParams{RunID: run.ID, Epoch: epoch, Seq: 1, Key: "lose-sangam", Name: "Lose Sangam",
		Action: "nomad.drain_site", Site: "sangam", Idempotent: true, Timeout: time.Minute, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: run.ID, Epoch: epoch, StepID: id, State: drills.StepSucceeded, At: t0.Add(200 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if err := s.RunMilestone(ctx, &store.RunMilestoneParams{RunID: run.ID, Epoch: epoch, Milestone: drills.MilestoneDisaster, At: t0}); err != nil {
		t.Fatal(err)
	}
	var ms []store.MeasurementInput
	var last time.Duration
	for _, svc := range []string{"auth", "payments"} {
		d, ok := restored[svc]
		if !ok {
			continue
		}
		at := t0.Add(d)
		rpo := 300 * time.Millisecond
		lost := int64(3)
		ms = append(ms, store.MeasurementInput{Service: svc, RTOObjective: time.Hour, RTOActual: &d, Restored: true, RestoredAt: &at, RTOMet: true,
			RPOObjective: 5 * time.Second, RPOActual: &rpo, RPOLostRows: &lost, RPOMet: new(true), Resolution: 50 * time.Millisecond,
			RPOInputs: &drills.RPOInputs{FirstPrimarySeq: 1, FirstPrimaryAt: t0.Add(-time.Minute), LastPrimarySeq: 60, LastPrimaryAt: t0.Add(-100 * time.Millisecond),
				LastDRSeq: 57, LastDRAt: t0.Add(-400 * time.Millisecond), Evidenced: true}})
		last = max(last, d)
	}
	if err := s.RunFinish(ctx, &store.RunFinishParams{RunID: run.ID, Epoch: epoch, State: drills.RunSucceeded, At: t0.Add(time.Minute),
		RTOActual: &last, ObjectivesMet: new(true), Measurements: ms, T0: &t0}); err != nil {
		t.Fatal(err)
	}
	return run.ID
}

func TestExportedBundleVerifiesAgainstTheStoredAuditChain(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		plan, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "site-loss", File: "plans/site-loss.hcl",
			Source: []byte(`plan "site-loss" { description = "sangam burns" }`)})
		if err != nil {
			t.Fatal(err)
		}
		// Three drills, read two at a time: the gatherer pages through them on every walk.
		t0 := time.Now().UTC().Add(-time.Hour)
		first := drill(t, s, plan, t0, map[string]time.Duration{"auth": 400*time.Millisecond + 123*time.Microsecond, "payments": 900 * time.Millisecond})
		second := drill(t, s, plan, t0.Add(time.Minute), map[string]time.Duration{"payments": 700*time.Millisecond + 999*time.Microsecond})
		third := drill(t, s, plan, t0.Add(2*time.Minute), map[string]time.Duration{"auth": 250 * time.Millisecond, "payments": 800 * time.Millisecond})
		ev := &listing{}
		g, err := oreport.New(oreport.Config{Store: s, Compliance: ev, PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		scope, err := g.Scope("kr-efsr", "2026", "")
		if err != nil {
			t.Fatal(err)
		}
		seed := sha256.Sum256([]byte("gatherer test"))
		key := ed25519.NewKeyFromSeed(seed[:])
		var buf bytes.Buffer
		m, h, err := g.Export(ctx, &buf, &oreport.ExportParams{Scope: scope, ID: "R-1", Version: 1, Institution: "Example Bank",
			GeneratedBy: "lee", Now: time.Now(), Estate: estate(t), Key: key})
		if err != nil {
			t.Fatalf("Export: %v", err)
		}
		if len(ev.drillsSeen) != 3 || ev.drillsSeen[0].RunID != first || ev.drillsSeen[1].RunID != second || ev.drillsSeen[2].RunID != third {
			t.Fatalf("the evaluation saw %d drills, want the 3 recorded, oldest first", len(ev.drillsSeen))
		}
		if h.Summary.Drills != 3 || h.Summary.DrillsPassed != 3 || h.Summary.Services != 3 || h.Summary.Compliant != 3 {
			t.Errorf("summary = %+v", h.Summary)
		}
		for _, svc := range h.Services {
			switch svc.Service {
			case "auth":
				if svc.RTOMeasuredRun != third || svc.RTOMeasuredMS == nil || *svc.RTOMeasuredMS != 250 {
					t.Errorf("auth's figure comes from %s (%v), want the latest drill that measured it, %s", svc.RTOMeasuredRun, svc.RTOMeasuredMS, third)
				}
			case "remittance":
				if svc.RTOMeasuredMS != nil {
					t.Errorf("remittance, never drilled, has a measured RTO %d", *svc.RTOMeasuredMS)
				}
			}
		}
		v, err := report.Verify(bytes.NewReader(buf.Bytes()), int64(buf.Len()), key.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		var probs strings.Builder
		for _, p := range v.Problems {
			probs.WriteString(p.String() + "\n")
		}
		if !v.OK() {
			t.Fatalf("the exported bundle does not verify:\n%s", probs.String())
		}
		// Each drill's events: created, claimed, running, step started and finished,
		// disaster, its measurements, finished.
		if want := int64(3*7 + 2 + 1 + 2); v.AuditRows != want {
			t.Errorf("checked %d audit rows, want %d", v.AuditRows, want)
		}
		// 5 measurements x (RTO, RPO), 3 drill RTOs, and auth's and payments' RTO and RPO.
		if v.Figures != 5*2+3+4 {
			t.Errorf("recomputed %d figures, want %d", v.Figures, 5*2+3+4)
		}
		if m.SHA256 == "" || m.ReportID != "R-1" {
			t.Errorf("manifest = %+v", m)
		}
	})
}

// The Kakao lesson, end to end: in a period in which payments was drilled but auth, which it
// depends on, never failed over, the kr-efsr report marks payments at risk for its
// dependency, in words a compliance officer understands, and the bundle still verifies.
func TestKrEFSRReportMarksPaymentsAtRiskWhenAuthNeverFailedOver(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		plan, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "payments-only", File: "plans/payments-only.hcl", Source: []byte(`plan "payments-only" {}`)})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		run := drill(t, s, plan, now.Add(-time.Hour), map[string]time.Duration{"payments": 900 * time.Millisecond})
		g, err := oreport.New(oreport.Config{Store: s, Compliance: oreport.ProfileCompliance{}})
		if err != nil {
			t.Fatal(err)
		}
		period := now.AddDate(0, 0, -1).Format(time.DateOnly) + ".." + now.AddDate(0, 0, 1).Format(time.DateOnly)
		for _, bad := range []struct{ profile, period, lang, field string }{
			{"kr-nope", period, "", "profile"}, {"kr-efsr", "2026-Q5", "", "period"}, {"kr-efsr", period, "fr", "lang"},
		} {
			var inv *oreport.InvalidError
			if _, err := g.Scope(bad.profile, bad.period, bad.lang); !errors.As(err, &inv) || inv.Field != bad.field {
				t.Errorf("Scope(%q, %q, %q) = %v, want an InvalidError naming %s", bad.profile, bad.period, bad.lang, err, bad.field)
			}
		}
		for _, lang := range []string{"ko", "en"} {
			scope, err := g.Scope("kr-efsr", period, lang)
			if err != nil {
				t.Fatal(err)
			}
			seed := sha256.Sum256([]byte("kakao"))
			key := ed25519.NewKeyFromSeed(seed[:])
			var buf bytes.Buffer
			_, h, err := g.Export(ctx, &buf, &oreport.ExportParams{Scope: scope, ID: "R-kakao-" + lang, Version: 1, Institution: "Example Bank",
				GeneratedBy: "lee", Now: time.Now(), Estate: estate(t), Key: key})
			if err != nil {
				t.Fatalf("Export(%s): %v", lang, err)
			}
			var payments, auth *report.Service
			for i := range h.Services {
				switch h.Services[i].Service {
				case "payments":
					payments = &h.Services[i]
				case "auth":
					auth = &h.Services[i]
				}
			}
			if payments == nil || auth == nil {
				t.Fatalf("services table %+v lacks payments or auth", h.Services)
			}
			var dep *report.Reason
			for i, r := range payments.Reasons {
				if r.Code == drills.ReasonDependencyNotFailedOver {
					dep = &payments.Reasons[i]
				}
			}
			if payments.Status != drills.AtRisk || dep == nil || dep.Status != drills.AtRisk || !strings.Contains(dep.Text, "auth") || !strings.Contains(dep.Text, "payments") {
				t.Errorf("%s: payments = %s with reasons %+v; want at risk because auth, which it depends on, never failed over", lang, payments.Status, payments.Reasons)
			}
			if payments.RTOMeasuredRun != run || payments.RTOMeasuredMS == nil || *payments.RTOMeasuredMS != 900 {
				t.Errorf("%s: payments' RTO %v from %q, want 900ms from %s", lang, payments.RTOMeasuredMS, payments.RTOMeasuredRun, run)
			}
			if auth.Status != drills.NonCompliant || h.Summary.Status != drills.NonCompliant {
				t.Errorf("%s: auth, never drilled, is %s and the report %s; want both non-compliant", lang, auth.Status, h.Summary.Status)
			}
			if lang == "ko" && !strings.ContainsAny(dep.Text, "가나다라마바사아자차카타파하") {
				t.Errorf("the Korean report's reason is not in Korean: %q", dep.Text)
			}
			if len(h.Clauses) == 0 || h.Profile.Regulator == "" {
				t.Errorf("%s: clauses %+v, regulator %q", lang, h.Clauses, h.Profile.Regulator)
			}
			v, err := report.Verify(bytes.NewReader(buf.Bytes()), int64(buf.Len()), key.Public().(ed25519.PublicKey))
			if err != nil || !v.OK() {
				t.Fatalf("%s: the bundle does not verify: %v %+v", lang, err, v)
			}
		}
	})
}

// A quarter's report counts a service's drill of the months before it toward its frequency,
// but reports only the quarter's drills, with figures its events give.
func TestAQuarterEvaluatesTheLookbackButReportsThePeriodsDrills(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clocktest.New(time.Date(2026, 2, 10, 1, 0, 0, 0, time.UTC))
	s := storetest.PostgresOn(t, clk)
	plan, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "site-loss", File: "plans/site-loss.hcl", Source: []byte(`plan "site-loss" {}`)})
	if err != nil {
		t.Fatal(err)
	}
	february := drill(t, s, plan, clk.Now().Add(time.Minute), map[string]time.Duration{"auth": 300 * time.Millisecond, "payments": 600 * time.Millisecond})
	clk.Set(time.Date(2026, 8, 10, 1, 0, 0, 0, time.UTC))
	august := drill(t, s, plan, clk.Now().Add(time.Minute), map[string]time.Duration{"payments": 700 * time.Millisecond})

	g, err := oreport.New(oreport.Config{Store: s, Compliance: oreport.ProfileCompliance{}})
	if err != nil {
		t.Fatal(err)
	}
	scope, err := g.Scope("kr-efsr", "2026-Q3", "en")
	if err != nil {
		t.Fatal(err)
	}
	if !scope.LookbackFrom.Before(scope.Period.Start) {
		t.Fatalf("kr-efsr's Q3 scope looks back to %v, want before the quarter (%v)", scope.LookbackFrom, scope.Period.Start)
	}
	seed := sha256.Sum256([]byte("quarter"))
	key := ed25519.NewKeyFromSeed(seed[:])
	var buf bytes.Buffer
	_, h, err := g.Export(ctx, &buf, &oreport.ExportParams{Scope: scope, ID: "R-q3", Version: 1, GeneratedBy: "lee",
		Now: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Estate: estate(t), Key: key})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if h.Summary.Drills != 1 {
		t.Errorf("the quarter's report counts %d drills, want the one of August", h.Summary.Drills)
	}
	for _, svc := range h.Services {
		switch svc.Service {
		case "auth":
			for _, r := range svc.Reasons {
				if r.Code == drills.ReasonNotDrilled {
					t.Errorf("auth, drilled in February (%s), is %q", february, r.Text)
				}
			}
			if svc.RTOMeasuredMS != nil {
				t.Errorf("auth's figure %d comes from a drill the report does not hold", *svc.RTOMeasuredMS)
			}
		case "payments":
			if svc.RTOMeasuredRun != august {
				t.Errorf("payments' figure comes from %q, want the quarter's drill %s", svc.RTOMeasuredRun, august)
			}
		}
	}
	v, err := report.Verify(bytes.NewReader(buf.Bytes()), int64(buf.Len()), key.Public().(ed25519.PublicKey))
	if err != nil || !v.OK() {
		t.Fatalf("the bundle does not verify: %v %+v", err, v)
	}
	b, err := report.OpenBundle(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var held []string
	for d, err := range b.Drills(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, d.RunID)
	}
	if len(held) != 1 || held[0] != august {
		t.Errorf("the bundle holds drills %v, want only %s", held, august)
	}
}

// The drills a schedule made due in the period are the drills required, and the fires it
// skipped are stated: a blackout that skipped two of three monthly fires leaves payments,
// drilled once, drilled less often than its schedule asked.
func TestScheduledFiresAreTheDrillsDueAndSkippedOnesAreStated(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		plan, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "payments-only", File: "plans/payments-only.hcl", Source: []byte(`plan "payments-only" {}`)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ScheduleSync(ctx, []store.ScheduleDef{{Name: "monthly", PlanName: plan.Name, PlanFile: plan.File}}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		drill(t, s, plan, now.Add(-time.Hour), map[string]time.Duration{"payments": 900 * time.Millisecond, "auth": 800 * time.Millisecond})
		for i, at := range []time.Time{now.Add(-20 * time.Hour), now.Add(-10 * time.Hour)} {
			if _, err := s.ScheduleFire(ctx, &store.ScheduleFireParams{Schedule: "monthly", FireTime: at, Decision: store.FireSkippedBlackout, Reason: "month-end"}); err != nil {
				t.Fatalf("fire %d: %v", i, err)
			}
		}
		// A fire outside the period is not due in it.
		if _, err := s.ScheduleFire(ctx, &store.ScheduleFireParams{Schedule: "monthly", FireTime: now.AddDate(0, 0, -5), Decision: store.FireSkippedBlackout, Reason: "month-end"}); err != nil {
			t.Fatal(err)
		}
		g, err := oreport.New(oreport.Config{Store: s, Compliance: oreport.ProfileCompliance{}})
		if err != nil {
			t.Fatal(err)
		}
		scope, err := g.Scope("kr-efsr", now.AddDate(0, 0, -1).Format(time.DateOnly)+".."+now.AddDate(0, 0, 1).Format(time.DateOnly), "en")
		if err != nil {
			t.Fatal(err)
		}
		seed := sha256.Sum256([]byte("due"))
		var buf bytes.Buffer
		_, h, err := g.Export(ctx, &buf, &oreport.ExportParams{Scope: scope, ID: "R-due", Version: 1, Institution: "Example Bank",
			GeneratedBy: "lee", Now: time.Now(), Estate: estate(t), Key: ed25519.NewKeyFromSeed(seed[:]),
			Schedules: []oreport.ScheduledServices{{Schedule: "monthly", Services: []string{"payments"}}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, svc := range h.Services {
			codes := map[string]report.Reason{}
			for _, r := range svc.Reasons {
				codes[r.Code] = r
			}
			switch svc.Service {
			case "payments":
				skipped, ok := codes[drills.ReasonFiresSkipped]
				if svc.DrillsRequired != 2 || svc.DrillsRun != 1 || !ok || !strings.Contains(skipped.Text, "month-end") {
					t.Errorf("payments: required %d, run %d, reasons %+v; want 2 required by its schedule, 1 run, the skipped fires stated with the blackout", svc.DrillsRequired, svc.DrillsRun, svc.Reasons)
				}
				if _, ok := codes[drills.ReasonDrilledLessThanRequired]; !ok || svc.Status != drills.NonCompliant {
					t.Errorf("payments is %s with %+v; want non-compliant, drilled less often than its schedule asked", svc.Status, svc.Reasons)
				}
			case "auth":
				if _, ok := codes[drills.ReasonFiresSkipped]; ok {
					t.Errorf("auth, on no schedule, has skipped fires: %+v", svc.Reasons)
				}
			}
		}
	})
}

// A drill's section carries who took part, against whom the plan intended, the deviations
// and lessons noted on it and the findings it revealed; the report lists every finding,
// overdue or carried by an accepted risk as it stands.
func TestReportCarriesParticipantsNotesAndFindings(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		src, err := examples.FS.ReadFile("plans/site-loss.hcl")
		if err != nil {
			t.Fatal(err)
		}
		src = bytes.Replace(src, []byte(`  from        = "sangam"`), []byte("  participant \"kim\" { role = \"incident commander\" }\n  participant \"park\" { role = \"dba\" }\n  from        = \"sangam\""), 1)
		if _, diags := drills.ParsePlan(src, "plans/site-loss.hcl"); diags.HasErrors() {
			t.Fatalf("the plan with participants does not parse: %v", diags)
		}
		plan, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "sangam-site-loss", File: "plans/site-loss.hcl", Source: src})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		run := drill(t, s, plan, now.Add(-time.Hour), map[string]time.Duration{"payments": 900 * time.Millisecond})
		lee := drills.Actor{Kind: drills.ActorUser, Name: "lee"}
		if err := s.RunParticipantsRecord(ctx, &store.RunParticipantsRecordParams{RunID: run, By: lee,
			Participants: []store.ParticipantInput{{Name: "kim", Role: "incident commander", Intended: true, Attended: true}, {Name: "choi", Role: "observer", Attended: true}}}); err != nil {
			t.Fatal(err)
		}
		for _, n := range []store.RunNoteAddParams{{RunID: run, Kind: store.NoteDeviation, Text: "DNS switched by hand", By: lee}, {RunID: run, Kind: store.NoteLesson, Text: "automate the DNS step", By: lee}} {
			if _, err := s.RunNoteAdd(ctx, &n); err != nil {
				t.Fatal(err)
			}
		}
		due := now.Add(-time.Minute)
		f, err := s.FindingInsert(ctx, &store.FindingInsertParams{RunID: run, Service: "payments", Title: "DNS step is manual", Severity: drills.SeverityMedium, DueAt: &due, By: lee})
		if err != nil {
			t.Fatal(err)
		}
		g, err := oreport.New(oreport.Config{Store: s, Compliance: oreport.ProfileCompliance{}})
		if err != nil {
			t.Fatal(err)
		}
		scope, err := g.Scope("kr-efsr", now.AddDate(0, 0, -1).Format(time.DateOnly)+".."+now.AddDate(0, 0, 1).Format(time.DateOnly), "en")
		if err != nil {
			t.Fatal(err)
		}
		seed := sha256.Sum256([]byte("records"))
		var buf bytes.Buffer
		_, h, err := g.Export(ctx, &buf, &oreport.ExportParams{Scope: scope, ID: "R-rec", Version: 1, Institution: "Example Bank",
			GeneratedBy: "lee", Now: time.Now(), Estate: estate(t), Key: ed25519.NewKeyFromSeed(seed[:])})
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Findings) != 1 || h.Findings[0].ID != f.ID || !h.Findings[0].Overdue || h.Summary.OverdueFindings != 1 {
			t.Errorf("findings = %+v (summary %+v), want %s overdue", h.Findings, h.Summary, f.ID)
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		rc, err := zr.Open("report.json")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		var doc struct {
			Drills []report.Drill `json:"drills"`
		}
		if err := json.NewDecoder(rc).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Drills) != 1 {
			t.Fatalf("drills = %+v", doc.Drills)
		}
		d := doc.Drills[0]
		want := []report.Participant{
			{Name: "kim", Role: "incident commander", Intended: true, Attended: true},
			{Name: "choi", Role: "observer", Attended: true},
			{Name: "park", Role: "dba", Intended: true},
		}
		if !reflect.DeepEqual(d.Participants, want) {
			t.Errorf("participants = %+v, want %+v (park was intended and never recorded)", d.Participants, want)
		}
		if !reflect.DeepEqual(d.Deviations, []string{"DNS switched by hand"}) || !reflect.DeepEqual(d.Lessons, []string{"automate the DNS step"}) ||
			!reflect.DeepEqual(d.Findings, []string{f.ID}) {
			t.Errorf("deviations %q, lessons %q, findings %q", d.Deviations, d.Lessons, d.Findings)
		}
	})
}
