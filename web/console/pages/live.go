package pages

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// liveRefreshSeconds is how often the live page reloads itself when JavaScript is off.
const liveRefreshSeconds = 10

var liveMessages = map[string][2]string{
	"live.title":          {"Run live view", "훈련 실시간 현황"},
	"live.following":      {"Live: steps appear as they start and finish.", "실시간: 단계가 시작·종료되는 대로 표시됩니다."},
	"live.reconnecting":   {"Connection lost; reconnecting…", "연결이 끊겨 다시 연결하는 중…"},
	"live.stopped":        {"Live updates stopped. Reload the page to resume.", "실시간 갱신이 중단되었습니다. 페이지를 새로 고치면 다시 시작합니다."},
	"live.ended":          {"The run has ended.", "훈련이 종료되었습니다."},
	"live.noscript":       {"JavaScript is off: this page reloads itself every %d seconds.", "JavaScript가 꺼져 있어 이 페이지는 %d초마다 새로 고쳐집니다."},
	"live.rto_clock":      {"RTO clock", "RTO 경과 시간"},
	"live.clock_waiting":  {"Starts at T0, when the disaster is declared.", "재해 선언 시점(T0)부터 측정합니다."},
	"live.clock_running":  {"Counting from T0, the disaster declared.", "재해 선언 시점(T0)부터 측정 중입니다."},
	"live.clock_stopped":  {"Stopped at T1, service restored.", "서비스 복구 시점(T1)에 측정이 끝났습니다."},
	"live.objective":      {"Objective", "목표 RTO"},
	"live.objective_of":   {"tightest, %s", "가장 엄격: %s"},
	"live.no_objective":   {"No service objective recorded for this plan.", "이 계획에 기록된 서비스 목표가 없습니다."},
	"live.over":           {"over the objective", "목표 초과"},
	"live.within":         {"within the objective", "목표 이내"},
	"live.steps":          {"Steps", "단계"},
	"live.no_steps":       {"No step has started yet.", "아직 시작된 단계가 없습니다."},
	"live.checks":         {"Checks and probes", "점검 및 프로브"},
	"live.no_checks":      {"No check or probe has reported yet. Probes report when they stop.", "아직 보고된 점검·프로브가 없습니다. 프로브는 종료 시 결과를 보고합니다."},
	"live.no_checks_end":  {"No check or probe reported in this run.", "이 훈련에서 보고된 점검·프로브가 없습니다."},
	"live.abort_hint":     {"Stops the current step; rollback and cleanup run. You give a reason and type the run's ID.", "진행 중인 단계를 멈추고 롤백·정리 단계를 실행합니다. 사유와 훈련 ID를 입력해야 합니다."},
	"live.actions":        {"Actions", "조치"},
	"live.waiting":        {"Waiting for an operator", "운영자 조치 대기"},
	"live.instructions":   {"Instructions", "수행 지침"},
	"live.no_instr":       {"The plan gives no instructions for this step.", "계획에 이 단계의 지침이 없습니다."},
	"live.unknown_step":   {"Its outcome is unknown (the replica running it stopped). Check the system, then say what happened.", "실행 중이던 복제본이 중지되어 결과를 알 수 없습니다. 시스템을 확인한 뒤 결과를 입력하십시오."},
	"live.comment":        {"Comment (optional)", "의견 (선택)"},
	"live.done":           {"Done", "완료"},
	"live.failed":         {"Failed", "실패"},
	"live.retry":          {"Run it again", "다시 실행"},
	"live.abort_run":      {"Abort the run", "훈련 중단"},
	"live.no_decide":      {"An SRE decides this step (step.decide).", "이 단계는 SRE가 결정합니다 (step.decide)."},
	"live.abort":          {"Abort…", "중단…"},
	"live.abort_pending":  {"Abort requested by %s: %s", "%s 님이 중단 요청: %s"},
	"live.full_record":    {"Full record", "전체 기록"},
	"live.verdict":        {"Final verdict", "최종 판정"},
	"live.verdict_link":   {"Open the run's full record: timeline, evidence, approvals and the audit check.", "타임라인·증적·승인·감사 검증이 담긴 전체 기록 보기"},
	"live.approval_wait":  {"Waiting for approval from: %s.", "승인 대기 중인 역할: %s."},
	"live.probe_figures":  {"%s available · %d of %d polls failed · longest outage %s", "가용률 %s · 점검 %d/%d회 실패 · 최장 중단 %s"},
	"live.kind.preflight": {"Pre-flight", "사전 점검"},
	"live.kind.probe":     {"Probe", "프로브"},
	"live.kind.stop":      {"Stop condition", "중단 조건"},
	"live.kind.budget":    {"Over budget", "시간 초과"},
	"live.ok":             {"passed", "정상"},
	"live.not_ok":         {"failed", "이상"},

	"abort.title":     {"Abort the run", "훈련 중단"},
	"abort.intro":     {"Aborting stops the current step; the plan's rollback and cleanup then run. This cannot be undone.", "중단하면 진행 중인 단계가 멈추고 계획의 복구(롤백)와 정리 단계가 실행됩니다. 되돌릴 수 없습니다."},
	"abort.reason":    {"Reason", "중단 사유"},
	"abort.reason_h":  {"Recorded with your name in the run's audit trail.", "사용자 이름과 함께 감사 기록에 남습니다."},
	"abort.confirm":   {"Type the run's ID", "훈련 ID 입력"},
	"abort.confirm_h": {"To confirm, type %s.", "확인을 위해 %s 을(를) 입력하십시오."},
	"abort.submit":    {"Abort the run", "훈련 중단"},
	"abort.cancel":    {"Keep it running", "계속 진행"},
	"abort.already":   {"The run has ended: there is nothing to abort.", "이미 종료된 훈련이라 중단할 수 없습니다."},
	"abort.requested": {"An abort was already requested.", "이미 중단이 요청되었습니다."},
	"notice.abort":    {"abort requested", "중단 요청됨"},
	"notice.decided":  {"step %s marked %s", "단계 %s: %s 처리됨"},
}

func init() { addMessages(liveMessages) }

// checkKinds are the timeline entries the live view lists under checks and probes.
var checkKinds = []string{orchestrator.EventPreflight, orchestrator.EventProbe, orchestrator.EventStopCondition, orchestrator.EventStepOverBudget}

// liveData is the live view of a run.
type liveData struct {
	Run control.RunSummary
	// Steps are the latest attempt of each step, in the order they started.
	Steps []control.StepView
	// Waiting are the steps a person must decide.
	Waiting    waitingData
	Checks     []liveCheck
	Objective  *control.ObjectiveView
	Objectives []control.ObjectiveView
	// LastSeq is the last timeline entry the page shows: its stream starts after it.
	LastSeq int
	Ended   bool
	// Clock is the RTO clock as the server read it (what a page without JavaScript shows);
	// T0, T1 and Now are RFC 3339 for the script that keeps it running.
	Clock        string
	Over         bool
	T0, T1, Now  string
	MissingRoles []string
	CanAbort     bool
	Refresh      int
}

// waitingData is the section of steps that wait for a person.
type waitingData struct {
	V         *view
	RunID     string
	Steps     []waitingStep
	CanDecide bool
}

// waitingStep is a step that waits for a person, with the decisions they can take.
type waitingStep struct {
	Step      control.StepView
	Decisions []string
}

// waitingOf is the waiting section of a run's latest step attempts.
func waitingOf(v *view, runID string, latest []control.StepView, canDecide bool) waitingData {
	w := waitingData{V: v, RunID: runID, CanDecide: canDecide}
	for _, s := range latest {
		if s.AwaitingDecision {
			w.Steps = append(w.Steps, waitingStep{Step: s, Decisions: decisionsFor(s)})
		}
	}
	return w
}

// stepRow is one row of the steps table.
type stepRow struct {
	V    *view
	Step control.StepView
}

// verdictData is an ended run's verdict box.
type verdictData struct {
	V   *view
	Run control.RunSummary
}

// liveCheck is one check or probe entry of the timeline, as the live view lists it.
type liveCheck struct {
	V       *view
	Seq     int
	At      time.Time
	Label   string
	Message string
	// Result is ok, bad, or empty when the entry says neither.
	Result string
	Detail string
}

func (h *handler) runLive(q *req) (string, string, any, error) {
	q.need(control.OpRunRead)
	v, err := h.cfg.Control.RunGet(q.ctx, q.caller, pathID(q, "id"))
	if err != nil {
		return "", "", nil, err
	}
	return h.liveView(q, v)
}

// liveView renders the live page of v: the run detail page shows it while the run is not over.
func (h *handler) liveView(q *req, v *control.RunView) (string, string, any, error) {
	objectives, err := h.cfg.Control.RunObjectives(q.ctx, q.caller, v.Run.ID)
	if err != nil {
		return "", "", nil, err
	}
	d := &liveData{Run: v.Run, Objectives: objectives, Ended: v.Run.State.IsTerminal(), MissingRoles: v.MissingRoles,
		Now: q.now.UTC().Format(time.RFC3339Nano), Refresh: liveRefreshSeconds}
	if len(objectives) > 0 {
		d.Objective = &objectives[0]
	}
	d.Steps = latestAttempts(v.Steps)
	d.Waiting = waitingOf(nil, v.Run.ID, d.Steps, q.may(control.OpStepDecide))
	for _, e := range v.Timeline {
		d.LastSeq = e.Seq
		if c, ok := checkOf(q.lang, e); ok {
			d.Checks = append(d.Checks, c)
		}
	}
	d.CanAbort = !d.Ended && v.Run.AbortRequestedAt == nil && q.may(control.OpRunAbort)
	if v.Run.T0 != nil {
		d.T0 = v.Run.T0.UTC().Format(time.RFC3339Nano)
		end := q.now
		if v.Run.T1 != nil {
			end = *v.Run.T1
			d.T1 = v.Run.T1.UTC().Format(time.RFC3339Nano)
		}
		elapsed := end.Sub(*v.Run.T0)
		d.Clock = clockText(elapsed, v.Run.T1 != nil)
		d.Over = d.Objective != nil && elapsed > time.Duration(d.Objective.RTOObjectiveMS)*time.Millisecond
	} else {
		d.Clock = clockText(0, false)
	}
	return "live", "live.title", d, nil
}

// The fragments a template renders with the page's view (the stream renders them alone).

// WaitingFor is the waiting section as v shows it.
func (d *liveData) WaitingFor(v *view) waitingData { w := d.Waiting; w.V = v; return w }

// RowFor is a step's row as v shows it.
func (d *liveData) RowFor(v *view, s control.StepView) stepRow { return stepRow{V: v, Step: s} }

// CheckFor is a check's line as v shows it.
func (d *liveData) CheckFor(v *view, c liveCheck) liveCheck { c.V = v; return c }

// VerdictFor is the verdict box as v shows it.
func (d *liveData) VerdictFor(v *view) verdictData { return verdictData{V: v, Run: d.Run} }

// latestAttempts is the latest attempt of each step key, in the order the keys first started.
func latestAttempts(steps []control.StepView) []control.StepView {
	var out []control.StepView
	at := map[string]int{}
	for _, s := range steps {
		if i, seen := at[s.Key]; seen {
			if s.Attempt >= out[i].Attempt {
				out[i] = s
			}
			continue
		}
		at[s.Key] = len(out)
		out = append(out, s)
	}
	return out
}

// clockText is an elapsed time as a clock shows it: H:MM:SS while it runs, and to the
// millisecond once stopped at T1 (a recovery under a second would otherwise read 0:00:00).
func clockText(d time.Duration, stopped bool) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	if stopped {
		return fmt.Sprintf("%d:%02d:%02d.%03d", s/3600, s/60%60, s%60, int64(d/time.Millisecond)%1000)
	}
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// checkOf reads a timeline entry about a check or a probe; false for any other entry.
func checkOf(lang string, e control.EventView) (liveCheck, bool) {
	if !slices.Contains(checkKinds, e.Kind) {
		return liveCheck{}, false
	}
	c := liveCheck{Seq: e.Seq, At: e.At, Message: e.Message}
	var data struct {
		Passed        *bool    `json:"passed"`
		Probe         string   `json:"probe"`
		Polls         int      `json:"polls"`
		Failures      int      `json:"failures"`
		Availability  *float64 `json:"availability"`
		LongestOutage int64    `json:"longest_outage_ms"`
		LastError     string   `json:"last_error"`
	}
	if len(e.Data) > 0 {
		_ = json.Unmarshal(e.Data, &data) // an entry that does not read shows its message alone
	}
	switch e.Kind {
	case orchestrator.EventPreflight:
		c.Label = tr(lang, "live.kind.preflight")
		if data.Passed != nil {
			c.Result = result(*data.Passed)
		}
	case orchestrator.EventProbe:
		c.Label, c.Result = tr(lang, "live.kind.probe"), result(data.Failures == 0)
		avail := "—"
		if data.Availability != nil {
			avail = strconv.FormatFloat(*data.Availability*100, 'f', 2, 64) + "%"
		}
		c.Detail = fmt.Sprintf(tr(lang, "live.probe_figures"), avail, data.Failures, data.Polls,
			shortDuration(time.Duration(data.LongestOutage)*time.Millisecond))
		if data.LastError != "" {
			c.Detail += " · " + data.LastError
		}
	case orchestrator.EventStopCondition:
		c.Label, c.Result = tr(lang, "live.kind.stop"), result(false)
	case orchestrator.EventStepOverBudget:
		c.Label, c.Result = tr(lang, "live.kind.budget"), result(false)
	}
	return c, true
}

func result(ok bool) string {
	if ok {
		return "ok"
	}
	return "bad"
}

// TimeOfDay is t in the reader's zone to the second, as a live view needs it.
func (v *view) TimeOfDay(t any) string {
	var at time.Time
	switch t := t.(type) {
	case time.Time:
		at = t
	case *time.Time:
		if t != nil {
			at = *t
		}
	}
	if at.IsZero() {
		return "—"
	}
	return at.In(zoneOf(v)).Format("15:04:05")
}

// ---- abort -----------------------------------------------------------------------------

// abortData is the abort confirmation page.
type abortData struct {
	Run control.RunSummary
}

// runAbortConfirm asks the caller to confirm an abort: the reason, and the run's ID typed.
func (h *handler) runAbortConfirm(q *req) (string, string, any, error) {
	q.need(control.OpRunAbort)
	if err := control.Authorize(q.caller, control.OpRunAbort); err != nil {
		return "", "", nil, err
	}
	v, err := h.cfg.Control.RunGet(q.ctx, q.caller, pathID(q, "id"))
	if err != nil {
		return "", "", nil, err
	}
	return "abort", "abort.title", &abortData{Run: v.Run}, nil
}

func (h *handler) runAbort(q *req) (string, error) {
	q.need(control.OpRunAbort)
	id := pathID(q, "id")
	if got := formValue(q, "confirm"); got != id {
		return "", errorf(control.CategoryInvalid, "confirm", "type the run's ID %s to confirm the abort (got %q)", id, got)
	}
	if _, err := h.cfg.Control.RunAbort(q.ctx, q.caller, &control.RunAbortParams{RunID: id, Reason: formValue(q, "reason")}); err != nil {
		return "", err
	}
	return withNotice("/runs/"+id+"/live", tr(q.lang, "notice.abort")), nil
}

// ---- step decisions --------------------------------------------------------------------

func (h *handler) stepDecide(q *req) (string, error) {
	q.need(control.OpStepDecide)
	id, key, decision := pathID(q, "id"), formValue(q, "step_key"), formValue(q, "decision")
	if _, err := h.cfg.Control.StepDecide(q.ctx, q.caller, &control.StepDecideParams{
		RunID: id, StepKey: key, Decision: decision, Comment: formValue(q, "comment")}); err != nil {
		return "", err
	}
	return withNotice("/runs/"+id+"/live", fmt.Sprintf(tr(q.lang, "notice.decided"), key, decisionText(q.lang, decision))), nil
}

// decisionText names a decision on a step as its button does.
func decisionText(lang, decision string) string {
	switch decision {
	case store.DecisionDone:
		return tr(lang, "live.done")
	case store.DecisionFailed:
		return tr(lang, "live.failed")
	case store.DecisionRetry:
		return tr(lang, "live.retry")
	case store.DecisionAbort:
		return tr(lang, "live.abort_run")
	}
	return decision
}

// decisionsFor are the decisions a person can take on a step that waits: a manual step is
// done or failed; a step whose outcome is unknown is done, run again, or the run aborted.
func decisionsFor(s control.StepView) []string {
	if s.State == drills.StepUnknown {
		return []string{store.DecisionDone, store.DecisionRetry, store.DecisionAbort}
	}
	return []string{store.DecisionDone, store.DecisionFailed}
}
