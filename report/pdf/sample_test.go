package pdf_test

import (
	"fmt"
	"iter"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/report"
)

// The sample estate is the Kakao lesson: payments depends on auth, and in 2026 auth was never
// failed over, so kr-efsr marks payments at risk; remittance missed its RTO once and is
// non-compliant.

func ptr[T any](v T) *T { return &v }

var (
	periodStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	periodEnd   = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	generatedAt = time.Date(2027, 1, 5, 1, 30, 0, 0, time.UTC)
)

func sampleHeader(lang string) *report.Header {
	ko := lang == "ko"
	pick := func(k, e string) string {
		if ko {
			return k
		}
		return e
	}
	return &report.Header{
		SchemaVersion:         report.SchemaVersion,
		ID:                    "R-2027-0001",
		Version:               1,
		State:                 "draft",
		Institution:           pick("한빛은행 주식회사", "Hanbit Bank Co., Ltd."),
		Profile:               report.ProfileRef{ID: "kr-efsr", Title: pick("전자금융감독규정 (비상대응 훈련)", "Electronic Financial Supervisory Regulation (emergency-response drills)"), Regulator: pick("금융위원회", "Financial Services Commission"), Source: "전자금융감독규정 제23조, 제24조 (금융위원회고시) https://www.law.go.kr/행정규칙/전자금융감독규정"},
		Period:                report.PeriodRef{Name: "2026", Start: periodStart, End: periodEnd},
		Language:              lang,
		GeneratedAt:           generatedAt,
		GeneratedBy:           "compliance:lee.soyeon",
		SigningKeyFingerprint: "3f9a1c0e5b7d2a4f8e6c1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f1a",
		Summary: report.Summary{
			Status: drills.NonCompliant, Services: 4, Compliant: 1, AtRisk: 1, NonCompliant: 2,
			Drills: 5, DrillsPassed: 4, OpenFindings: 2, OverdueFindings: 1,
		},
		Services: []report.Service{
			{
				Service: "auth", Criticality: "core", Status: drills.NonCompliant,
				Reasons: []report.Reason{{Code: "not_drilled", Status: drills.NonCompliant, Clause: "art24",
					Text: pick("auth는 2026년에 한 번도 훈련하지 않았습니다 (연 1회 이상 필요).", "auth was not drilled in 2026 (at least one drill a year is required).")}},
				DrillsRequired: 1, DrillsRun: 0, DrillsPassed: 0,
				RTOObjectiveMS: 3_600_000, RTOCeilingMS: ptr[int64](10_800_000), RTOEvidence: drills.EvidenceNotEvidenced,
				RPOObjectiveMS: 60_000, RPOEvidence: drills.EvidenceNotEvidenced,
			},
			{
				Service: "payments", Criticality: "core", Status: drills.AtRisk,
				Reasons: []report.Reason{{Code: "dependency_not_failed_over", Status: drills.AtRisk, Clause: "art24",
					Text: pick("payments는 훈련했지만 payments가 의존하는 auth는 2026년에 한 번도 전환하지 않았습니다. 이 훈련은 payments가 DR 사이트에서 운영될 수 있음을 보여 주지 않습니다.",
						"payments was drilled, but auth, which it depends on, was never failed over in 2026: the drill does not show payments can run on the DR site.")}},
				DrillsRequired: 1, DrillsRun: 3, DrillsPassed: 3, LatestRunID: "run-7f3a91",
				RTOObjectiveMS: 1_800_000, RTOCeilingMS: ptr[int64](10_800_000), RTOMeasuredMS: ptr[int64](252_345), RTOEvidence: drills.EvidenceMet,
				RPOObjectiveMS: 5_000, RPOMeasuredMS: ptr[int64](319), RPOEvidence: drills.EvidenceMet,
			},
			{
				Service: "remittance", Criticality: "core", Status: drills.NonCompliant,
				Reasons: []report.Reason{
					{Code: "rto_over_objective", Status: drills.NonCompliant, Clause: "art24",
						Text: pick("최근 훈련에서 측정한 RTO 3시간 0.4초가 목표 2시간과 상한 3시간을 넘었습니다.", "The latest drill measured an RTO of 3h 0.4s, over its objective of 2h and the ceiling of 3h.")},
					{Code: "finding_overdue", Status: drills.NonCompliant,
						Text: pick("발견사항 F-12의 조치 기한(2026-11-30)이 지났습니다.", "Finding F-12 is past its due date (2026-11-30).")},
				},
				DrillsRequired: 1, DrillsRun: 2, DrillsPassed: 1, LatestRunID: "run-c01d22",
				RTOObjectiveMS: 7_200_000, RTOCeilingMS: ptr[int64](10_800_000), RTOMeasuredMS: ptr[int64](10_800_400), RTOEvidence: drills.EvidenceMissed,
				RPOObjectiveMS: 60_000, RPOEvidence: drills.EvidenceNotEvidenced,
			},
			{
				Service: "notification", Criticality: "supporting", Status: drills.Compliant,
				DrillsRequired: 1, DrillsRun: 1, DrillsPassed: 1, LatestRunID: "run-000003",
				RTOObjectiveMS: 14_400_000, RTOMeasuredMS: ptr[int64](95_003), RTOEvidence: drills.EvidenceMet,
				RPOObjectiveMS: 900_000, RPOMeasuredMS: ptr[int64](0), RPOEvidence: drills.EvidenceMet,
			},
		},
		Findings: []report.Finding{
			{ID: "F-12", Kind: drills.FindingObjectiveMissed, Title: pick("remittance RTO 목표 미달", "remittance missed its RTO objective"), Service: "remittance", RunID: "run-c01d22",
				Severity: drills.SeverityHigh, Status: drills.FindingInProgress, Owner: pick("박지훈 (결제플랫폼팀)", "Park Jihoon (payments platform)"),
				RootCause: pick("DR 사이트 DB 승격 전에 복제 지연을 기다리는 단계가 30분 대기함", "the step waiting for replication lag before the DR promotion waited 30 minutes"),
				DueAt:     ptr(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)), Overdue: true},
			{ID: "F-15", Kind: drills.FindingDependencyUncovered, Title: pick("auth 미전환 상태로 payments 훈련", "payments drilled without failing over auth"), Service: "payments",
				Severity: drills.SeverityCritical, Status: drills.FindingOpen,
				DueAt: ptr(time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC))},
			{ID: "F-9", Kind: drills.FindingManual, Title: pick("야탑 DR 사이트 방화벽 규칙 누락", "yatap DR firewall rule missing"), Service: "payments",
				Severity: drills.SeverityMedium, Status: drills.FindingRiskAccepted,
				RiskAcceptedBy: "compliance:lee.soyeon", RiskReason: pick("2027년 1분기 망 재구성 때 교체 예정이며 그때까지 수동 절차로 대체함", "replaced in the Q1 2027 network rebuild; a manual procedure covers it until then")},
			{ID: "F-4", Kind: drills.FindingStepFailed, Title: pick("drain_primary 단계 시간 초과", "drain_primary step timed out"), Service: "payments", RunID: "run-0a1b2c",
				Severity: drills.SeverityLow, Status: drills.FindingRetested, ClosedByRun: "run-7f3a91"},
		},
		Clauses: []report.Clause{
			{ID: "art24", Title: pick("제24조 비상대책 등의 수립·운용 — 연 1회 이상 훈련", "Art. 24 — emergency plans, drilled at least yearly"),
				Source:      "전자금융감독규정 제24조 (금융위원회고시 제2025-1호)",
				Requirement: pick("업무 지속성 확보를 위한 비상대응 훈련을 연 1회 이상 실시하고 그 결과를 금융위원회에 보고할 것", "Run an emergency-response drill at least once a year and report its results to the FSC"),
				Evidence:    []string{"drill_frequency", "drill_passed", "dependencies_covered"},
				Answer:      pick("payments 3회, remittance 2회 훈련; auth는 훈련하지 않음", "payments drilled 3 times, remittance twice; auth not drilled"),
				DoesNotShow: pick("훈련 결과는 훈련 당시의 구성만 보여 주며, 이후 변경된 구성이 DR 사이트에서 동작함을 보여 주지 않습니다.", "A drill shows the configuration as it was drilled, not that later changes still work on the DR site."),
				Status:      drills.AtRisk},
			{ID: "core-3h", Title: pick("핵심업무 3시간 이내 복구", "Core business restored within 3 hours"),
				Source:      "금융감독원 감독 관행",
				Requirement: pick("핵심업무는 3시간 이내에 복구할 것", "Core business back within 3 hours"),
				Evidence:    []string{"rto_within"},
				Answer:      pick("remittance RTO 3시간 0.4초", "remittance RTO 3h 0.4s"),
				DoesNotShow: pick("측정된 RTO는 훈련 시나리오의 장애에 대한 것이며 실제 재해의 규모를 보여 주지 않습니다.", "A measured RTO is for the drilled failure, not for a disaster of any size."),
				Status:      drills.NonCompliant},
		},
		AuditHead: report.AuditHead{Seq: 48213, Hash: "9c2e4a6b8d0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c"},
	}
}

// sampleDrill is drill n of the sample year: a passed payments failover, except every fifth,
// which is remittance missing its RTO.
func sampleDrill(n int, lang string) *report.Drill {
	ko := lang == "ko"
	t0 := periodStart.Add(time.Duration(n) * 72 * time.Hour).Add(2 * time.Hour)
	t1 := t0.Add(252345 * time.Millisecond)
	ended := t1.Add(90 * time.Second)
	started := t0.Add(-5 * time.Minute)
	dr := &report.Drill{
		RunID:      fmt.Sprintf("run-%06d", n),
		Plan:       "payments-failover",
		PlanSHA256: "a41f0c9e3b5d7f1a2c4e6b8d0f3a5c7e9b1d2f4a6c8e0b3d5f7a9c1e2b4d6f8a",
		Scenario: map[bool]string{true: "상암 데이터센터 화재로 주 사이트 전체 중단 (카카오 2022년 10월 사례)",
			false: "fire at the sangam data centre takes the whole primary site down (the Kakao case of October 2022)"}[ko],
		FromSite: "sangam", ToSite: "yatap",
		State: drills.RunSucceeded, Passed: true,
		CreatedAt: started.Add(-48 * time.Hour), StartedAt: &started, T0: &t0, T1: &t1, EndedAt: &ended,
		RTOMS:       ptr[int64](252_345),
		RequestedBy: "sre:kim.minsu", Schedule: "payments-yearly",
		Approvers: []report.Approver{
			{Name: "lee.soyeon", Role: "compliance", At: started.Add(-24 * time.Hour), Comment: map[bool]string{true: "분기 훈련 승인", false: "quarterly drill approved"}[ko]},
			{Name: "choi.yuna", Role: "sre", At: started.Add(-20 * time.Hour)},
		},
		Participants: []report.Participant{
			{Name: "kim.minsu", Role: map[bool]string{true: "훈련 총괄", false: "incident commander"}[ko], Intended: true, Attended: true},
			{Name: "choi.yuna", Role: "sre", Intended: true, Attended: true},
			{Name: "park.jihoon", Role: map[bool]string{true: "결제 담당", false: "payments owner"}[ko], Intended: true, Attended: false},
			{Name: "jung.hana", Role: map[bool]string{true: "참관 (내부감사)", false: "observer (internal audit)"}[ko], Intended: false, Attended: true},
		},
		Measurements: []report.Measurement{{
			Service: "payments", RTOObjectiveMS: 1_800_000, RTOMS: ptr[int64](252_345), RTOEvidence: drills.EvidenceMet,
			RPOObjectiveMS: 5_000, RPOMS: ptr[int64](319), RPOEvidence: drills.EvidenceMet, LostRows: ptr[int64](3), ResolutionMS: 100,
		}},
		Deviations:       []string{map[bool]string{true: "결제 담당자가 불참하여 SRE가 결제 점검을 대신함", false: "the payments owner did not attend; an SRE ran the payments checks"}[ko]},
		Lessons:          []string{map[bool]string{true: "DNS TTL이 300초로 남아 있어 전환 후 4분간 일부 요청이 주 사이트로 갔음 — TTL을 30초로 낮춤", false: "a DNS TTL of 300s sent some requests to the primary for 4 minutes after the switch; TTL lowered to 30s"}[ko]},
		Findings:         []string{},
		FiredrillVersion: "v0.9.0", FiredrillCommit: "155d457",
	}
	steps := []struct {
		key, name, action, site string
		ms                      int64
	}{
		{"freeze_writes", "쓰기 중지", "http.post", "sangam", 1_250},
		{"disaster", "주 사이트 차단 (T0)", "nomad.drain_site", "sangam", 12_400},
		{"promote_db", "DR DB 승격", "postgres.promote", "yatap", 4_812},
		{"run_payments", "payments 기동", "nomad.run_job", "yatap", 95_003},
		{"wait_healthy", "헬스 체크 통과 대기", "http.wait_healthy", "yatap", 138_880},
	}
	at := started
	for i, s := range steps {
		name := s.name
		if !ko {
			name = s.key
		}
		end := at.Add(time.Duration(s.ms) * time.Millisecond)
		dr.Steps = append(dr.Steps, report.Step{Key: s.key, Name: name, Action: s.action, Site: s.site, Service: "payments",
			Attempt: 1, State: drills.StepSucceeded, StartedAt: at, EndedAt: &end, DurationMS: ptr(s.ms)})
		at = end
		_ = i
	}
	if n%5 == 0 {
		dr.Plan = "remittance-failover"
		dr.State = drills.RunFailed
		dr.StateReason = map[bool]string{true: "wait_healthy 단계가 제한 시간을 넘김", false: "wait_healthy exceeded its timeout"}[ko]
		dr.Passed = false
		dr.RTOMS = ptr[int64](10_800_400)
		dr.Measurements[0] = report.Measurement{Service: "remittance", RTOObjectiveMS: 7_200_000, RTOMS: ptr[int64](10_800_400), RTOEvidence: drills.EvidenceMissed,
			RPOObjectiveMS: 60_000, RPOEvidence: drills.EvidenceNotEvidenced,
			Reason: map[bool]string{true: "카나리아 행이 T0 전에 충분히 쌓이지 않아 RPO를 측정하지 못함", false: "too few canary rows before T0: RPO not measured"}[ko]}
		last := &dr.Steps[len(dr.Steps)-1]
		last.State = drills.StepFailed
		last.Error = "context deadline exceeded: GET https://remittance.yatap.internal/healthz returned 503 Service Unavailable after 212 attempts (last body: {\"status\":\"degraded\",\"db\":\"replica lag 1843s\"})"
		dr.Findings = []string{"F-12"}
	}
	return dr
}

func sampleDrills(count int, lang string) iter.Seq2[*report.Drill, error] {
	return func(yield func(*report.Drill, error) bool) {
		for i := 1; i <= count; i++ {
			if !yield(sampleDrill(i, lang), nil) {
				return
			}
		}
	}
}
