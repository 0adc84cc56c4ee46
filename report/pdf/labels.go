package pdf

import (
	"fmt"

	"github.com/firedrill/firedrill/drills"
)

// labels is every fixed word the report prints, in one language. A struct rather than a map so
// that a label missing from one language is a compile error, not a blank in a regulator's report.
type labels struct {
	title, draftBanner, continued, page, none, yes, no, utc string

	// cover
	institution, regulator, profile, period, generatedAt, generatedBy, reportID, version,
	replaces, state, stateDraft, statePublished, keyFingerprint, auditHead, profileSource, contents string

	// sections
	secSummary, secServices, secDrills, secDrillList, secFindings, secAcceptedRisks,
	secClosedFindings, secClauses, secSignOff string

	// summary
	overallStatus, servicesFig, drillsFig, findingsFig, keyIssues, noKeyIssues string
	summarySentence                                                            func(period string, services, drills, passed, compliant, atRisk, nonCompliant, open, overdue int) string

	// services table
	colService, colStatus, colObjective, colObjCeiling, colMeasured, colDrills, criticality,
	ceilingOf, notMeasured, drillsCell, reasons, latestRun string

	// drills
	drillHeading func(n int, date, plan string) string
	runID, plan, planSHA, scenario, sites, verdict, passed, notPassed, runState, forced,
	requestedBy, schedule, createdAt, startedAt, t0, t1, endedAt, rto, build, approvers,
	participants, attendance, measurements, timeline, deviations, lessons, drillFindings,
	colName, colRole, colAt, colComment, colIntended, colAttended, colKey, colAction, colSite,
	colAttempt, colState, colStarted, colDuration, colEvidence, colLostRows, colDate string
	attendanceSentence func(attended, intended int) string
	drillsListed       func(sections int) string
	drillsOmitted      func(omitted int) string
	noDrills           string

	// findings
	colID, colSeverity, colTitle, colOwner, colDue, colRun, colAcceptedBy, colReason,
	colClosedBy, colFindingStatus, rootCause, overdue, noOpenFindings, noAcceptedRisks, noClosedFindings string
	findingsOmitted func(omitted int) string

	// clauses
	requirement, evidence, answer, doesNotShow, source, noClauses string

	// sign-off
	signOffDraft, publishedBy, publishedAt, signature, nameAndTitle, date, integrity string
	verifyHow                                                                        string

	compliance map[drills.ComplianceStatus]string
	severity   map[drills.FindingSeverity]string
	findingSt  map[drills.FindingStatus]string
	kind       map[drills.FindingKind]string
	runSt      map[drills.RunState]string
	stepSt     map[drills.StepState]string
	evidenceSt map[drills.Evidence]string
	// clauseEvidence names the evidence a clause cites (drills.ClauseEvidence's codes).
	clauseEvidence map[string]string
}

// statusSymbols mark a compliance status by shape as well as by word and colour, so that the
// status survives a black-and-white printout and a colour-blind reader: ○ △ × is the marking
// Korean forms use; NanumGothic carries all three.
var statusSymbols = map[drills.ComplianceStatus]string{
	drills.Compliant:    "○",
	drills.AtRisk:       "△",
	drills.NonCompliant: "×",
}

var korean = &labels{
	title:       "재해복구 훈련 결과 보고서",
	draftBanner: "초안 — 게시(승인) 전 문서",
	continued:   "(계속)",
	page:        "쪽",
	none:        "없음",
	yes:         "예",
	no:          "아니요",
	utc:         "UTC",

	institution:    "기관",
	regulator:      "제출처",
	profile:        "적용 기준",
	period:         "대상 기간",
	generatedAt:    "작성 일시",
	generatedBy:    "작성자",
	reportID:       "보고서 ID",
	version:        "판",
	replaces:       "대체하는 보고서",
	state:          "상태",
	stateDraft:     "초안",
	statePublished: "게시됨",
	keyFingerprint: "서명 키 지문 (SHA-256)",
	auditHead:      "감사 로그 체인 헤드",
	profileSource:  "기준 출처",
	contents:       "목차",

	secSummary:        "1. 요약",
	secServices:       "2. 서비스별 준수 현황",
	secDrills:         "3. 훈련 상세",
	secDrillList:      "3-1. 그 밖의 훈련 목록",
	secFindings:       "4. 미결 발견사항",
	secAcceptedRisks:  "5. 위험 수용",
	secClosedFindings: "6. 재검증으로 종결된 발견사항",
	secClauses:        "7. 조항별 충족 근거",
	secSignOff:        "8. 승인",

	overallStatus: "종합 판정",
	servicesFig:   "서비스",
	drillsFig:     "훈련 (통과/실시)",
	findingsFig:   "미결 발견사항 (기한 초과)",
	keyIssues:     "주요 지적 사항",
	noKeyIssues:   "모든 서비스가 기준을 준수합니다.",
	summarySentence: func(period string, services, drillsRun, passed, compliant, atRisk, nonCompliant, open, overdue int) string {
		return fmt.Sprintf("%s 기간 동안 서비스 %d개를 대상으로 재해복구 훈련을 %d회 실시하였고, 그중 %d회가 통과하였습니다. "+
			"준수 %d개, 위험 %d개, 미준수 %d개입니다. 미결 발견사항은 %d건이며 그중 %d건은 조치 기한을 넘겼습니다.",
			period, services, drillsRun, passed, compliant, atRisk, nonCompliant, open, overdue)
	},

	colService:    "서비스",
	colStatus:     "판정",
	colObjective:  "목표",
	colObjCeiling: "목표 (상한)",
	colMeasured:   "측정",
	colDrills:     "훈련",
	criticality:   "중요도",
	ceilingOf:     "상한 %s",
	notMeasured:   "미측정",
	drillsCell:    "실시 %d / 기한 도래 %d\n통과 %d",
	reasons:       "사유",
	latestRun:     "최근 훈련",

	drillHeading:  func(n int, date, plan string) string { return fmt.Sprintf("3.%d  %s  %s", n, date, plan) },
	runID:         "실행 ID",
	plan:          "훈련 계획",
	planSHA:       "계획 해시 (SHA-256)",
	scenario:      "시나리오",
	sites:         "전환 (주 → DR)",
	verdict:       "판정",
	passed:        "○ 통과",
	notPassed:     "× 미통과",
	runState:      "실행 상태",
	forced:        "강제 실행",
	requestedBy:   "요청자",
	schedule:      "일정",
	createdAt:     "등록",
	startedAt:     "시작",
	t0:            "재해 발생 (T0)",
	t1:            "복구 완료 (T1)",
	endedAt:       "종료",
	rto:           "RTO (T1 - T0)",
	build:         "firedrill 버전",
	approvers:     "승인자",
	participants:  "참여자",
	attendance:    "참석",
	measurements:  "서비스별 RTO·RPO 측정",
	timeline:      "진행 경과",
	deviations:    "계획 대비 이탈",
	lessons:       "교훈",
	drillFindings: "이 훈련의 발견사항",
	colName:       "이름",
	colRole:       "역할",
	colAt:         "일시",
	colComment:    "의견",
	colIntended:   "계획",
	colAttended:   "참석",
	colKey:        "단계",
	colAction:     "동작",
	colSite:       "사이트",
	colAttempt:    "시도",
	colState:      "결과",
	colStarted:    "시작",
	colDuration:   "소요",
	colEvidence:   "판정",
	colLostRows:   "유실 행",
	colDate:       "일자",
	attendanceSentence: func(attended, intended int) string {
		return fmt.Sprintf("계획된 참여자 %d명 중 %d명이 참석하였습니다.", intended, attended)
	},
	drillsListed: func(sections int) string {
		return fmt.Sprintf("이 보고서에는 앞의 훈련 %d회만 상세히 싣고, 그 밖의 훈련은 아래 표에 한 줄씩 적었습니다. 모든 훈련의 전체 기록은 같은 서명 번들의 report.json, runs.csv, events.ndjson에 있습니다.", sections)
	},
	drillsOmitted: func(omitted int) string {
		return fmt.Sprintf("표에 싣지 않은 훈련 %d회는 같은 서명 번들의 report.json, runs.csv, events.ndjson에 있습니다.", omitted)
	},
	noDrills: "이 기간에 종료된 훈련이 없습니다.",

	colID:            "ID",
	colSeverity:      "심각도",
	colTitle:         "내용",
	colOwner:         "담당자",
	colDue:           "조치 기한",
	colRun:           "훈련",
	colAcceptedBy:    "수용자",
	colReason:        "수용 사유",
	colClosedBy:      "종결한 훈련",
	rootCause:        "근본 원인",
	overdue:          "기한 초과",
	noOpenFindings:   "미결 발견사항이 없습니다.",
	noAcceptedRisks:  "수용된 위험이 없습니다.",
	noClosedFindings: "이 기간에 재검증으로 종결된 발견사항이 없습니다.",
	findingsOmitted: func(omitted int) string {
		return fmt.Sprintf("표에 싣지 않은 발견사항 %d건은 같은 서명 번들의 report.json에 있습니다.", omitted)
	},

	requirement: "요구 사항",
	evidence:    "근거 자료",
	answer:      "충족 여부",
	doesNotShow: "이 근거가 보여 주지 않는 것",
	source:      "출처",
	noClauses:   "적용 기준에 조항이 없습니다.",

	signOffDraft: "이 보고서는 초안입니다. 준법감시 담당자가 게시해야 제출본이 되며, 게시하면 게시자와 일시가 기록되고 내용은 더 이상 바뀌지 않습니다.",
	publishedBy:  "게시(승인)자",
	publishedAt:  "게시 일시",
	signature:    "서명",
	nameAndTitle: "성명·직위",
	date:         "일자",
	integrity:    "무결성 확인",
	verifyHow:    "이 PDF는 서명된 보고서 번들의 일부입니다. manifest.json에 번들의 모든 파일의 SHA-256이 있고, manifest.sig는 위 지문의 Ed25519 키로 만든 서명입니다. 받는 쪽은 `firedrill report verify 번들.zip --public-key key.pub` 또는 OpenSSL만으로 `openssl pkeyutl -verify -pubin -inkey key.pub -rawin -in manifest.json -sigfile manifest.sig`로 확인할 수 있습니다.",

	compliance: map[drills.ComplianceStatus]string{
		drills.Compliant:    "준수",
		drills.AtRisk:       "위험",
		drills.NonCompliant: "미준수",
	},
	severity: map[drills.FindingSeverity]string{
		drills.SeverityLow:      "낮음",
		drills.SeverityMedium:   "보통",
		drills.SeverityHigh:     "높음",
		drills.SeverityCritical: "심각",
	},
	findingSt: map[drills.FindingStatus]string{
		drills.FindingOpen:         "미조치",
		drills.FindingInProgress:   "조치 중",
		drills.FindingFixed:        "조치 완료 (재검증 대기)",
		drills.FindingRetested:     "재검증 완료",
		drills.FindingRiskAccepted: "위험 수용",
	},
	kind: map[drills.FindingKind]string{
		drills.FindingManual:               "수동 등록",
		drills.FindingStepFailed:           "단계 실패",
		drills.FindingObjectiveMissed:      "목표 미달",
		drills.FindingObjectiveUnevidenced: "목표 미입증",
		drills.FindingDependencyUncovered:  "의존 서비스 미전환",
		drills.FindingRollbackFailed:       "원복 실패",
	},
	runSt: map[drills.RunState]string{
		drills.RunPending:          "대기",
		drills.RunAwaitingApproval: "승인 대기",
		drills.RunRunning:          "진행 중",
		drills.RunWaitingOperator:  "운영자 판단 대기",
		drills.RunSucceeded:        "성공",
		drills.RunFailed:           "실패",
		drills.RunBlocked:          "사전 점검에서 중지",
		drills.RunAborted:          "중단",
		drills.RunRolledBack:       "원복됨",
		drills.RunRollbackFailed:   "원복 실패",
	},
	stepSt: map[drills.StepState]string{
		drills.StepRunning:   "진행 중",
		drills.StepSucceeded: "성공",
		drills.StepFailed:    "실패",
		drills.StepUnknown:   "결과 불명",
		drills.StepSkipped:   "건너뜀",
		drills.StepAborted:   "중단",
	},
	evidenceSt: map[drills.Evidence]string{
		drills.EvidenceMet:          "○ 충족",
		drills.EvidenceMissed:       "× 미달",
		drills.EvidenceNotEvidenced: "△ 미입증",
	},
	clauseEvidence: map[string]string{
		"drill_frequency":      "훈련 빈도",
		"drill_passed":         "훈련 통과 여부",
		"rto_within":           "RTO 목표·상한 충족",
		"rpo_within":           "RPO 목표·상한 충족",
		"dependencies_covered": "의존 서비스 전환",
		"findings_closed":      "발견사항 종결",
		"participants":         "참여자와 참석",
		"lessons":              "교훈",
		"deviations":           "계획 대비 이탈",
		"accepted_risks":       "위험 수용",
		"report_signed":        "보고서 서명",
		"retention":            "보존 기간",
	},
}

var english = &labels{
	title:       "Disaster-recovery drill report",
	draftBanner: "DRAFT — not yet published (signed off)",
	continued:   "(continued)",
	page:        "page",
	none:        "none",
	yes:         "yes",
	no:          "no",
	utc:         "UTC",

	institution:    "Institution",
	regulator:      "Submitted to",
	profile:        "Profile",
	period:         "Period",
	generatedAt:    "Generated at",
	generatedBy:    "Generated by",
	reportID:       "Report ID",
	version:        "Version",
	replaces:       "Replaces",
	state:          "State",
	stateDraft:     "draft",
	statePublished: "published",
	keyFingerprint: "Signing key fingerprint (SHA-256)",
	auditHead:      "Audit chain head",
	profileSource:  "Profile source",
	contents:       "Contents",

	secSummary:        "1. Executive summary",
	secServices:       "2. Services: objectives against results",
	secDrills:         "3. Drills",
	secDrillList:      "3-1. Further drills",
	secFindings:       "4. Open findings",
	secAcceptedRisks:  "5. Accepted risks",
	secClosedFindings: "6. Findings closed by a retest",
	secClauses:        "7. Clause map",
	secSignOff:        "8. Sign-off",

	overallStatus: "Overall status",
	servicesFig:   "Services",
	drillsFig:     "Drills (passed/run)",
	findingsFig:   "Open findings (overdue)",
	keyIssues:     "Key issues",
	noKeyIssues:   "Every service complies with the profile.",
	summarySentence: func(period string, services, drillsRun, passed, compliant, atRisk, nonCompliant, open, overdue int) string {
		return fmt.Sprintf("In %s, %d disaster-recovery drills were run across %d services; %d passed. "+
			"Services compliant: %d, at risk: %d, non-compliant: %d. Open findings: %d, of which past their due date: %d.",
			period, drillsRun, services, passed, compliant, atRisk, nonCompliant, open, overdue)
	},

	colService:    "Service",
	colStatus:     "Status",
	colObjective:  "objective",
	colObjCeiling: "objective (ceiling)",
	colMeasured:   "measured",
	colDrills:     "Drills",
	criticality:   "criticality",
	ceilingOf:     "ceiling %s",
	notMeasured:   "not measured",
	drillsCell:    "run %d / due %d\npassed %d",
	reasons:       "Reasons",
	latestRun:     "latest run",

	drillHeading:  func(n int, date, plan string) string { return fmt.Sprintf("3.%d  %s  %s", n, date, plan) },
	runID:         "Run ID",
	plan:          "Plan",
	planSHA:       "Plan hash (SHA-256)",
	scenario:      "Scenario",
	sites:         "Failover (from → to)",
	verdict:       "Verdict",
	passed:        "○ passed",
	notPassed:     "× not passed",
	runState:      "Run state",
	forced:        "Forced",
	requestedBy:   "Requested by",
	schedule:      "Schedule",
	createdAt:     "Created",
	startedAt:     "Started",
	t0:            "Disaster (T0)",
	t1:            "Restored (T1)",
	endedAt:       "Ended",
	rto:           "RTO (T1 - T0)",
	build:         "firedrill build",
	approvers:     "Approvers",
	participants:  "Participants",
	attendance:    "Attendance",
	measurements:  "RTO and RPO by service",
	timeline:      "Timeline",
	deviations:    "Deviations from the plan",
	lessons:       "Lessons learned",
	drillFindings: "Findings of this drill",
	colName:       "Name",
	colRole:       "Role",
	colAt:         "At",
	colComment:    "Comment",
	colIntended:   "Intended",
	colAttended:   "Attended",
	colKey:        "Step",
	colAction:     "Action",
	colSite:       "Site",
	colAttempt:    "Try",
	colState:      "Result",
	colStarted:    "Started",
	colDuration:   "Duration",
	colEvidence:   "Verdict",
	colLostRows:   "Lost rows",
	colDate:       "Date",
	attendanceSentence: func(attended, intended int) string {
		return fmt.Sprintf("%d of the %d intended participants attended.", attended, intended)
	},
	drillsListed: func(sections int) string {
		return fmt.Sprintf("This report describes the first %d drills in full and lists the others one per line below. The full record of every drill is in report.json, runs.csv and events.ndjson of the same signed bundle.", sections)
	},
	drillsOmitted: func(omitted int) string {
		return fmt.Sprintf("%d further drills are not listed here; they are in report.json, runs.csv and events.ndjson of the same signed bundle.", omitted)
	},
	noDrills: "No drill ended in this period.",

	colID:            "ID",
	colSeverity:      "Severity",
	colTitle:         "Finding",
	colOwner:         "Owner",
	colDue:           "Due",
	colRun:           "Run",
	colAcceptedBy:    "Accepted by",
	colReason:        "Reason",
	colClosedBy:      "Closed by run",
	colFindingStatus: "Status",
	rootCause:        "Root cause",
	overdue:          "overdue",
	noOpenFindings:   "No finding is open.",
	noAcceptedRisks:  "No risk has been accepted.",
	noClosedFindings: "No finding was closed by a retest in this period.",
	findingsOmitted: func(omitted int) string {
		return fmt.Sprintf("%d further findings are not listed here; they are in report.json of the same signed bundle.", omitted)
	},

	requirement: "Requirement",
	evidence:    "Evidence",
	answer:      "Answer",
	doesNotShow: "What this evidence does not show",
	source:      "Source",
	noClauses:   "The profile has no clauses.",

	signOffDraft: "This report is a draft. It becomes the report of record when a compliance officer publishes it; publishing records who signed it off and when, and the report never changes afterwards.",
	publishedBy:  "Published (signed off) by",
	publishedAt:  "Published at",
	signature:    "Signature",
	nameAndTitle: "Name and title",
	date:         "Date",
	integrity:    "Integrity",
	verifyHow:    "This PDF is part of a signed report bundle. manifest.json holds the SHA-256 of every file of the bundle, and manifest.sig is its Ed25519 signature by the key whose fingerprint is given above. A recipient checks it with `firedrill report verify bundle.zip --public-key key.pub`, or with OpenSSL alone: `openssl pkeyutl -verify -pubin -inkey key.pub -rawin -in manifest.json -sigfile manifest.sig`.",

	compliance: map[drills.ComplianceStatus]string{
		drills.Compliant:    "compliant",
		drills.AtRisk:       "at risk",
		drills.NonCompliant: "non-compliant",
	},
	severity: map[drills.FindingSeverity]string{
		drills.SeverityLow:      "low",
		drills.SeverityMedium:   "medium",
		drills.SeverityHigh:     "high",
		drills.SeverityCritical: "critical",
	},
	findingSt: map[drills.FindingStatus]string{
		drills.FindingOpen:         "open",
		drills.FindingInProgress:   "in progress",
		drills.FindingFixed:        "fixed (awaiting retest)",
		drills.FindingRetested:     "retested",
		drills.FindingRiskAccepted: "risk accepted",
	},
	kind: map[drills.FindingKind]string{
		drills.FindingManual:               "recorded by hand",
		drills.FindingStepFailed:           "step failed",
		drills.FindingObjectiveMissed:      "objective missed",
		drills.FindingObjectiveUnevidenced: "objective not evidenced",
		drills.FindingDependencyUncovered:  "dependency not failed over",
		drills.FindingRollbackFailed:       "rollback failed",
	},
	runSt: map[drills.RunState]string{
		drills.RunPending:          "pending",
		drills.RunAwaitingApproval: "awaiting approval",
		drills.RunRunning:          "running",
		drills.RunWaitingOperator:  "waiting for an operator",
		drills.RunSucceeded:        "succeeded",
		drills.RunFailed:           "failed",
		drills.RunBlocked:          "blocked by pre-flight",
		drills.RunAborted:          "aborted",
		drills.RunRolledBack:       "rolled back",
		drills.RunRollbackFailed:   "rollback failed",
	},
	stepSt: map[drills.StepState]string{
		drills.StepRunning:   "running",
		drills.StepSucceeded: "succeeded",
		drills.StepFailed:    "failed",
		drills.StepUnknown:   "unknown",
		drills.StepSkipped:   "skipped",
		drills.StepAborted:   "aborted",
	},
	evidenceSt: map[drills.Evidence]string{
		drills.EvidenceMet:          "○ met",
		drills.EvidenceMissed:       "× missed",
		drills.EvidenceNotEvidenced: "△ not evidenced",
	},
	clauseEvidence: map[string]string{
		"drill_frequency":      "drill frequency",
		"drill_passed":         "drills passed",
		"rto_within":           "RTO within objective and ceiling",
		"rpo_within":           "RPO within objective and ceiling",
		"dependencies_covered": "dependencies failed over",
		"findings_closed":      "findings closed",
		"participants":         "participants and attendance",
		"lessons":              "lessons learned",
		"deviations":           "deviations",
		"accepted_risks":       "accepted risks",
		"report_signed":        "report signed",
		"retention":            "retention",
	},
}

// languages are the report languages the PDF speaks.
var languages = map[string]*labels{"ko": korean, "en": english}

// word returns the label of an enumerated value, or the value itself when the label table does
// not know it (a value added after this renderer), so that nothing is ever printed blank.
func word[K ~string](m map[K]string, k K) string {
	if s, ok := m[k]; ok {
		return s
	}
	return string(k)
}

// statusText is a compliance status as shape and word, e.g. "△ 위험".
func (l *labels) statusText(s drills.ComplianceStatus) string {
	if sym, ok := statusSymbols[s]; ok {
		return sym + " " + word(l.compliance, s)
	}
	return string(s)
}

func (l *labels) yesNo(b bool) string {
	if b {
		return l.yes
	}
	return l.no
}
