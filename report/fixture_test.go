package report_test

import (
	"context"
	"encoding/json"
	"iter"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/auditchain"
	"github.com/firedrill/firedrill/report"
)

// sliceSource is a DrillSource over drills and events held in memory.
type sliceSource struct {
	drills []*report.Drill
	events []*report.Event
}

func (s *sliceSource) Drills(context.Context) iter.Seq2[*report.Drill, error] {
	return func(yield func(*report.Drill, error) bool) {
		for _, d := range s.drills {
			c := *d
			if !yield(&c, nil) {
				return
			}
		}
	}
}

func (s *sliceSource) Events(context.Context) iter.Seq2[*report.Event, error] {
	return func(yield func(*report.Event, error) bool) {
		for _, e := range s.events {
			c := *e
			if !yield(&c, nil) {
				return
			}
		}
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func atp(s string) *time.Time {
	t := at(s)
	return &t
}

func msp(v int64) *int64 { return &v }

// chain builds audit rows the way the store does: row n's content is the event as a JSON
// object, hashed onto row n-1. Other facts (operations) take the rows skipped between runs.
type chain struct {
	seq  int64
	hash string
}

func (c *chain) skip(n int64) {
	for range n {
		c.seq++
		c.hash = auditchain.Hash(c.hash, c.seq, `{"source":"operation"}`)
	}
}

func (c *chain) add(ev *report.Event) {
	content, err := json.Marshal(map[string]any{
		"source": "run_event", "run_id": ev.RunID, "seq": ev.Seq, "at": ev.At.UTC().Format(auditchain.TimeLayout),
		"kind": ev.Kind, "step_key": ev.StepKey, "message": ev.Message, "data": ev.Data,
	})
	if err != nil {
		panic(err)
	}
	c.seq++
	row := &report.AuditRow{Seq: c.seq, PrevHash: c.hash, Content: string(content)}
	row.Hash = auditchain.Hash(row.PrevHash, row.Seq, row.Content)
	c.hash = row.Hash
	ev.Audit = row
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// fixture is a year of two drills of the Kakao-like estate: one that passed (auth and
// payments), one whose payments missed its RTO.
func fixture() (*report.Header, *sliceSource) {
	h := &report.Header{
		ID: "R-2026-kr-efsr-1", Version: 1, State: "draft", Institution: "Example Bank",
		Profile:     report.ProfileRef{ID: "kr-efsr", Title: "전자금융감독규정", Regulator: "금융위원회", Source: "전자금융감독규정 제23조, 제24조"},
		Period:      report.PeriodRef{Name: "2026", Start: at("2026-01-01T00:00:00Z"), End: at("2027-01-01T00:00:00Z")},
		Language:    "ko",
		GeneratedAt: at("2026-12-01T13:00:00Z"), GeneratedBy: "user:lee",
		Summary: report.Summary{Status: drills.NonCompliant, Services: 2, Compliant: 1, NonCompliant: 1,
			Drills: 2, DrillsPassed: 1, OpenFindings: 1},
		Services: []report.Service{
			{Service: "auth", Criticality: "core", Status: drills.Compliant, DrillsRequired: 1, DrillsRun: 2, DrillsPassed: 2,
				LatestRunID: "run-2", RTOObjectiveMS: 600000, RTOMeasuredMS: msp(300), RTOMeasuredRun: "run-2", RTOEvidence: drills.EvidenceMet,
				RPOObjectiveMS: 5000, RPOMeasuredMS: msp(120), RPOMeasuredRun: "run-2", RPOEvidence: drills.EvidenceMet},
			{Service: "payments", Criticality: "core", Status: drills.NonCompliant, DrillsRequired: 1, DrillsRun: 2, DrillsPassed: 1,
				Reasons:     []report.Reason{{Code: "latest_failed", Status: drills.NonCompliant, Clause: "art24", Text: "2026-09-01 훈련에서 payments의 RTO가 목표를 넘었습니다"}},
				LatestRunID: "run-2", RTOObjectiveMS: 1000, RTOMeasuredMS: msp(1412), RTOMeasuredRun: "run-2", RTOEvidence: drills.EvidenceMissed,
				RPOObjectiveMS: 5000, RPOEvidence: drills.EvidenceNotEvidenced},
		},
		Findings: []report.Finding{{ID: "F-1", Kind: drills.FindingObjectiveMissed, Title: "payments RTO over objective", Service: "payments", RunID: "run-2",
			Severity: drills.SeverityHigh, Status: drills.FindingOpen, Owner: "kim", DueAt: atp("2026-11-30T00:00:00Z")}},
		Clauses: []report.Clause{{ID: "art24", Title: "비상대응훈련", Source: "전자금융감독규정 제24조", Requirement: "연 1회 이상",
			Evidence: []string{"drill_frequency", "drill_passed"}, Answer: "2회 훈련, 1회 통과", DoesNotShow: "훈련이 실제 재해를 모두 재현했음을 보여주지 않습니다", Status: drills.NonCompliant}},
	}
	src := &sliceSource{}
	c := &chain{hash: auditchain.Genesis}
	addRun := func(d *report.Drill, evs []*report.Event) {
		src.drills = append(src.drills, d)
		for i, ev := range evs {
			ev.RunID, ev.Seq = d.RunID, int64(i+1)
			c.add(ev)
			src.events = append(src.events, ev)
		}
		c.skip(3)
	}
	measurement := func(when string, m drills.MeasurementEvidence) *report.Event {
		return &report.Event{At: at(when), Kind: drills.EventMeasurement, Data: mustJSON(&m)}
	}

	// run-1: auth and payments restored in time, both RPOs measured.
	t0 := at("2026-03-10T01:00:00.000Z")
	run1 := &report.Drill{RunID: "run-1", Plan: "payments-dr", PlanSHA256: "ab12", Scenario: "sangam fire", FromSite: "sangam", ToSite: "yatap",
		State: drills.RunSucceeded, Passed: true, CreatedAt: at("2026-03-10T00:50:00Z"), StartedAt: atp("2026-03-10T00:55:00Z"),
		T0: &t0, T1: atp("2026-03-10T01:00:00.812Z"), EndedAt: atp("2026-03-10T01:01:00Z"), RTOMS: msp(812),
		RequestedBy: "user:kim", Approvers: []report.Approver{{Name: "park", Role: "compliance", At: at("2026-03-10T00:52:00Z")}},
		Participants: []report.Participant{{Name: "kim", Role: "incident commander", Intended: true, Attended: true}},
		Steps: []report.Step{
			{Key: "drain", Name: "drain sangam", Action: "nomad.drain_site", Site: "sangam", Attempt: 1, State: drills.StepSucceeded,
				StartedAt: at("2026-03-10T01:00:00Z"), EndedAt: atp("2026-03-10T01:00:00.200Z"), DurationMS: msp(200)},
			{Key: "promote", Name: "promote, \"auth\" db", Action: "postgres.promote", Site: "yatap", Service: "auth", Attempt: 1, State: drills.StepSucceeded,
				StartedAt: at("2026-03-10T01:00:00.200Z"), EndedAt: atp("2026-03-10T01:00:00.500Z"), DurationMS: msp(300)},
		},
		Measurements: []report.Measurement{
			{Service: "auth", RTOObjectiveMS: 600000, RTOMS: msp(400), RTOEvidence: drills.EvidenceMet, RPOObjectiveMS: 5000, RPOMS: msp(0), RPOEvidence: drills.EvidenceMet, LostRows: msp(0), ResolutionMS: 100},
			{Service: "payments", RTOObjectiveMS: 1000, RTOMS: msp(812), RTOEvidence: drills.EvidenceMet, RPOObjectiveMS: 5000, RPOMS: msp(250), RPOEvidence: drills.EvidenceMet, LostRows: msp(2), ResolutionMS: 100},
		},
		Deviations: []string{"the DBA joined 10 minutes late"}, Lessons: []string{"page the DBA at T-30m"},
		FiredrillVersion: "0.9.0", FiredrillCommit: "c0ffee",
	}
	addRun(run1, []*report.Event{
		{At: at("2026-03-10T00:50:00Z"), Kind: "run_created", Data: mustJSON(map[string]any{"state": "pending"})},
		{At: t0, Kind: "milestone", Message: "disaster", Data: mustJSON(map[string]any{"milestone": "disaster"})},
		measurement("2026-03-10T01:01:00Z", drills.MeasurementEvidence{Service: "auth", T0: &t0, RestoredAt: atp("2026-03-10T01:00:00.400123Z"),
			RTOObjectiveMS: 600000, RTOMS: msp(400), RPOObjectiveMS: 5000, RPOMS: msp(0), LostRows: msp(0), ResolutionMS: 100,
			RPO: &drills.RPOInputs{FirstPrimarySeq: 1, FirstPrimaryAt: at("2026-03-10T00:59:00Z"), LastPrimarySeq: 60, LastPrimaryAt: at("2026-03-10T00:59:59.900Z"),
				LastDRSeq: 60, LastDRAt: at("2026-03-10T00:59:59.900Z"), Evidenced: true}}),
		measurement("2026-03-10T01:01:00Z", drills.MeasurementEvidence{Service: "payments", T0: &t0, RestoredAt: atp("2026-03-10T01:00:00.812900Z"),
			RTOObjectiveMS: 1000, RTOMS: msp(812), RPOObjectiveMS: 5000, RPOMS: msp(250), LostRows: msp(2), ResolutionMS: 100,
			RPO: &drills.RPOInputs{FirstPrimarySeq: 1, FirstPrimaryAt: at("2026-03-10T00:59:00Z"), LastPrimarySeq: 62, LastPrimaryAt: at("2026-03-10T00:59:59.950Z"),
				LastDRSeq: 60, LastDRAt: at("2026-03-10T00:59:59.700Z"), Evidenced: true}}),
		{At: at("2026-03-10T01:01:00Z"), Kind: "run_finished", Data: mustJSON(map[string]any{"state": "succeeded", "rto_actual_ms": 812})},
	})

	// run-2: payments restored late; its canary had too little evidence for an RPO.
	t0b := at("2026-09-01T02:00:00.000Z")
	run2 := &report.Drill{RunID: "run-2", Plan: "payments-dr", PlanSHA256: "ab12", Scenario: "sangam fire", FromSite: "sangam", ToSite: "yatap",
		State: drills.RunSucceeded, StateReason: "the plan ran to the end but not every recovery objective was measured and met",
		CreatedAt: at("2026-09-01T01:50:00Z"), StartedAt: atp("2026-09-01T01:55:00Z"), T0: &t0b, T1: atp("2026-09-01T02:00:01.412Z"),
		EndedAt: atp("2026-09-01T02:01:00Z"), RTOMS: msp(1412), RequestedBy: "schedule:yearly", Schedule: "yearly",
		Steps: []report.Step{
			{Key: "drain", Name: "drain sangam", Action: "nomad.drain_site", Site: "sangam", Attempt: 1, State: drills.StepFailed,
				StartedAt: at("2026-09-01T02:00:00Z"), EndedAt: atp("2026-09-01T02:00:00.100Z"), DurationMS: msp(100), Error: "node ab: timeout"},
			{Key: "drain", Name: "drain sangam", Action: "nomad.drain_site", Site: "sangam", Attempt: 2, State: drills.StepSucceeded,
				StartedAt: at("2026-09-01T02:00:00.100Z"), EndedAt: atp("2026-09-01T02:00:00.300Z"), DurationMS: msp(200)},
		},
		Measurements: []report.Measurement{
			{Service: "auth", RTOObjectiveMS: 600000, RTOMS: msp(300), RTOEvidence: drills.EvidenceMet, RPOObjectiveMS: 5000, RPOMS: msp(120), RPOEvidence: drills.EvidenceMet, LostRows: msp(1), ResolutionMS: 100},
			{Service: "payments", RTOObjectiveMS: 1000, RTOMS: msp(1412), RTOEvidence: drills.EvidenceMissed, RPOObjectiveMS: 5000, RPOEvidence: drills.EvidenceNotEvidenced, ResolutionMS: 100,
				Reason: "RTO 1.412s exceeded objective 1s; RPO not evidenced: too few canary rows"},
		},
		Findings: []string{"F-1"}, FiredrillVersion: "0.9.1", FiredrillCommit: "beef",
	}
	addRun(run2, []*report.Event{
		{At: at("2026-09-01T01:50:00Z"), Kind: "run_created", Data: mustJSON(map[string]any{"state": "pending"})},
		{At: t0b, Kind: "milestone", Message: "disaster", Data: mustJSON(map[string]any{"milestone": "disaster"})},
		measurement("2026-09-01T02:01:00Z", drills.MeasurementEvidence{Service: "auth", T0: &t0b, RestoredAt: atp("2026-09-01T02:00:00.300500Z"),
			RTOObjectiveMS: 600000, RTOMS: msp(300), RPOObjectiveMS: 5000, RPOMS: msp(120), LostRows: msp(1), ResolutionMS: 100,
			RPO: &drills.RPOInputs{FirstPrimarySeq: 1, FirstPrimaryAt: at("2026-09-01T01:59:00Z"), LastPrimarySeq: 61, LastPrimaryAt: at("2026-09-01T01:59:59.920Z"),
				LastDRSeq: 60, LastDRAt: at("2026-09-01T01:59:59.800Z"), Evidenced: true}}),
		measurement("2026-09-01T02:01:00Z", drills.MeasurementEvidence{Service: "payments", T0: &t0b, RestoredAt: atp("2026-09-01T02:00:01.412999Z"),
			RTOObjectiveMS: 1000, RTOMS: msp(1412), RPOObjectiveMS: 5000, ResolutionMS: 100,
			RPO: &drills.RPOInputs{FirstPrimarySeq: 1, FirstPrimaryAt: at("2026-09-01T01:59:59Z"), LastPrimarySeq: 2, LastPrimaryAt: at("2026-09-01T01:59:59.500Z"),
				LastDRSeq: 1, LastDRAt: at("2026-09-01T01:59:59Z"), Evidenced: false}}),
		{At: at("2026-09-01T02:01:00Z"), Kind: "run_finished", Data: mustJSON(map[string]any{"state": "succeeded", "rto_actual_ms": 1412})},
	})
	h.AuditHead = report.AuditHead{Seq: c.seq, Hash: c.hash}
	return h, src
}
