package pages

import (
	"net/url"
	"strings"
	"time"

	"github.com/firedrill/firedrill/orchestrator/control"
)

var auditMessages = map[string][2]string{
	"nav.audit":          {"Audit log", "감사 로그"},
	"audit.title":        {"Audit log", "감사 로그"},
	"audit.intro":        {"Every operation people took or tried, newest first, each with its row of the hash-chained audit log.", "사용자가 수행하거나 시도한 모든 작업을 최신순으로 보여 줍니다. 각 항목은 해시 체인 감사 로그의 행과 연결됩니다."},
	"audit.actor":        {"Actor", "수행자"},
	"audit.operation":    {"Operation", "작업"},
	"audit.target":       {"Target", "대상"},
	"audit.outcome":      {"Outcome", "결과"},
	"audit.from":         {"From (date)", "시작일"},
	"audit.to":           {"To (date, included)", "종료일 (포함)"},
	"audit.text":         {"Message contains", "메시지 검색어"},
	"audit.text_window":  {"A message search reads the period row by row: without a start date it covers the last %d days.", "메시지 검색은 기간 내 기록을 한 건씩 확인하므로, 시작일이 없으면 최근 %d일을 검색합니다."},
	"audit.search":       {"Search", "검색"},
	"audit.clear":        {"Clear", "초기화"},
	"audit.any":          {"Any", "전체"},
	"audit.row":          {"Audit row", "감사 행"},
	"audit.message":      {"Message", "메시지"},
	"audit.none":         {"No recorded operation matches.", "조건에 맞는 기록이 없습니다."},
	"audit.not_chained":  {"before the log", "로그 이전"},
	"audit.chain":        {"Audit chain", "감사 체인"},
	"audit.head":         {"Head: row %d, hash %s", "최신 행: %d, 해시 %s"},
	"audit.verify":       {"Verify the whole chain", "전체 체인 검증"},
	"audit.verify_note":  {"Verifying reads every row of the log, as firedrill audit verify does.", "검증은 firedrill audit verify와 같이 로그의 모든 행을 읽습니다."},
	"audit.verified":     {"Verified: %d rows hash and link, and every fact they copy is unaltered.", "검증됨: %d개 행의 해시와 연결이 맞고, 기록된 사실이 변경되지 않았습니다."},
	"audit.not_verified": {"NOT verified: %s", "검증 실패: %s"},
	"audit.ok":           {"ok", "성공"},
	"audit.denied":       {"denied", "거부"},
	"audit.failed":       {"failed", "실패"},
	"audit.via":          {"via %s", "%s 경유"},
	"audit.anonymous":    {"(not signed in)", "(미인증)"},
	"audit.detail":       {"Detail", "상세"},
}

func init() { addMessages(auditMessages) }

// auditTextWindow is how far back a message search without a start date reads.
const auditTextWindow = 90

// auditPageSize is the rows one page of the audit log shows.
const auditPageSize = 50

type auditData struct {
	List *control.AuditList
	// Entries are List's, with a link to the run a run operation acted on.
	Entries []auditRow
	// Filter is the form as the user filled it (the start date filled in for a text search).
	Filter     auditFilter
	Outcomes   []string
	Operations []control.Operation
	// Windowed: the text search's start date was filled in.
	Windowed bool
	Window   int
	// Verify is the whole chain's check, when asked for.
	Verify *control.AuditVerifyView
	// Next is the next page's query.
	Next string
	// VerifyQuery is this page's query asking for the check too.
	VerifyQuery string
}

// auditRow is one recorded operation as the page shows it.
type auditRow struct {
	control.AuditEntryView
	// RunLink: the target is a run (of a run.* operation), linked to its page.
	RunLink bool
}

// auditFilter is the audit page's search form.
type auditFilter struct {
	Actor, Operation, Target, Outcome, From, To, Text string
}

func (f auditFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "operation": f.Operation, "target": f.Target, "outcome": f.Outcome,
		"from": f.From, "to": f.To, "text": f.Text} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func (h *handler) audit(q *req) (string, string, any, error) {
	q.need(control.OpAuditRead)
	in := q.r.URL.Query()
	f := auditFilter{Actor: in.Get("actor"), Operation: in.Get("operation"), Target: in.Get("target"), Outcome: in.Get("outcome"),
		From: in.Get("from"), To: in.Get("to"), Text: in.Get("text")}
	d := &auditData{Outcomes: control.AuditOutcomes, Operations: control.Operations(), Window: auditTextWindow}
	if f.Text != "" && f.From == "" {
		f.From = q.now.In(q.loc).AddDate(0, 0, -auditTextWindow).Format(time.DateOnly)
		d.Windowed = true
	}
	p := &control.AuditListParams{Actor: f.Actor, Operation: f.Operation, Target: f.Target, Outcome: f.Outcome, Text: f.Text,
		Cursor: in.Get("cursor"), Limit: auditPageSize}
	for _, b := range []struct {
		field, v string
		dst      **time.Time
		after    int
	}{{"from", f.From, &p.Since, 0}, {"to", f.To, &p.Until, 1}} {
		if b.v == "" {
			continue
		}
		day, err := time.ParseInLocation(time.DateOnly, b.v, q.loc)
		if err != nil {
			return "", "", nil, errorf(control.CategoryInvalid, b.field, "%s %q is not a date: YYYY-MM-DD", b.field, b.v)
		}
		t := day.AddDate(0, 0, b.after)
		*b.dst = &t
	}
	list, err := h.cfg.Control.AuditListGet(q.ctx, q.caller, p)
	if err != nil {
		return "", "", nil, err
	}
	d.List, d.Filter = list, f
	for _, e := range list.Entries {
		d.Entries = append(d.Entries, auditRow{AuditEntryView: e, RunLink: e.Target != "" && strings.HasPrefix(e.Operation, "run.")})
	}
	query := f.query()
	if list.NextCursor != "" {
		next := f.query()
		next.Set("cursor", list.NextCursor)
		d.Next = next.Encode()
	}
	query.Set("verify", "1")
	d.VerifyQuery = query.Encode()
	if in.Get("verify") != "" {
		if d.Verify, err = h.cfg.Control.AuditVerify(q.ctx, q.caller); err != nil {
			return "", "", nil, err
		}
	}
	return "audit", "nav.audit", d, nil
}
