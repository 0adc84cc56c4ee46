package control

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Findings to closure, and what people record about a run: its participants, deviations and
// lessons. Findings are created automatically when a run ends (store.RunFinish) or added by
// hand; a passing drill that covers one closes it (retested), a compliance officer may carry
// one by an accepted risk; nobody else closes a finding.

// Finding list limits.
const (
	DefaultFindingListLimit = store.DefaultFindingListLimit
	MaxFindingListLimit     = store.MaxFindingListLimit
	// maxShortText bounds a title, an owner, a name or a role.
	maxShortText = 200
)

// FindingView is a finding as the API and CLI show it.
type FindingView struct {
	ID          string                 `json:"id"`
	Kind        drills.FindingKind     `json:"kind"`
	RunID       string                 `json:"run_id,omitempty"`
	Service     string                 `json:"service,omitempty"`
	Plan        string                 `json:"plan,omitempty"`
	StepKey     string                 `json:"step_key,omitempty"`
	Title       string                 `json:"title"`
	Description string                 `json:"description,omitempty"`
	Severity    drills.FindingSeverity `json:"severity"`
	Owner       string                 `json:"owner,omitempty"`
	RootCause   string                 `json:"root_cause,omitempty"`
	DueAt       *time.Time             `json:"due_at,omitempty"`
	Status      drills.FindingStatus   `json:"status"`
	// Overdue: past its due date and neither retested nor carried by an accepted risk.
	Overdue        bool          `json:"overdue"`
	RiskAcceptedBy *drills.Actor `json:"risk_accepted_by,omitempty"`
	RiskAcceptedAt *time.Time    `json:"risk_accepted_at,omitempty"`
	RiskReason     string        `json:"risk_reason,omitempty"`
	// ClosedByRunID is the passing drill that retested it.
	ClosedByRunID string       `json:"closed_by_run_id,omitempty"`
	ClosedAt      *time.Time   `json:"closed_at,omitempty"`
	CreatedBy     drills.Actor `json:"created_by"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
}

// FindingDetail is a finding with its whole history.
type FindingDetail struct {
	Finding FindingView         `json:"finding"`
	History []FindingUpdateView `json:"history"`
}

// FindingUpdateView is one entry of a finding's history.
type FindingUpdateView struct {
	At      time.Time                    `json:"at"`
	By      drills.Actor                 `json:"by"`
	Changes map[string]FindingChangeView `json:"changes"`
	Comment string                       `json:"comment,omitempty"`
}

// FindingChangeView is one field's change: its old and new value as text.
type FindingChangeView struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// FindingListParams filter and page the finding list, by finding number.
type FindingListParams struct {
	Statuses []drills.FindingStatus `json:"statuses,omitempty"`
	Service  string                 `json:"service,omitempty"`
	RunID    string                 `json:"run_id,omitempty"`
	// Overdue keeps the findings past their due date and not covered.
	Overdue bool `json:"overdue,omitempty"`
	// Limit defaults to 100, at most 1000.
	Limit int `json:"limit,omitempty"`
	// Cursor is the NextCursor of the previous page; empty for the first.
	Cursor string `json:"cursor,omitempty"`
}

// FindingList is one page of findings.
type FindingList struct {
	Findings []FindingView `json:"findings"`
	// NextCursor fetches the next page; empty on the last.
	NextCursor string `json:"next_cursor,omitempty"`
}

// FindingAddParams add a finding by hand.
type FindingAddParams struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Severity is low, medium, high or critical.
	Severity string `json:"severity"`
	// Service, Plan and RunID say what it concerns; all optional. Service must be one of the
	// estate's.
	Service string `json:"service,omitempty"`
	Plan    string `json:"plan,omitempty"`
	RunID   string `json:"run_id,omitempty"`
	Owner   string `json:"owner,omitempty"`
	// RootCause is what caused it, once known.
	RootCause string `json:"root_cause,omitempty"`
	// DueAt is an RFC 3339 time or a date (YYYY-MM-DD: due by the end of that day, UTC);
	// default the server's finding_due after now.
	DueAt   string `json:"due_at,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// FindingUpdateParams change a finding; an absent field is left as it is.
type FindingUpdateParams struct {
	ID          string  `json:"-"`
	Title       *string `json:"title,omitempty"`
	Description *string `json:"description,omitempty"`
	Owner       *string `json:"owner,omitempty"`
	RootCause   *string `json:"root_cause,omitempty"`
	// DueAt is an RFC 3339 time or a date (YYYY-MM-DD: the end of that day, UTC).
	DueAt    *string `json:"due_at,omitempty"`
	Severity *string `json:"severity,omitempty"`
	// Status is open, in_progress or fixed (which withdraws an accepted risk). retested is
	// set by a passing drill only, risk_accepted by accept-risk.
	Status *string `json:"status,omitempty"`
	// Comment is recorded in the history; a comment alone is an update.
	Comment string `json:"comment,omitempty"`
}

// FindingAcceptRiskParams accept a finding's risk.
type FindingAcceptRiskParams struct {
	ID string `json:"-"`
	// Reason says why the risk is accepted; required.
	Reason string `json:"reason"`
}

// ParticipantParams is one person's part in a run.
type ParticipantParams struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// Attended: they took part. A person the plan names is intended whatever is sent.
	Attended bool `json:"attended"`
	// Intended: the plan meant them to take part (beyond those it names).
	Intended bool `json:"intended,omitempty"`
}

// RunParticipantsParams record who took part in a run.
type RunParticipantsParams struct {
	RunID        string              `json:"-"`
	Participants []ParticipantParams `json:"participants"`
}

// RunNoteParams note a deviation from the plan or a lesson learned on a run.
type RunNoteParams struct {
	RunID string `json:"-"`
	// Kind is deviation or lesson.
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// ParticipantView is one person's part in a run, as last recorded.
type ParticipantView struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// Intended: the plan meant them to take part; Attended: they did.
	Intended bool `json:"intended"`
	Attended bool `json:"attended"`
	// RecordedBy and At say who recorded it and when; absent for a person the plan intended
	// whose part nobody recorded.
	RecordedBy *drills.Actor `json:"recorded_by,omitempty"`
	At         *time.Time    `json:"at,omitempty"`
}

// NoteView is a deviation or a lesson noted on a run.
type NoteView struct {
	Kind string       `json:"kind"`
	Text string       `json:"text"`
	By   drills.Actor `json:"by"`
	At   time.Time    `json:"at"`
}

func findingViewOf(f *store.Finding, now time.Time) FindingView {
	return FindingView{
		ID: f.ID, Kind: f.Kind, RunID: f.RunID, Service: f.Service, Plan: f.Plan, StepKey: f.StepKey, Title: f.Title,
		Description: f.Description, Severity: f.Severity, Owner: f.Owner, RootCause: f.RootCause, DueAt: f.DueAt,
		Status: f.Status, Overdue: f.Overdue(now), RiskAcceptedBy: actorPtr(f.RiskAcceptedBy), RiskAcceptedAt: f.RiskAcceptedAt,
		RiskReason: f.RiskReason, ClosedByRunID: f.ClosedByRunID, ClosedAt: f.ClosedAt, CreatedBy: f.CreatedBy,
		CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
	}
}

// FindingList returns a page of findings, by finding number.
func (c *Control) FindingList(ctx context.Context, caller *Caller, p *FindingListParams) (*FindingList, error) {
	if p == nil {
		p = &FindingListParams{}
	}
	if err := c.authorize(ctx, caller, OpFindingRead, "", ""); err != nil {
		return nil, err
	}
	now := c.cfg.Clock.Now()
	q := &store.FindingListParams{Service: p.Service, RunID: p.RunID, Limit: p.Limit}
	for i, st := range p.Statuses {
		if !slices.Contains(drills.FindingStatuses, st) {
			return nil, invalidf(fmt.Sprintf("statuses[%d]", i), "%q is not a finding status (%s)", st, findingStatusList())
		}
		q.Statuses = append(q.Statuses, st)
	}
	if p.Limit < 0 || p.Limit > MaxFindingListLimit {
		return nil, invalidf("limit", "limit must be between 1 and %d", MaxFindingListLimit)
	}
	if p.Overdue {
		q.OverdueAt = &now
	}
	if p.Cursor != "" {
		seq, err := strconv.ParseInt(p.Cursor, 10, 64)
		if err != nil || seq <= 0 {
			return nil, invalidf("cursor", "cursor is not one this server gave: use the next_cursor of the previous page")
		}
		q.AfterSeq = seq
	}
	page, err := c.cfg.Store.FindingList(ctx, q)
	if err != nil {
		return nil, internal(err)
	}
	out := &FindingList{Findings: make([]FindingView, 0, len(page.Findings))}
	for _, f := range page.Findings {
		out.Findings = append(out.Findings, findingViewOf(f, now))
	}
	if page.Next > 0 {
		out.NextCursor = strconv.FormatInt(page.Next, 10)
	}
	return out, nil
}

func findingStatusList() string {
	s := make([]string, len(drills.FindingStatuses))
	for i, st := range drills.FindingStatuses {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

func severityList() string {
	s := make([]string, len(drills.FindingSeverities))
	for i, sv := range drills.FindingSeverities {
		s[i] = string(sv)
	}
	return strings.Join(s, ", ")
}

// FindingGet returns a finding with its history.
func (c *Control) FindingGet(ctx context.Context, caller *Caller, id string) (*FindingDetail, error) {
	if err := c.authorize(ctx, caller, OpFindingRead, "", id); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, invalidf("id", "the finding's id is required")
	}
	return c.findingDetail(ctx, id)
}

func (c *Control) findingDetail(ctx context.Context, id string) (*FindingDetail, error) {
	f, err := c.cfg.Store.FindingGet(ctx, id)
	if err != nil {
		return nil, storeError(err, "finding "+id, nil)
	}
	hist, err := c.cfg.Store.FindingUpdateList(ctx, id)
	if err != nil {
		return nil, internal(err)
	}
	d := &FindingDetail{Finding: findingViewOf(f, c.cfg.Clock.Now()), History: make([]FindingUpdateView, 0, len(hist))}
	for _, h := range hist {
		v := FindingUpdateView{At: h.At, By: h.By, Comment: h.Comment, Changes: map[string]FindingChangeView{}}
		for k, ch := range h.Changes {
			v.Changes[k] = FindingChangeView{From: ch.From, To: ch.To}
		}
		d.History = append(d.History, v)
	}
	return d, nil
}

// parseDue reads a due date: an RFC 3339 time, or a date meaning the end of that day (UTC).
func parseDue(field, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		return d.AddDate(0, 0, 1).Add(-time.Millisecond), nil
	}
	return time.Time{}, invalidf(field, "%s %q is not a date (YYYY-MM-DD) or an RFC 3339 time", field, v)
}

// checkText refuses a required text that is blank and any text longer than max.
func checkText(field, v string, required bool, max int) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return invalidf(field, "%s is required", field)
	case len(v) > max:
		return invalidf(field, "%s is longer than %d characters", field, max)
	}
	return nil
}

// FindingAdd records a finding by hand. It is open, due at DueAt or the server's default
// (finding_due) after now.
func (c *Control) FindingAdd(ctx context.Context, caller *Caller, p *FindingAddParams) (*FindingDetail, error) {
	if p == nil {
		p = &FindingAddParams{}
	}
	name := recFindingAdd
	if err := c.authorize(ctx, caller, OpFindingManage, name, ""); err != nil {
		return nil, err
	}
	fail := func(err error) error { return c.failed(ctx, caller, name, "", err, "finding", nil) }
	for _, f := range []struct {
		field, v string
		required bool
		max      int
	}{
		{"title", p.Title, true, maxShortText}, {"description", p.Description, false, maxComment},
		{"owner", p.Owner, false, maxShortText}, {"root_cause", p.RootCause, false, maxComment},
		{"service", p.Service, false, maxShortText}, {"plan", p.Plan, false, maxShortText},
		{"run_id", p.RunID, false, maxShortText}, {"comment", p.Comment, false, maxComment},
	} {
		if err := checkText(f.field, f.v, f.required, f.max); err != nil {
			return nil, fail(err)
		}
	}
	severity := drills.FindingSeverity(p.Severity)
	if !slices.Contains(drills.FindingSeverities, severity) {
		return nil, fail(invalidf("severity", "severity %q is not one of %s", p.Severity, severityList()))
	}
	if p.Service != "" && c.cfg.Estate != nil && c.cfg.Estate.Estate != nil && c.cfg.Estate.Estate.Service(p.Service) == nil {
		return nil, fail(invalidf("service", "service %q is not in the estate", p.Service))
	}
	now := c.cfg.Clock.Now()
	due := now.Add(c.cfg.Store.FindingDue())
	if p.DueAt != "" {
		var err error
		if due, err = parseDue("due_at", p.DueAt); err != nil {
			return nil, fail(err)
		}
	}
	if p.RunID != "" {
		run, err := c.cfg.Store.RunGet(ctx, p.RunID)
		if err != nil {
			return nil, fail(storeError(err, "run "+p.RunID, nil).withField("run_id", CategoryInvalid))
		}
		if p.Plan == "" {
			p.Plan = run.PlanName
		}
	}
	var f *store.Finding
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		f, err = c.cfg.Store.FindingInsertTx(ctx, tx, &store.FindingInsertParams{
			Title: p.Title, Description: p.Description, Severity: severity, Service: p.Service, Plan: p.Plan, RunID: p.RunID,
			Owner: p.Owner, RootCause: p.RootCause, DueAt: &due, By: caller.Actor, Comment: p.Comment, At: now,
		})
		if err != nil {
			return err
		}
		return c.recordTx(ctx, tx, caller, name, f.ID, "finding "+f.ID+" added", map[string]any{
			"title": f.Title, "severity": f.Severity, "service": f.Service, "run_id": f.RunID, "due_at": f.DueAt,
		})
	})
	if err != nil {
		return nil, fail(err)
	}
	return c.findingDetail(ctx, f.ID)
}

// withField turns a not-found about a referenced row into an invalid field of the request.
func (e *Error) withField(field string, cat Category) *Error {
	if e.Category == CategoryNotFound {
		return &Error{Category: cat, Field: field, Message: e.Message, Err: e.Err}
	}
	return e
}

// FindingUpdate changes a finding and records what changed in its history.
func (c *Control) FindingUpdate(ctx context.Context, caller *Caller, p *FindingUpdateParams) (*FindingDetail, error) {
	if p == nil {
		p = &FindingUpdateParams{}
	}
	name := recFindingUpdate
	if err := c.authorize(ctx, caller, OpFindingManage, name, p.ID); err != nil {
		return nil, err
	}
	fail := func(err error) error { return c.failed(ctx, caller, name, p.ID, err, "finding "+p.ID, nil) }
	if p.ID == "" {
		return nil, fail(invalidf("id", "the finding's id is required"))
	}
	for _, f := range []struct {
		field string
		v     *string
		max   int
	}{
		{"title", p.Title, maxShortText}, {"description", p.Description, maxComment}, {"owner", p.Owner, maxShortText},
		{"root_cause", p.RootCause, maxComment},
	} {
		if f.v == nil {
			continue
		}
		if err := checkText(f.field, *f.v, f.field == "title", f.max); err != nil {
			return nil, fail(err)
		}
	}
	if err := checkText("comment", p.Comment, false, maxComment); err != nil {
		return nil, fail(err)
	}
	up := &store.FindingUpdateParams{ID: p.ID, Title: p.Title, Description: p.Description, Owner: p.Owner, RootCause: p.RootCause,
		Comment: p.Comment, By: caller.Actor, At: c.cfg.Clock.Now()}
	if p.Severity != nil {
		sev := drills.FindingSeverity(*p.Severity)
		if !slices.Contains(drills.FindingSeverities, sev) {
			return nil, fail(invalidf("severity", "severity %q is not one of %s", *p.Severity, severityList()))
		}
		up.Severity = &sev
	}
	if p.Status != nil {
		st := drills.FindingStatus(*p.Status)
		switch st {
		case drills.FindingOpen, drills.FindingInProgress, drills.FindingFixed:
			up.Status = &st
		case drills.FindingRetested:
			return nil, fail(invalidf("status", "status retested is set only by a later passing drill that covers the finding"))
		case drills.FindingRiskAccepted:
			return nil, fail(invalidf("status", "status risk_accepted is set by accepting the risk (accept-risk, with a reason)"))
		default:
			return nil, fail(invalidf("status", "status %q is not one of open, in_progress, fixed", *p.Status))
		}
	}
	if p.DueAt != nil {
		due, err := parseDue("due_at", *p.DueAt)
		if err != nil {
			return nil, fail(err)
		}
		up.DueAt = &due
	}
	if p.Title == nil && p.Description == nil && p.Owner == nil && p.RootCause == nil && p.DueAt == nil &&
		p.Severity == nil && p.Status == nil && p.Comment == "" {
		return nil, fail(invalidf("", "nothing to change: give title, description, owner, root_cause, due_at, severity, status or comment"))
	}
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		f, err := c.cfg.Store.FindingUpdateTx(ctx, tx, up)
		if err != nil {
			return err
		}
		detail := map[string]any{"status": f.Status}
		for k, v := range map[string]*string{"title": p.Title, "owner": p.Owner, "root_cause": p.RootCause, "due_at": p.DueAt, "severity": p.Severity, "status": p.Status} {
			if v != nil {
				detail[k] = *v
			}
		}
		if p.Comment != "" {
			detail["comment"] = p.Comment
		}
		return c.recordTx(ctx, tx, caller, name, f.ID, "finding "+f.ID+" updated", detail)
	})
	if err != nil {
		return nil, fail(err)
	}
	return c.findingDetail(ctx, p.ID)
}

// FindingAcceptRisk carries a finding by an accepted risk: the caller (a compliance officer)
// and the reason are recorded. The finding stays open to a later passing drill's retest.
func (c *Control) FindingAcceptRisk(ctx context.Context, caller *Caller, p *FindingAcceptRiskParams) (*FindingDetail, error) {
	if p == nil {
		p = &FindingAcceptRiskParams{}
	}
	name := string(OpFindingAccept)
	if err := c.authorize(ctx, caller, OpFindingAccept, name, p.ID); err != nil {
		return nil, err
	}
	fail := func(err error) error { return c.failed(ctx, caller, name, p.ID, err, "finding "+p.ID, nil) }
	switch {
	case p.ID == "":
		return nil, fail(invalidf("id", "the finding's id is required"))
	case strings.TrimSpace(p.Reason) == "":
		return nil, fail(invalidf("reason", "reason is required: say why the risk is accepted"))
	case len(p.Reason) > maxComment:
		return nil, fail(invalidf("reason", "reason is longer than %d characters", maxComment))
	}
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		f, err := c.cfg.Store.FindingAcceptRiskTx(ctx, tx, &store.FindingAcceptRiskParams{ID: p.ID, Reason: p.Reason, By: caller.Actor, At: c.cfg.Clock.Now()})
		if err != nil {
			return err
		}
		return c.recordTx(ctx, tx, caller, name, f.ID, "risk of finding "+f.ID+" accepted", map[string]any{"reason": p.Reason})
	})
	if err != nil {
		return nil, fail(err)
	}
	return c.findingDetail(ctx, p.ID)
}

// RunParticipantsRecord records who took part in a run and in what role. A person the run's
// plan names as a participant is intended; whoever else is recorded is not, unless the caller
// says so. A later record of the same name corrects the earlier one.
func (c *Control) RunParticipantsRecord(ctx context.Context, caller *Caller, p *RunParticipantsParams) ([]ParticipantView, error) {
	if p == nil {
		p = &RunParticipantsParams{}
	}
	name := string(OpRunRecord)
	if err := c.authorize(ctx, caller, OpRunRecord, name, p.RunID); err != nil {
		return nil, err
	}
	fail := func(err error) error { return c.failed(ctx, caller, name, p.RunID, err, "run "+p.RunID, nil) }
	if p.RunID == "" {
		return nil, fail(invalidf("id", "the run's id is required"))
	}
	if len(p.Participants) == 0 {
		return nil, fail(invalidf("participants", "participants is required: at least one person with a name and a role"))
	}
	seen := map[string]bool{}
	for i, pp := range p.Participants {
		for _, f := range []struct{ field, v string }{{"name", pp.Name}, {"role", pp.Role}} {
			if err := checkText(fmt.Sprintf("participants[%d].%s", i, f.field), f.v, true, maxShortText); err != nil {
				return nil, fail(err)
			}
		}
		if seen[pp.Name] {
			return nil, fail(invalidf(fmt.Sprintf("participants[%d].name", i), "%s is given twice", pp.Name))
		}
		seen[pp.Name] = true
	}
	run, err := c.cfg.Store.RunGet(ctx, p.RunID)
	if err != nil {
		return nil, fail(err)
	}
	intended, err := intendedParticipants(ctx, c.cfg.Store, run)
	if err != nil {
		return nil, fail(err)
	}
	in := make([]store.ParticipantInput, len(p.Participants))
	for i, pp := range p.Participants {
		planned := slices.ContainsFunc(intended, func(ip *drills.Participant) bool { return ip.Name == pp.Name })
		in[i] = store.ParticipantInput{Name: pp.Name, Role: pp.Role, Attended: pp.Attended, Intended: pp.Intended || planned}
	}
	err = c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := c.cfg.Store.RunParticipantsRecordTx(ctx, tx, &store.RunParticipantsRecordParams{RunID: run.ID, Participants: in, By: caller.Actor, At: c.cfg.Clock.Now()}); err != nil {
			return err
		}
		return c.recordTx(ctx, tx, caller, name, run.ID, fmt.Sprintf("%d participant(s) recorded", len(in)), map[string]any{"participants": in})
	})
	if err != nil {
		return nil, fail(err)
	}
	views, err := participantViews(ctx, c.cfg.Store, run)
	if err != nil {
		return nil, internal(err)
	}
	return views, nil
}

// intendedParticipants are the people the run's recorded plan declares as participants.
func intendedParticipants(ctx context.Context, st *store.Store, run *store.Run) ([]*drills.Participant, error) {
	plan, err := recordedPlanOf(ctx, st, run)
	if err != nil {
		return nil, err
	}
	return plan.participants, nil
}

// participantViews is who took part in run: the recorded participants, then each person the
// plan intended who was never recorded (so not attended, as far as firedrill knows).
func participantViews(ctx context.Context, st *store.Store, run *store.Run) ([]ParticipantView, error) {
	ps, err := st.RunParticipantsList(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	intended, err := intendedParticipants(ctx, st, run)
	if err != nil {
		return nil, err
	}
	return participantViewsOf(ps, intended), nil
}

// participantViewsOf is participantViews of the recorded participants ps and the plan's intended.
func participantViewsOf(ps []*store.RunParticipant, intended []*drills.Participant) []ParticipantView {
	out := make([]ParticipantView, 0, len(ps)+len(intended))
	for _, pp := range ps {
		at := pp.At
		out = append(out, ParticipantView{Name: pp.Name, Role: pp.Role, Intended: pp.Intended, Attended: pp.Attended, RecordedBy: actorPtr(pp.RecordedBy), At: &at})
	}
	for _, pp := range intended {
		if !slices.ContainsFunc(out, func(v ParticipantView) bool { return v.Name == pp.Name }) {
			out = append(out, ParticipantView{Name: pp.Name, Role: pp.Role, Intended: true})
		}
	}
	return out
}

// RunNoteAdd notes a deviation from the plan or a lesson learned on a run.
func (c *Control) RunNoteAdd(ctx context.Context, caller *Caller, p *RunNoteParams) (*NoteView, error) {
	if p == nil {
		p = &RunNoteParams{}
	}
	name := recRunNote
	if err := c.authorize(ctx, caller, OpRunRecord, name, p.RunID); err != nil {
		return nil, err
	}
	fail := func(err error) error { return c.failed(ctx, caller, name, p.RunID, err, "run "+p.RunID, nil) }
	switch {
	case p.RunID == "":
		return nil, fail(invalidf("id", "the run's id is required"))
	case p.Kind != store.NoteDeviation && p.Kind != store.NoteLesson:
		return nil, fail(invalidf("kind", "kind %q is not deviation or lesson", p.Kind))
	}
	if err := checkText("text", p.Text, true, maxComment); err != nil {
		return nil, fail(err)
	}
	var n *store.RunNote
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = c.cfg.Store.RunNoteAddTx(ctx, tx, &store.RunNoteAddParams{RunID: p.RunID, Kind: p.Kind, Text: p.Text, By: caller.Actor, At: c.cfg.Clock.Now()}); err != nil {
			return err
		}
		return c.recordTx(ctx, tx, caller, name, p.RunID, p.Kind+" noted", map[string]any{"kind": p.Kind, "text": p.Text})
	})
	if err != nil {
		return nil, fail(err)
	}
	return &NoteView{Kind: n.Kind, Text: n.Text, By: n.By, At: n.At}, nil
}
