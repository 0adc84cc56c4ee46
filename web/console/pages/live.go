package pages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Event stream defaults (Config.EventPoll, EventHeartbeat, EventStreamFor).
const (
	DefaultEventPoll      = time.Second
	DefaultEventHeartbeat = 15 * time.Second
	DefaultEventStreamFor = 5 * time.Minute
	// eventWriteWait bounds one write to the stream: a browser that stops reading is dropped.
	eventWriteWait = 30 * time.Second
	// eventRetryMS is how long a browser waits before reconnecting a stream that closed.
	eventRetryMS = 2000
	// liveRefreshSeconds is how often the live page reloads itself when JavaScript is off.
	liveRefreshSeconds = 10
)

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
		d.Clock = clockText(elapsed)
		d.Over = d.Objective != nil && elapsed > time.Duration(d.Objective.RTOObjectiveMS)*time.Millisecond
	} else {
		d.Clock = clockText(0)
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

// clockText is an elapsed time as a clock shows it: H:MM:SS.
func clockText(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
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
	return withNotice("/runs/"+id+"/live", fmt.Sprintf(tr(q.lang, "notice.decided"), key, decision)), nil
}

// ---- the event stream ------------------------------------------------------------------

// liveRun is the run's state in every stream message.
type liveRun struct {
	State     drills.RunState `json:"state"`
	StateText string          `json:"state_text"`
	T0        *time.Time      `json:"t0,omitempty"`
	T1        *time.Time      `json:"t1,omitempty"`
	// Abortable: the abort button still applies (not ended, no abort requested).
	Abortable bool `json:"abortable"`
}

// liveMessage is one timeline entry as the stream sends it, with the page's fragments it
// changes rendered by the server (in the reader's language and zone).
type liveMessage struct {
	Seq     int     `json:"seq"`
	Kind    string  `json:"kind"`
	StepKey string  `json:"step_key,omitempty"`
	Message string  `json:"message,omitempty"`
	Run     liveRun `json:"run"`
	// Row is the step's table row (its latest attempt), on the last entry of a batch about it.
	Row string `json:"row,omitempty"`
	// Waiting is the section of steps waiting for a person, on the last entry of a batch
	// about any step.
	Waiting *string `json:"waiting,omitempty"`
	// Check is the entry's line under checks and probes.
	Check string `json:"check,omitempty"`
}

// liveEnd is the stream's last message.
type liveEnd struct {
	Run     liveRun `json:"run"`
	Verdict string  `json:"verdict"`
}

// runEvents streams a run's timeline as Server-Sent Events: the entries after the
// Last-Event-ID (or ?after=) the browser has, then new ones as they commit, each with id: its
// seq; an `end` event once the run has ended and everything is sent. Authorized as RunGet.
func (h *handler) runEvents(w http.ResponseWriter, r *http.Request) {
	q, ok := h.request(w, r)
	if !ok {
		return
	}
	q.need(control.OpRunRead)
	after, err := streamCursor(r)
	if err != nil {
		h.fail(w, q, err)
		return
	}
	p := &control.RunEventsParams{RunID: pathID(q, "id"), After: after}
	batch, err := h.cfg.Control.RunEventsAfter(q.ctx, q.caller, p)
	if err != nil {
		h.fail(w, q, err)
		return
	}
	s := &eventStream{h: h, q: q, w: w, rc: http.NewResponseController(w), v: h.viewOf(q, "live", "live.title", nil)}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if s.write(fmt.Sprintf("retry: %d\n\n", eventRetryMS)) != nil {
		return
	}
	poll := h.cfg.Clock.NewTicker(h.cfg.EventPoll)
	defer poll.Stop()
	beat := h.cfg.Clock.NewTicker(h.cfg.EventHeartbeat)
	defer beat.Stop()
	bound := h.cfg.Clock.NewTimer(h.cfg.EventStreamFor)
	defer bound.Stop()
	stopping := h.shutdowns.of(r)
	for {
		if err := s.send(batch); err != nil {
			return
		}
		if batch.Complete {
			_ = s.end(batch)
			return
		}
		if len(batch.Events) > 0 {
			p.After = batch.Events[len(batch.Events)-1].Seq
		}
		if s.flush() != nil {
			return
		}
	wait:
		for {
			select {
			case <-q.ctx.Done():
				return
			case <-stopping:
				// The server shuts down: a graceful shutdown waits for no stream, and the
				// browser reconnects to another replica.
				return
			case <-bound.C():
				// The browser reconnects with the last id it has.
				return
			case <-beat.C():
				if s.write(": keep-alive\n\n") != nil || s.flush() != nil {
					return
				}
			case <-poll.C():
				break wait
			}
		}
		if batch, err = h.cfg.Control.RunEventsAfter(q.ctx, q.caller, p); err != nil {
			if q.ctx.Err() == nil {
				h.log.Warn("run event stream stopped", "run", p.RunID, "err", err)
				msg, _ := json.Marshal(map[string]string{"message": err.Error()})
				_ = s.write("event: refused\ndata: " + string(msg) + "\n\n")
				_ = s.flush()
			}
			return
		}
	}
}

// shutdowns gives each server a channel closed when it begins to shut down. http.Server's
// Shutdown waits for every request to end and cancels none of their contexts; streams would
// hold it for their whole bound.
type shutdowns struct {
	mu       sync.Mutex
	byServer map[*http.Server]chan struct{}
}

// of is the channel of r's server; nil (never ready) when r came through no http.Server.
// Each server registers one shutdown hook, whatever its number of streams.
func (s *shutdowns) of(r *http.Request) <-chan struct{} {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byServer == nil {
		s.byServer = map[*http.Server]chan struct{}{}
	}
	ch, ok := s.byServer[srv]
	if !ok {
		ch = make(chan struct{})
		s.byServer[srv] = ch
		srv.RegisterOnShutdown(func() { close(ch) })
	}
	return ch
}

// streamCursor is the seq the browser has: its Last-Event-ID when it reconnects, else the
// page's ?after=.
func streamCursor(r *http.Request) (int, error) {
	field, raw := "Last-Event-ID", r.Header.Get("Last-Event-ID")
	if raw == "" {
		field, raw = "after", r.URL.Query().Get("after")
	}
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		return 0, errorf(control.CategoryInvalid, field, "%q is not the seq of an event (a whole number, 0 or more)", raw)
	}
	return n, nil
}

// eventStream writes one browser's stream.
type eventStream struct {
	h  *handler
	q  *req
	w  http.ResponseWriter
	rc *http.ResponseController
	v  *view
}

func (s *eventStream) write(text string) error {
	// A stream outlives the server's WriteTimeout: each write gets its own deadline (servers
	// that cannot set one keep theirs, and the browser reconnects when it cuts).
	_ = s.rc.SetWriteDeadline(time.Now().Add(eventWriteWait))
	_, err := s.w.Write([]byte(text))
	return err
}

func (s *eventStream) flush() error { return s.rc.Flush() }

// send writes a batch's entries, each with its id.
func (s *eventStream) send(b *control.RunEvents) error {
	run := liveRunOf(s.v.Lang, b.Run)
	lastAbout := map[string]int{}
	lastStep := -1
	for i, e := range b.Events {
		if e.StepKey != "" {
			lastAbout[e.StepKey], lastStep = i, i
		}
	}
	latest := latestAttempts(b.Steps)
	for i, e := range b.Events {
		m := liveMessage{Seq: e.Seq, Kind: e.Kind, StepKey: e.StepKey, Message: e.Message, Run: run}
		if e.StepKey != "" && lastAbout[e.StepKey] == i {
			if j := slices.IndexFunc(latest, func(st control.StepView) bool { return st.Key == e.StepKey }); j >= 0 {
				row, err := s.fragment("live-step", stepRow{V: s.v, Step: latest[j]})
				if err != nil {
					return err
				}
				m.Row = row
			}
		}
		if i == lastStep {
			html, err := s.fragment("live-waiting", waitingOf(s.v, b.Run.ID, latest, s.q.may(control.OpStepDecide)))
			if err != nil {
				return err
			}
			m.Waiting = &html
		}
		if c, ok := checkOf(s.v.Lang, e); ok {
			c.V = s.v
			html, err := s.fragment("live-check", c)
			if err != nil {
				return err
			}
			m.Check = html
		}
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := s.write(fmt.Sprintf("id: %d\ndata: %s\n\n", e.Seq, data)); err != nil {
			return err
		}
	}
	return nil
}

// end writes the final verdict as the `end` event.
func (s *eventStream) end(b *control.RunEvents) error {
	verdict, err := s.fragment("live-verdict", verdictData{V: s.v, Run: b.Run})
	if err != nil {
		return err
	}
	data, err := json.Marshal(liveEnd{Run: liveRunOf(s.v.Lang, b.Run), Verdict: verdict})
	if err != nil {
		return err
	}
	if err := s.write("event: end\ndata: " + string(data) + "\n\n"); err != nil {
		return err
	}
	return s.flush()
}

func (s *eventStream) fragment(name string, data any) (string, error) {
	var buf bytes.Buffer
	if err := s.h.pages["live"].ExecuteTemplate(&buf, name, data); err != nil {
		s.h.log.Error("render live fragment", "template", name, "err", err)
		return "", err
	}
	return strings.TrimSpace(buf.String()), nil
}

func liveRunOf(lang string, r control.RunSummary) liveRun {
	return liveRun{State: r.State, StateText: stateText(lang, string(r.State)), T0: r.T0, T1: r.T1,
		Abortable: !r.State.IsTerminal() && r.AbortRequestedAt == nil}
}

// decisionsFor are the decisions a person can take on a step that waits: a manual step is
// done or failed; a step whose outcome is unknown is done, run again, or the run aborted.
func decisionsFor(s control.StepView) []string {
	if s.State == drills.StepUnknown {
		return []string{store.DecisionDone, store.DecisionRetry, store.DecisionAbort}
	}
	return []string{store.DecisionDone, store.DecisionFailed}
}
