package pages

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/firedrill/firedrill/orchestrator/control"
)

var plansMessages = map[string][2]string{
	"nav.plans":             {"Plans", "훈련 계획"},
	"plans.title":           {"Drill plans", "훈련 계획"},
	"plans.intro":           {"The plans the server knows: those its schedules run and those in %s/ next to the estate, each validated against the estate now.", "서버가 알고 있는 계획입니다. 일정이 실행하는 계획과 구성 파일 옆 %s/ 디렉터리의 계획이며, 현재 구성 기준으로 검증한 결과입니다."},
	"plans.none":            {"The server knows no plan.", "등록된 계획이 없습니다."},
	"plans.file":            {"File", "파일"},
	"plans.schedules":       {"Run by schedules", "실행 일정"},
	"plans.unscheduled":     {"not scheduled", "일정 없음"},
	"plans.valid":           {"Valid", "검증 통과"},
	"plans.invalid":         {"%d problem(s)", "문제 %d건"},
	"plans.unreadable":      {"Unreadable: %s", "읽을 수 없음: %s"},
	"plans.validation":      {"Validation against the estate", "구성 기준 검증 결과"},
	"plans.valid_long":      {"The plan is valid against the estate.", "이 계획은 현재 구성 기준으로 유효합니다."},
	"plans.invalid_long":    {"The plan is not valid against the estate: %d problem(s). A run of it cannot be started.", "이 계획은 현재 구성 기준으로 유효하지 않습니다 (문제 %d건). 훈련을 시작할 수 없습니다."},
	"plans.warning":         {"warning", "경고"},
	"plans.touches":         {"What it will touch", "영향 범위"},
	"plans.route":           {"Site lost → site taking over", "장애 사이트 → 인계 사이트"},
	"plans.services":        {"Services failed over", "전환 대상 서비스"},
	"plans.sites":           {"Sites acted on", "작업 대상 사이트"},
	"plans.approvals":       {"Approvals needed", "필요한 승인"},
	"plans.approvals_roles": {"One person of each role: %s, within %s; never the requester.", "역할별 1인씩 승인: %s (%s 이내). 요청자 본인은 승인할 수 없습니다."},
	"plans.no_approval":     {"None: a run starts as soon as a worker takes it.", "없음: 작업자가 받는 즉시 시작됩니다."},
	"plans.source":          {"Source", "원본"},
	"plans.source_desc":     {"%s, %d lines", "%s, %d줄"},
	"plans.start":           {"Start this drill", "이 훈련 시작"},
	"plans.start_do":        {"Start this drill", "훈련 시작"},
	"plans.start_note":      {"The run waits for the approvals above before any step runs.", "위의 승인이 끝나기 전에는 어떤 단계도 실행되지 않습니다."},
	"plans.start_now":       {"No approval is needed: the run starts at once against the estate.", "승인이 필요하지 않으므로 즉시 실행됩니다."},
	"plans.start_comment":   {"Comment (recorded with the request)", "의견 (요청과 함께 기록)"},
	"plans.paste":           {"Validate a plan", "계획 검증"},
	"plans.paste_intro":     {"Paste a plan's HCL to check it against the estate; nothing is stored.", "계획 HCL을 붙여 넣어 현재 구성 기준으로 검증합니다. 아무것도 저장되지 않습니다."},
	"plans.paste_file":      {"File name (for positions and relative paths)", "파일 이름 (위치 표시 및 상대 경로 기준)"},
	"plans.paste_source":    {"Plan source (HCL)", "계획 원본 (HCL)"},
	"plans.paste_do":        {"Validate", "검증"},
	"plans.pasted":          {"Pasted plan", "붙여 넣은 계획"},
	"plans.back":            {"All plans", "전체 계획"},
	"plans.rollback":        {"Rollback", "원복"},
	"plans.milestone":       {"Milestone", "주요 시점"},
	"plans.line":            {"line %d", "%d행"},
	"plans.no_position":     {"(no position)", "(위치 없음)"},
}

func init() { addMessages(plansMessages) }

// pastedPlanFile is the file name a pasted plan is validated as when the form gives none.
const pastedPlanFile = "plans/pasted.hcl"

// maxPastedPlan bounds a pasted plan's form.
const maxPastedPlan = 256 << 10

type plansData struct {
	Plans []control.PlanFileView
	Dir   string
	// PastedFile is the validate form's default file name.
	PastedFile string
}

func (h *handler) plans(q *req) (string, string, any, error) {
	q.need(control.OpPlanValidate)
	list, err := h.cfg.Control.PlanList(q.ctx, q.caller)
	if err != nil {
		return "", "", nil, err
	}
	return "plans", "nav.plans", &plansData{Plans: list, Dir: control.PlansDir, PastedFile: pastedPlanFile}, nil
}

// planData is a plan's page: its source line by line with the problems of each line (the
// validation section lists them all).
type planData struct {
	Plan  *control.PlanDetail
	Lines []sourceLine
	// Pasted: the plan came from the validate form, not a file the server knows (nothing to
	// start).
	Pasted bool
	// Query is the plan's file as a query parameter value, for links.
	Query string
}

// sourceLine is one numbered line of a plan's source.
type sourceLine struct {
	N        int
	Text     string
	Problems []control.Diagnostic
}

func (h *handler) plan(q *req) (string, string, any, error) {
	q.need(control.OpPlanValidate)
	p, err := h.cfg.Control.PlanGet(q.ctx, q.caller, q.r.URL.Query().Get("file"))
	if err != nil {
		return "", "", nil, err
	}
	return "plan", "plans.title", planPage(p, false), nil
}

// planValidatePasted validates the pasted source and shows it as a plan's page. It changes
// nothing, so it answers the POST with the page itself.
func (h *handler) planValidatePasted(q *req) (string, string, any, error) {
	q.need(control.OpPlanValidate)
	if err := q.r.ParseForm(); err != nil {
		return "", "", nil, errorf(control.CategoryInvalid, "plan_source", "the pasted plan could not be read (at most %d KiB): %v", maxPastedPlan>>10, err)
	}
	file := formValue(q, "plan_file")
	if file == "" {
		file = pastedPlanFile
	}
	src := q.r.PostFormValue("plan_source")
	v, err := h.cfg.Control.PlanValidate(q.ctx, q.caller, &control.PlanValidateParams{PlanFile: file, PlanSource: src})
	if err != nil {
		return "", "", nil, err
	}
	p := &control.PlanDetail{PlanFileView: control.PlanFileView{File: file, Name: v.Plan, Valid: v.Valid, Errors: v.ErrorCount()}, Source: src, Validation: v}
	return "plan", "plans.pasted", planPage(p, true), nil
}

func planPage(p *control.PlanDetail, pasted bool) *planData {
	d := &planData{Plan: p, Pasted: pasted, Query: url.QueryEscape(p.File)}
	if p.Source != "" {
		for i, text := range strings.Split(strings.TrimRight(p.Source, "\n"), "\n") {
			d.Lines = append(d.Lines, sourceLine{N: i + 1, Text: text})
		}
	}
	if p.Validation != nil {
		for _, diag := range p.Validation.Diagnostics {
			if diag.File == p.File && diag.Line >= 1 && diag.Line <= len(d.Lines) {
				d.Lines[diag.Line-1].Problems = append(d.Lines[diag.Line-1].Problems, diag)
			}
		}
	}
	return d
}

// planStart asks for a run of a plan the server knows, with the source the server read (not
// one the browser sends), and sends the browser to the run: it waits for approval when the
// policy asks for one.
func (h *handler) planStart(q *req) (string, error) {
	q.need(control.OpRunSubmit)
	file := formValue(q, "file")
	p, err := h.cfg.Control.PlanGet(q.ctx, q.caller, file)
	if err != nil {
		return "", err
	}
	run, err := h.cfg.Control.RunSubmit(q.ctx, q.caller, &control.RunSubmitParams{PlanFile: file, PlanSource: p.Source, Comment: formValue(q, "comment")})
	if err != nil {
		return "", err
	}
	return withNotice("/runs/"+run.ID, "submitted "+run.Plan), nil
}

// redirectTo answers a GET of a page that only a form posts to (the language switch on its
// result asks for it) with the page the form is on, keeping the query.
func redirectTo(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		to := path
		if r.URL.RawQuery != "" {
			to += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	}
}

// limitBody bounds a form's body before a page reads it.
func limitBody(limit int64, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next(w, r)
	}
}
