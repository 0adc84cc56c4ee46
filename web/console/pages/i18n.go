package pages

import (
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// messages holds every text of the console in English and Korean. A key missing in Korean
// falls back to English; a key missing in both shows itself, which the tests catch.
var messages = map[string][2]string{
	"app.name":        {"firedrill", "firedrill"},
	"app.tagline":     {"Disaster-recovery drills", "재해복구 훈련"},
	"nav.dashboard":   {"Dashboard", "대시보드"},
	"nav.approvals":   {"Approvals", "승인 대기"},
	"nav.runs":        {"Runs", "훈련 실행"},
	"nav.findings":    {"Findings", "발견 사항"},
	"nav.reports":     {"Reports", "보고서"},
	"nav.schedules":   {"Schedules", "일정"},
	"nav.calendar":    {"Calendar", "달력"},
	"cal.months":      {"Months", "월 이동"},
	"cal.this_month":  {"This month", "이번 달"},
	"cal.today":       {"today", "오늘"},
	"cal.skipped":     {"Skipped", "건너뜀"},
	"cal.blackout":    {"blackout", "금지 기간"},
	"cal.legend":      {"◷ a scheduled drill · ⊘ a fire the blackout skips · ✓ a drill that passed · ✕ one that did not · … one under way. Times in your zone.", "◷ 예정된 훈련 · ⊘ 금지 기간으로 건너뛰는 실행 · ✓ 통과한 훈련 · ✕ 통과하지 못한 훈련 · … 진행 중. 시각은 사용자 시간대 기준."},
	"cal.due":         {"Drills due", "훈련 기한"},
	"cal.every":       {"Required every", "요구 주기"},
	"cal.last_passed": {"Last passed", "최근 통과"},
	"nav.main":        {"Main navigation", "주 메뉴"},
	"nav.signed_in":   {"Signed in as", "로그인 사용자"},
	"nav.sign_out":    {"Sign out", "로그아웃"},
	"nav.language":    {"Language", "언어"},
	"nav.timezone":    {"Time zone", "시간대"},
	"nav.apply":       {"Apply", "적용"},
	"nav.skip":        {"Skip to content", "본문으로 건너뛰기"},

	"freeze.on":          {"Change freeze in force: no drill starts.", "변경 동결 중: 훈련을 시작할 수 없습니다."},
	"freeze.set_by":      {"Set by %s on %s.", "%s이(가) %s에 설정."},
	"freeze.off":         {"No change freeze.", "변경 동결 없음."},
	"dash.no_estate":     {"No estate is loaded, so there are no services to show.", "서비스 구성 파일(estate)을 불러오지 않아 표시할 서비스가 없습니다."},
	"dash.services":      {"Services", "서비스"},
	"dash.profile":       {"Regulator profile", "규제 프로파일"},
	"dash.show":          {"Show", "보기"},
	"dash.waiting":       {"Waiting for my approval", "내 승인을 기다리는 훈련"},
	"dash.no_waiting":    {"Nothing waits for your approval.", "승인할 훈련이 없습니다."},
	"dash.open_findings": {"Open findings", "미결 발견 사항"},
	"dash.no_findings":   {"No open findings.", "미결 발견 사항이 없습니다."},
	"dash.all_findings":  {"All findings", "전체 발견 사항"},
	"dash.profile_note": {"Compliance under %s for this year, evaluated %s from the drills ended by then; a report states the clauses. Overall:",
		"올해 %s 기준 준수 현황 (%s 평가, 그때까지 끝난 훈련 기준). 조항별 내용은 보고서에 있습니다. 종합:"},

	"col.service":     {"Service", "서비스"},
	"col.criticality": {"Criticality", "중요도"},
	"col.status":      {"Status", "상태"},
	"col.compliance":  {"%s %s", "%s %s"},
	"col.due_status":  {"Drill interval", "훈련 주기"},
	"col.last_drill":  {"Last drill", "최근 훈련"},
	"col.rto":         {"RTO measured / objective", "RTO 측정 / 목표"},
	"col.rpo":         {"RPO measured / objective", "RPO 측정 / 목표"},
	"col.next_due":    {"Next due", "다음 기한"},
	"col.findings":    {"Open findings", "미결 발견"},
	"col.run":         {"Run", "실행"},
	"col.plan":        {"Plan", "계획"},
	"col.route":       {"From → to", "전환 경로"},
	"col.state":       {"State", "상태"},
	"col.requested":   {"Requested by", "요청자"},
	"col.created":     {"Created", "생성"},
	"col.rto_actual":  {"RTO", "RTO"},
	"col.result":      {"Result", "결과"},
	"col.missing":     {"Missing roles", "필요한 승인 역할"},
	"col.deadline":    {"Deadline", "기한"},
	"col.decision":    {"Decision", "결정"},
	"col.title":       {"Title", "제목"},
	"col.severity":    {"Severity", "심각도"},
	"col.owner":       {"Owner", "담당자"},
	"col.due":         {"Due", "기한"},
	"col.kind":        {"Kind", "유형"},
	"col.actions":     {"Actions", "조치"},
	"col.profile":     {"Profile", "프로파일"},
	"col.period":      {"Period", "기간"},
	"col.language":    {"Language", "언어"},
	"col.version":     {"Version", "버전"},
	"col.published":   {"Published", "공개"},
	"col.size":        {"Size", "크기"},
	"col.step":        {"Step", "단계"},
	"col.action":      {"Action", "동작"},
	"col.site":        {"Site", "사이트"},
	"col.started":     {"Started", "시작"},
	"col.duration":    {"Duration", "소요"},
	"col.error":       {"Error", "오류"},
	"col.by":          {"By", "수행자"},
	"col.at":          {"At", "시각"},
	"col.comment":     {"Comment", "의견"},
	"col.roles":       {"Roles", "역할"},
	"col.evidence":    {"Evidence", "증거"},
	"col.schedule":    {"Schedule", "일정"},
	"col.cron":        {"Cron", "주기"},
	"col.next_fire":   {"Next fire", "다음 실행"},
	"col.drill":       {"Drill", "훈련"},

	"due.overdue":  {"Overdue", "기한 초과"},
	"due.never":    {"Never drilled", "훈련 이력 없음"},
	"due.ok":       {"On schedule", "일정 내"},
	"due.none":     {"No interval required", "주기 요구 없음"},
	"due.no_drill": {"No drill yet", "훈련 없음"},

	"ev.met":            {"met", "충족"},
	"ev.missed":         {"missed", "미달"},
	"ev.not_evidenced":  {"not evidenced", "증거 없음"},
	"ev.not_measured":   {"not measured", "측정 안 됨"},
	"run.passed":        {"Passed", "통과"},
	"run.not_passed":    {"Not passed", "미통과"},
	"run.forced":        {"forced", "강제"},
	"run.title":         {"Run", "훈련 실행"},
	"run.timeline":      {"Timeline", "타임라인"},
	"run.timeline_desc": {"%d step attempts as bars over time; T0 the disaster, T1 the restoration, and the RTO objective from T0.", "시간축 위 단계 %d개; T0 재해 시점, T1 복구 시점, T0부터의 RTO 목표선."},
	"run.no_steps":      {"No step has run yet.", "아직 실행된 단계가 없습니다."},
	"run.steps":         {"Steps", "단계"},
	"run.measurements":  {"Measured objectives", "목표 측정"},
	"run.approvals":     {"Approvals", "승인"},
	"run.decisions":     {"Decisions", "결정"},
	"run.findings":      {"Findings", "발견 사항"},
	"run.integrity":     {"Audit chain", "감사 체인"},
	"run.verified":      {"Verified: %d audit rows hash and link, and the run's record agrees with them.", "검증됨: 감사 기록 %d건의 해시와 연결이 맞고 실행 기록과 일치합니다."},
	"run.not_verified":  {"NOT verified: %s", "검증 실패: %s"},
	"run.audit_pending": {"%d events recorded in the last moments wait to be sealed into the chain; their content was checked against the record.", "방금 기록된 이벤트 %d건이 체인에 봉인되기를 기다리고 있습니다. 내용은 기록과 대조해 확인했습니다."},
	"run.none":          {"None.", "없음."},
	"run.legend":        {"Legend: ✓ succeeded · ✕ failed · … running · ? unknown · ■ aborted · – skipped; T0 disaster, T1 restored, dashed line the RTO objective.", "범례: ✓ 성공 · ✕ 실패 · … 진행 중 · ? 불명 · ■ 중단 · – 건너뜀; T0 재해, T1 복구, 점선 RTO 목표."},
	"run.milestones":    {"Milestones", "주요 시점"},
	"run.t0":            {"T0 (disaster declared)", "T0 (재해 선언)"},
	"run.t1":            {"T1 (service restored)", "T1 (서비스 복구)"},
	"run.reason":        {"Reason", "사유"},

	"approvals.title":          {"Approvals inbox", "승인 대기함"},
	"approvals.none":           {"No run is waiting for approval.", "승인을 기다리는 훈련이 없습니다."},
	"approvals.approve":        {"Approve", "승인"},
	"approvals.reject":         {"Reject", "반려"},
	"approvals.comment":        {"Comment", "의견"},
	"approvals.not_yours":      {"Not yours to approve: you asked for it, already decided, or hold none of the missing roles.", "승인 대상 아님: 직접 요청했거나, 이미 결정했거나, 필요한 역할이 없습니다."},
	"approvals.touches":        {"Services it fails over", "전환 대상 서비스"},
	"approvals.rollback":       {"Rollback", "원복"},
	"approvals.rollback_steps": {"%d steps return the estate afterwards", "이후 %d단계로 원상 복구"},
	"approvals.no_rollback":    {"No rollback", "원복 없음"},
	"approvals.steps":          {"The plan's %d steps", "계획의 %d단계"},

	"findings.title":       {"Findings", "발견 사항"},
	"findings.add":         {"Add a finding", "발견 사항 추가"},
	"findings.filter":      {"Status", "상태"},
	"findings.any":         {"Any", "전체"},
	"findings.save":        {"Add finding", "추가"},
	"findings.update":      {"Update", "변경"},
	"findings.none":        {"No findings.", "발견 사항이 없습니다."},
	"findings.description": {"Description", "설명"},
	"findings.run_id":      {"Run ID (optional)", "실행 ID (선택)"},
	"findings.due_hint":    {"YYYY-MM-DD", "YYYY-MM-DD"},
	"findings.overdue":     {"overdue", "기한 초과"},
	"findings.keep":        {"(keep)", "(유지)"},

	"reports.title":           {"Reports", "보고서"},
	"reports.export":          {"Export a report", "보고서 생성"},
	"reports.export_do":       {"Export draft", "초안 생성"},
	"reports.publish":         {"Publish", "공개"},
	"reports.download":        {"Download bundle", "번들 다운로드"},
	"reports.none":            {"No reports yet.", "보고서가 없습니다."},
	"reports.period_hint":     {"2026, 2026-H1, 2026-Q3 or 2026-01-01..2026-06-30", "2026, 2026-H1, 2026-Q3 또는 2026-01-01..2026-06-30"},
	"reports.lang_default":    {"Profile's default", "프로파일 기본값"},
	"reports.publish_confirm": {"Publishing is the sign-off: the report never changes afterwards.", "공개는 최종 서명이며 이후 보고서는 변경되지 않습니다."},

	"schedules.title":         {"Schedules", "일정"},
	"schedules.pause":         {"Pause", "일시 정지"},
	"schedules.resume":        {"Resume", "재개"},
	"schedules.reason":        {"Reason", "사유"},
	"schedules.active":        {"active", "활성"},
	"schedules.paused":        {"paused", "일시 정지"},
	"schedules.paused_by":     {"paused by %s", "%s이(가) 일시 정지"},
	"schedules.not_in_estate": {"not in the estate", "구성에 없음"},
	"schedules.not_recorded":  {"not yet recorded: start firedrill serve", "아직 기록되지 않음: firedrill serve를 시작하십시오"},
	"schedules.none":          {"No schedules in the estate.", "등록된 일정이 없습니다."},

	"history.title":          {"Service history", "서비스 이력"},
	"history.chart_title":    {"%s measured per drill against the objective (%d drills)", "훈련별 %s 측정값과 목표 (훈련 %d회)"},
	"history.objective_line": {"- - objective", "- - 목표"},
	"history.legend":         {"● met · ✕ missed · ○ not measured; dashed line the objective.", "● 충족 · ✕ 미달 · ○ 측정 안 됨; 점선은 목표."},
	"history.none":           {"No ended drill measured this service yet.", "이 서비스를 측정한 훈련이 아직 없습니다."},
	"history.rto":            {"Recovery time (RTO)", "복구 시간 (RTO)"},
	"history.rpo":            {"Data loss (RPO)", "데이터 손실 (RPO)"},
	"history.drills":         {"Drills", "훈련"},

	"err.forbidden":     {"Not allowed", "권한 없음"},
	"err.roles":         {"This needs one of the roles: %s. You act as: %s.", "이 작업에는 다음 역할 중 하나가 필요합니다: %s. 현재 역할: %s."},
	"err.notfound":      {"Not found", "찾을 수 없음"},
	"err.invalid":       {"Please check the form", "입력을 확인해 주십시오"},
	"err.conflict":      {"Cannot do that now", "지금은 할 수 없습니다"},
	"err.internal":      {"Something went wrong", "오류가 발생했습니다"},
	"err.internal_body": {"The server could not complete the request; it was logged.", "요청을 처리하지 못했습니다. 기록되었습니다."},
	"err.back":          {"Back", "돌아가기"},
	"err.no_role":       {"no role", "역할 없음"},

	"notice.done":       {"Done: %s.", "완료: %s."},
	"demo.banner_title": {"Demo.", "데모."},
	"demo.banner":       {"This history was produced by really running drills against simulated sites, on a clock shifted back: the dates spread them over the past year.", "이 기록은 모의 사이트를 대상으로 실제 훈련을 실행해 만든 것이며, 시계를 과거로 옮겨 지난 1년에 걸친 날짜로 기록했습니다."},
	"role.admin":        {"Administrator", "관리자"},
	"role.sre":          {"SRE", "SRE(운영)"},
	"role.compliance":   {"Compliance officer", "준법감시인"},
	"role.auditor":      {"Auditor", "감사인"},
	"role.viewer":       {"Viewer", "조회자"},
	"common.more":       {"Next page", "다음 페이지"},
	"common.all":        {"All", "전체"},
	"common.filter":     {"Filter", "필터"},
}

// addMessages adds a page's own texts to messages (each page's file declares its own map and
// adds it in an init, so pages grow without editing one shared list). A key given twice is a
// programming error.
func addMessages(m map[string][2]string) {
	for k, v := range m {
		if _, dup := messages[k]; dup {
			panic("console pages: message " + k + " declared twice")
		}
		messages[k] = v
	}
}

// roleText names a role as people read it; a role the console does not know shows its key.
func roleText(lang, role string) string {
	if _, ok := messages["role."+role]; ok {
		return tr(lang, "role."+role)
	}
	return role
}

// roleList names roles, in their order, joined.
func roleList(lang string, roles []string) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = roleText(lang, r)
	}
	return strings.Join(names, ", ")
}

// tr returns the text of key in lang.
func tr(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if lang == "ko" && m[1] != "" {
		return m[1]
	}
	return m[0]
}

// stateText names a run or step state for people.
var stateNames = map[string][2]string{
	"pending": {"pending", "대기"}, "awaiting_approval": {"awaiting approval", "승인 대기"}, "running": {"running", "진행 중"},
	"waiting_operator": {"waiting for an operator", "운영자 대기"}, "succeeded": {"succeeded", "성공"}, "failed": {"failed", "실패"},
	"blocked": {"blocked", "차단됨"}, "aborted": {"aborted", "중단"}, "unknown": {"unknown", "불명"}, "skipped": {"skipped", "건너뜀"},
	"compliant": {"compliant", "준수"}, "at_risk": {"at risk", "위험"}, "non_compliant": {"non-compliant", "미준수"},
	"open": {"open", "미결"}, "in_progress": {"in progress", "조치 중"}, "fixed": {"fixed", "수정됨"}, "retested": {"retested", "재시험 완료"},
	"risk_accepted": {"risk accepted", "위험 수용"}, "draft": {"draft", "초안"}, "published": {"published", "공개됨"},
	"low": {"low", "낮음"}, "medium": {"medium", "보통"}, "high": {"high", "높음"}, "critical": {"critical", "치명"},
	"approve": {"approved", "승인"}, "approved": {"approved", "승인"}, "reject": {"rejected", "반려"}, "rejected": {"rejected", "반려"},
}

func stateText(lang, s string) string {
	if n, ok := stateNames[s]; ok {
		if lang == "ko" {
			return n[1]
		}
		return n[0]
	}
	return strings.ReplaceAll(s, "_", " ")
}

func evidenceText(lang string, e drills.Evidence) string {
	switch e {
	case drills.EvidenceMet:
		return tr(lang, "ev.met")
	case drills.EvidenceMissed:
		return tr(lang, "ev.missed")
	}
	return tr(lang, "ev.not_evidenced")
}

func msText(lang string, ms *int64) string {
	if ms == nil {
		return tr(lang, "ev.not_measured")
	}
	return shortDuration(time.Duration(*ms) * time.Millisecond)
}

func fmtDate(q *req, t time.Time) string { return t.In(q.loc).Format("2006-01-02") }

// noticeText is the notice a page shows after a form's redirect.
func noticeText(lang, done string) string {
	if done == "" {
		return ""
	}
	return fmt.Sprintf(tr(lang, "notice.done"), done)
}

// templateFuncs are the helpers templates call; those that need the request's language and
// zone take the view.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"t":     func(v *view, key string) string { return tr(v.Lang, key) },
		"tf":    func(v *view, key string, args ...any) string { return fmt.Sprintf(tr(v.Lang, key), args...) },
		"state": func(v *view, s any) string { return stateText(v.Lang, fmt.Sprint(s)) },
		"ev":    func(v *view, e drills.Evidence) string { return evidenceText(v.Lang, e) },
		"ms":    func(v *view, ms *int64) string { return msText(v.Lang, ms) },
		"msv":   func(ms int64) string { return shortDuration(time.Duration(ms) * time.Millisecond) },
		"when": func(v *view, t any) string {
			switch t := t.(type) {
			case time.Time:
				return timeIn(v, t)
			case *time.Time:
				if t == nil {
					return "—"
				}
				return timeIn(v, *t)
			}
			return ""
		},
		"date": func(v *view, t any) string {
			switch t := t.(type) {
			case time.Time:
				return t.In(zoneOf(v)).Format("2006-01-02")
			case *time.Time:
				if t != nil {
					return t.In(zoneOf(v)).Format("2006-01-02")
				}
			}
			return "—"
		},
		"fig": func(v *view, actual *int64, objective int64, e drills.Evidence) figure {
			return figure{V: v, Actual: actual, Objective: objective, Evidence: e}
		},
		"pass": func(v *view, r control.RunSummary) passed {
			return passed{V: v, Run: r, Ended: r.EndedAt != nil}
		},
		"short": func(id string) string {
			if len(id) > 8 {
				return id[len(id)-8:]
			}
			return id
		},
		"join": strings.Join,
		"add":  func(a, b int) int { return a + b },
		"roles": func(v *view, roles []string) string {
			if len(roles) == 0 {
				return tr(v.Lang, "err.no_role")
			}
			return roleList(v.Lang, roles)
		},
		"role": func(v *view, role string) string { return roleText(v.Lang, role) },
		"size": sizeText,
		"mark": func(s any) string { return stepMark(drills.StepState(fmt.Sprint(s))) },
		"comp": func(v *view, s drills.ComplianceStatus) compliance { return compliance{V: v, Status: s} },
		"text": func(v *view, t drills.Text) string { return t.Get(v.Lang) },
	}
}

// sizeText is a size in bytes for people.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// figure is one measured figure against its objective, as the "figure" template shows it.
type figure struct {
	V         *view
	Actual    *int64
	Objective int64
	Evidence  drills.Evidence
}

// compliance is a compliance status, as the "compliance" template shows it.
type compliance struct {
	V      *view
	Status drills.ComplianceStatus
}

// passed is a run's verdict, as the "passed" template shows it.
type passed struct {
	V     *view
	Run   control.RunSummary
	Ended bool
}

func zoneOf(v *view) *time.Location { return zoneNamed(v.TZ) }

func zoneNamed(name string) *time.Location {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	zones.Store(name, loc)
	return loc
}

// zones keeps the zones pages were shown in: time.LoadLocation reads and parses the zone's
// file on every call, and a page formats dozens of times.
var zones sync.Map

func timeIn(v *view, t time.Time) string { return timeInZone(zoneOf(v), t) }

func timeInZone(loc *time.Location, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// parseTemplates parses each page with the layout.
func (h *handler) parseTemplates() error {
	layout, err := template.New("layout").Funcs(templateFuncs()).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("console pages: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return fmt.Errorf("console pages: %w", err)
		}
		h.pages[name] = t
	}
	return nil
}
