package control

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Run list limits.
const (
	DefaultRunListLimit = store.DefaultRunListLimit
	MaxRunListLimit     = store.MaxRunListLimit
	// maxComment bounds a comment or a reason.
	maxComment = 2000
)

// RunSubmit records a run of a plan. When an approval policy applies (the plan's, else the
// estate's default) the run waits in awaiting_approval for distinct people of the roles it
// names, never the requester; otherwise it is pending and a worker starts it.
func (c *Control) RunSubmit(ctx context.Context, caller *Caller, p *RunSubmitParams) (*RunSummary, error) {
	if p == nil {
		p = &RunSubmitParams{}
	}
	name := string(OpRunSubmit)
	if err := c.authorize(ctx, caller, OpRunSubmit, name, p.PlanFile); err != nil {
		return nil, err
	}
	if len(p.Comment) > maxComment {
		return nil, c.failed(ctx, caller, name, p.PlanFile, invalidf("comment", "comment is longer than %d characters", maxComment), "", nil)
	}
	plan, err := c.parsePlan(p.PlanFile, p.PlanSource, p.Force)
	if err != nil {
		return nil, c.failed(ctx, caller, name, p.PlanFile, err, "", nil)
	}
	est := c.cfg.Estate
	d := &orchestrator.Drill{
		Estate: est.Estate, EstateSource: est.Source, Plan: plan, PlanSource: []byte(p.PlanSource),
		RequestedBy: caller.Actor, Force: p.Force,
	}
	if err := orchestrator.ValidateDrill(d); err != nil {
		return nil, c.failed(ctx, caller, name, p.PlanFile, invalidPlan(p.PlanFile, err), "", nil)
	}
	ins := store.RunInsertParams{RequestedBy: caller.Actor, Forced: p.Force, State: drills.RunPending}
	if policy := drills.EffectiveApproval(est.Estate, plan, nil); policy.Required() {
		within := policy.Within
		if within <= 0 {
			within = drills.DefaultApprovalWithin
		}
		deadline := c.cfg.Clock.Now().Add(within)
		ins.State, ins.ApprovalRoles, ins.ApprovalDeadline = drills.RunAwaitingApproval, policy.Roles, &deadline
	}
	var run *store.Run
	err = c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		run, err = c.cfg.Store.RunSubmitTx(ctx, tx, &store.RunSubmitParams{
			Estate: d.Estate, EstateSource: d.EstateSource, Plan: d.Plan, PlanSource: d.PlanSource, Run: ins,
		})
		if err != nil {
			return err
		}
		detail := map[string]any{"plan": plan.Name, "plan_file": p.PlanFile, "state": run.State, "forced": p.Force}
		if p.Comment != "" {
			detail["comment"] = p.Comment
		}
		if len(run.ApprovalRoles) > 0 {
			detail["approval_roles"] = run.ApprovalRoles
		}
		return c.recordTx(ctx, tx, caller, name, run.ID, "run of "+plan.Name+" submitted", detail)
	})
	if err != nil {
		return nil, c.failed(ctx, caller, name, p.PlanFile, err, "plan "+plan.Name, nil)
	}
	c.log.InfoContext(ctx, "run submitted", "run_id", run.ID, "plan", plan.Name, "requested_by", caller.Actor.String(), "state", string(run.State))
	c.announceAwaiting(ctx, run)
	s := runSummaryOf(run, nil)
	return &s, nil
}

// parsePlan parses and validates a plan sent by a caller against the server's estate. The
// plan's file, for resolving its relative paths (jobspecs), is PlanFile inside the estate's
// directory.
func (c *Control) parsePlan(file, source string, force bool) (*drills.Plan, error) {
	est := c.cfg.Estate
	if est == nil || est.Estate == nil {
		return nil, conflictf("this server has no estate: start firedrill serve with --config")
	}
	switch {
	case file == "":
		return nil, invalidf("plan_file", "plan_file is required: the plan's path, relative to the estate's directory")
	case source == "":
		return nil, invalidf("plan_source", "plan_source is required: the plan's HCL")
	}
	resolved := file
	switch {
	case filepath.IsLocal(file):
		resolved = est.resolve(file)
	case !filepath.IsAbs(file):
		return nil, invalidf("plan_file", "plan_file %q leaves the estate's directory: give it relative to the estate (or absolute)", file)
	}
	// Every problem at once, as `firedrill plan validate` reports them: the plan is checked
	// against the estate even when it parsed with errors.
	plan, diags := drills.ParsePlan([]byte(source), file)
	if plan != nil {
		diags = append(diags, drills.ValidatePlanWith(est.Estate, plan, drills.ValidateOptions{AllowUnplannedDependencies: force})...)
	}
	if diags.HasErrors() || plan == nil {
		return nil, invalidPlan(file, diags)
	}
	plan.File = resolved
	return plan, nil
}

// invalidPlan is the invalid *Error of a plan with problems: its Details are the positioned
// diagnostics.
func invalidPlan(file string, err error) *Error {
	var diags drills.Diagnostics
	var ip *orchestrator.InvalidPlanError
	switch {
	case errors.As(err, &ip):
		diags = ip.Diagnostics
	case errors.As(err, &diags):
	default:
		return &Error{Category: CategoryInvalid, Field: "plan_source", Message: fmt.Sprintf("plan %s is not valid", file), Err: err}
	}
	ds := diagnosticsOf(diags)
	n := 0
	for _, d := range ds {
		if d.Severity == "error" {
			n++
		}
	}
	msg := fmt.Sprintf("plan %s is not valid against the estate: %d problem(s)", file, n)
	for _, d := range ds {
		if d.Severity == "error" {
			msg += "; first: " + d.String()
			break
		}
	}
	return &Error{Category: CategoryInvalid, Field: "plan_source", Message: msg, Details: ds, Err: err}
}

func diagnosticsOf(diags drills.Diagnostics) []Diagnostic {
	diags = slices.Clone(diags)
	diags.Sort()
	out := make([]Diagnostic, 0, len(diags))
	for _, d := range diags {
		sev := "error"
		if d.Warning {
			sev = "warning"
		}
		out = append(out, Diagnostic{File: d.Pos.File, Line: d.Pos.Line, Column: d.Pos.Column, Severity: sev, Message: d.Msg})
	}
	return out
}

// String renders the diagnostic as the CLI prints it: file:line:col: message.
func (d Diagnostic) String() string {
	pos := d.File
	if d.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", d.File, d.Line, d.Column)
	}
	if d.Severity == "warning" {
		return pos + ": warning: " + d.Message
	}
	return pos + ": " + d.Message
}

// PlanValidate validates a plan against the server's estate.
func (c *Control) PlanValidate(ctx context.Context, caller *Caller, p *PlanValidateParams) (*PlanValidation, error) {
	if p == nil {
		p = &PlanValidateParams{}
	}
	if err := c.authorize(ctx, caller, OpPlanValidate, "", p.PlanFile); err != nil {
		return nil, err
	}
	return c.validate(p.PlanFile, p.PlanSource, p.Force)
}

// runCursor is what a RunList's NextCursor encodes: the last run of the page.
type runCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"id"`
}

func encodeCursor(c *store.RunCursor) string {
	if c == nil {
		return ""
	}
	b, _ := json.Marshal(runCursor{CreatedAt: c.CreatedAt.UTC(), ID: c.ID}) // plain fields: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*store.RunCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var rc runCursor
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rc); err != nil {
		return nil, err
	}
	if rc.ID == "" || rc.CreatedAt.IsZero() {
		return nil, errors.New("incomplete cursor")
	}
	return &store.RunCursor{CreatedAt: rc.CreatedAt, ID: rc.ID}, nil
}

// RunListGet returns a page of runs, newest first. Pages are cut on (created_at, id), so a
// run created while a caller pages through is never seen twice nor makes another one skip.
// A caller whose run.read is scoped (Scopes) sees the runs published reports cover.
func (c *Control) RunListGet(ctx context.Context, caller *Caller, p *RunListParams) (*RunList, error) {
	if p == nil {
		p = &RunListParams{}
	}
	if err := c.authorize(ctx, caller, OpRunRead, "", ""); err != nil {
		return nil, err
	}
	q := &store.RunListParams{PlanName: p.Plan, ScheduleName: p.Schedule, RequestedBy: p.RequestedBy,
		Since: p.Since, Until: p.Until, Limit: p.Limit, Published: Scoped(OpRunRead, caller)}
	for i, st := range p.States {
		if !slices.Contains(drills.RunStates, st) {
			return nil, invalidf(fmt.Sprintf("states[%d]", i), "%q is not a run state (%s)", st, joinStates(drills.RunStates))
		}
		q.States = append(q.States, st)
	}
	switch {
	case p.Limit < 0 || p.Limit > MaxRunListLimit:
		return nil, invalidf("limit", "limit must be between 1 and %d", MaxRunListLimit)
	case p.Since != nil && p.Until != nil && !p.Since.Before(*p.Until):
		return nil, invalidf("until", "until must be after since")
	}
	if p.Cursor != "" {
		cur, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, &Error{Category: CategoryInvalid, Field: "cursor", Message: "cursor is not one this server gave: use the next_cursor of the previous page", Err: err}
		}
		q.After = cur
	}
	page, err := c.cfg.Store.RunList(ctx, q)
	if err != nil {
		return nil, internal(err)
	}
	ids := make([]string, len(page.Runs))
	for i, r := range page.Runs {
		ids[i] = r.ID
	}
	ms, err := c.cfg.Store.MeasurementListRuns(ctx, ids)
	if err != nil {
		return nil, internal(err)
	}
	out := &RunList{Runs: make([]RunSummary, 0, len(page.Runs)), NextCursor: encodeCursor(page.Next)}
	for _, r := range page.Runs {
		out.Runs = append(out.Runs, runSummaryOf(r, ms[r.ID]))
	}
	return out, nil
}

func joinStates(states []drills.RunState) string {
	s := make([]string, len(states))
	for i, st := range states {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

// authorizeRunRead authorizes caller to read run runID: run.read, and, for a caller whose
// run.read is scoped (an auditor's: Scopes), a published report covering the run. A run out
// of scope is forbidden whether or not it exists, so the answer says nothing about runs the
// caller may not see, and it says why, which a "not found" would hide from an auditor who
// followed a link. Every operation that reads one run's data calls it.
func (c *Control) authorizeRunRead(ctx context.Context, caller *Caller, runID string) error {
	if err := c.authorize(ctx, caller, OpRunRead, "", runID); err != nil {
		return err
	}
	if runID == "" {
		return invalidf("id", "the run's id is required")
	}
	if !Scoped(OpRunRead, caller) {
		return nil
	}
	ok, err := c.cfg.Store.RunPublished(ctx, runID)
	if err != nil {
		return internal(err)
	}
	if ok {
		return nil
	}
	sc := Scopes[OpRunRead]
	err = forbiddenf("%s reads, as %s, only %s; no published report covers run %s", caller.Actor.Name, sc.Role, sc.Reaches, runID)
	c.record(ctx, actorOf(caller), string(OpRunRead), runID, store.OutcomeDenied, err.Error(), nil)
	return err
}

// RunGet returns a run with all its evidence.
func (c *Control) RunGet(ctx context.Context, caller *Caller, runID string) (*RunView, error) {
	if err := c.authorizeRunRead(ctx, caller, runID); err != nil {
		return nil, err
	}
	v, err := LoadRunView(ctx, c.cfg.Store, runID, c.cfg.Clock.Now())
	if err != nil {
		return nil, storeError(err, "run "+runID, nil)
	}
	return v, nil
}

// LoadRunView reads a run and all its evidence from st. It authorizes nothing: RunGet is the
// operation; this is for commands that own the database (firedrill run on an embedded one).
//
// now is when the view is read: whether a finding is overdue depends on it.
func LoadRunView(ctx context.Context, st *store.Store, runID string, now time.Time) (*RunView, error) {
	// One snapshot: a run that is executing must not show steps newer than its run row.
	snap, err := st.RunSnapshotGet(ctx, runID)
	if err != nil {
		return nil, err
	}
	run, steps, ms, approvals, decisions, events, audit := snap.Run, snap.Steps, snap.Measurements, snap.Approvals,
		snap.Decisions, snap.Events, snap.Audit
	v := &RunView{
		Integrity: IntegrityView{Verified: audit.Problem == nil, AuditRows: audit.Rows, AuditPending: audit.Pending},
		Run:       runSummaryOf(run, ms), Steps: make([]StepView, 0, len(steps)), Services: make([]MeasurementView, 0, len(ms)),
		Approvals: make([]ApprovalView, 0, len(approvals)), Decisions: make([]DecisionView, 0, len(decisions)),
		Timeline: make([]EventView, 0, len(events)),
	}
	if audit.Problem != nil {
		v.Integrity.Problem = audit.Problem.Message
	}
	// The recorded plan, read with the run, gives both the manual steps' instructions and the people it intended.
	plan := recordedPlanFrom(snap.Plan)
	instructions := plan.instructions
	for _, s := range steps {
		v.Steps = append(v.Steps, stepViewOf(run, s, instructions))
	}
	for _, m := range ms {
		v.Services = append(v.Services, measurementViewOf(run, m))
	}
	for _, a := range approvals {
		v.Approvals = append(v.Approvals, approvalViewOf(a))
	}
	for _, d := range decisions {
		v.Decisions = append(v.Decisions, decisionViewOf(d))
	}
	for _, e := range events {
		v.Timeline = append(v.Timeline, EventView{Seq: e.Seq, At: e.At, Kind: e.Kind, StepKey: e.StepKey, Message: e.Message, Data: e.Data})
	}
	if run.State == drills.RunAwaitingApproval {
		v.MissingRoles = nonNil(store.MissingApprovals(run, approvals))
	}
	v.Participants = participantViewsOf(snap.Participants, plan.participants)
	v.Notes = make([]NoteView, 0, len(snap.Notes))
	for _, n := range snap.Notes {
		v.Notes = append(v.Notes, NoteView{Kind: n.Kind, Text: n.Text, By: n.By, At: n.At})
	}
	v.Findings = make([]FindingView, 0, len(snap.Findings))
	for _, f := range snap.Findings {
		v.Findings = append(v.Findings, findingViewOf(f, now))
	}
	return v, nil
}

// measurementViewOf is run's measurement m as views show it.
func measurementViewOf(run *store.Run, m *store.Measurement) MeasurementView {
	obj := m.Objectives(run.T0 != nil)
	return MeasurementView{
		RTOEvidence: obj.RTO, RPOEvidence: obj.RPO, Met: obj.Met(),
		Service: m.Service, Criticality: string(m.Criticality), RTOObjectiveMS: m.RTOObjective.Milliseconds(),
		RTOActualMS: msPtr(m.RTOActual), Restored: m.Restored, RestoredAt: m.RestoredAt, RTOMet: m.RTOMet,
		RPOObjectiveMS: m.RPOObjective.Milliseconds(), RPOActualMS: msPtr(m.RPOActual), RPOLostRows: m.RPOLostRows,
		RPOMet: m.RPOMet, RPOResolutionMS: rpoResolution(m.Evidence), ResolutionMS: m.Resolution.Milliseconds(), Reason: m.Reason, Evidence: m.Evidence,
		ResolutionMethod: resolutionMethod(m.Evidence),
	}
}

// resolutionMethod reads from a measurement's evidence how its restored moment was caught.
func resolutionMethod(ev json.RawMessage) string {
	var doc struct {
		Method string `json:"resolution_method"`
	}
	if len(ev) == 0 || json.Unmarshal(ev, &doc) != nil {
		return ""
	}
	return doc.Method
}

// rpoResolution reads the canary's resolution from a measurement's evidence.
func rpoResolution(ev json.RawMessage) *int64 {
	var doc struct {
		RPO *struct {
			ResolutionMS *int64 `json:"resolution_ms"`
		} `json:"rpo"`
	}
	if len(ev) == 0 || json.Unmarshal(ev, &doc) != nil || doc.RPO == nil {
		return nil
	}
	return doc.RPO.ResolutionMS
}

func approvalViewOf(a *store.Approval) ApprovalView {
	return ApprovalView{By: a.By, Roles: nonNil(a.Roles), Decision: a.Decision, Comment: a.Comment, At: a.At}
}

func decisionViewOf(d *store.StepDecision) DecisionView {
	return DecisionView{StepKey: d.StepKey, Decision: d.Decision, By: d.By, Comment: d.Comment, At: d.At}
}

func msPtr(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	v := d.Milliseconds()
	return &v
}

// runSummaryOf is a stored run as lists show it, with its measurements ms. Whether it passed
// is drills.Passed over its state, forced flag and what its measurements prove; a run still
// going (ms empty) has not passed yet.
func runSummaryOf(r *store.Run, ms []*store.Measurement) RunSummary {
	objs := store.RunObjectives(r, ms)
	s := RunSummary{
		ID: r.ID, Plan: r.PlanName, PlanSHA256: r.PlanSHA256, EstateSHA256: r.EstateSHA256, From: r.FromSite, To: r.ToSite,
		State: r.State, Reason: r.StateReason, RequestedBy: r.RequestedBy, Forced: r.Forced, Schedule: r.ScheduleName,
		FireTime: r.FireTime, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, EndedAt: r.EndedAt, T0: r.T0, T1: r.T1,
		RTOActualMS: msPtr(r.RTOActual), ObjectivesMet: r.ObjectivesMet,
		Passed:        drills.Passed(r.State, r.Forced, objs),
		ApprovalRoles: r.ApprovalRoles, ApprovalDeadline: r.ApprovalDeadline,
		AbortRequestedAt: r.AbortRequestedAt, AbortRequestedBy: actorPtr(r.AbortRequestedBy), AbortReason: r.AbortReason,
		FiredrillVersion: r.FiredrillVersion, FiredrillCommit: r.FiredrillCommit,
	}
	if r.State.IsTerminal() && ms != nil {
		// What the measurements prove, not a flag recorded by an older version.
		met := drills.ObjectivesMet(objs)
		s.ObjectivesMet = &met
	}
	return s
}

// RunApprove approves a run awaiting approval as the caller.
func (c *Control) RunApprove(ctx context.Context, caller *Caller, p *ApprovalDecideParams) (*ApprovalOutcome, error) {
	return c.decideApproval(ctx, caller, p, store.ApprovalApprove)
}

// RunReject rejects a run awaiting approval: it ends blocked, nothing touched.
func (c *Control) RunReject(ctx context.Context, caller *Caller, p *ApprovalDecideParams) (*ApprovalOutcome, error) {
	return c.decideApproval(ctx, caller, p, store.ApprovalReject)
}

// decideApproval carries out an approval or a rejection. Who may decide: an enabled,
// authenticated person holding one of the roles of the run's policy, who did not ask for the
// run. The store then keeps the integrity rules (awaiting approval, within the window, one
// decision per person, one distinct person per role).
func (c *Control) decideApproval(ctx context.Context, caller *Caller, p *ApprovalDecideParams, decision string) (*ApprovalOutcome, error) {
	if p == nil {
		p = &ApprovalDecideParams{}
	}
	name := string(OpRunApprove)
	if decision == store.ApprovalReject {
		name = recRunReject
	}
	if err := c.authorize(ctx, caller, OpRunApprove, name, p.RunID); err != nil {
		return nil, err
	}
	fail := func(err error) error {
		return c.failed(ctx, caller, name, p.RunID, err, "run "+p.RunID, map[error]string{
			store.ErrDuplicate: fmt.Sprintf("%s already decided on run %s: one decision per person", caller.Actor.Name, p.RunID),
		})
	}
	switch {
	case p.RunID == "":
		return nil, fail(invalidf("id", "the run's id is required"))
	case len(p.Comment) > maxComment:
		return nil, fail(invalidf("comment", "comment is longer than %d characters", maxComment))
	case !caller.Actor.Authenticated():
		return nil, fail(forbiddenf("approvals are taken by authenticated people: %s is not one", caller.Actor))
	}
	run, err := c.cfg.Store.RunGet(ctx, p.RunID)
	if err != nil {
		return nil, fail(err)
	}
	if run.State != drills.RunAwaitingApproval {
		return nil, fail(conflictf("run %s is %s, not awaiting approval", run.ID, run.State))
	}
	if run.RequestedBy.IsPerson() && run.RequestedBy.Name == caller.Actor.Name {
		return nil, fail(forbiddenf("%s asked for run %s and cannot approve or reject it: another person must", caller.Actor.Name, run.ID))
	}
	if !slices.ContainsFunc(run.ApprovalRoles, caller.HasRole) {
		return nil, fail(forbiddenf("%s may not decide run %s: its policy needs %s, and the caller acts as %s",
			caller.Actor.Name, run.ID, strings.Join(run.ApprovalRoles, ", "), rolesOrNone(caller.Roles)))
	}
	u, err := c.cfg.Store.UserGet(ctx, caller.Actor.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fail(forbiddenf("%s is not a user", caller.Actor.Name))
	case err != nil:
		return nil, fail(err)
	case u.Disabled:
		return nil, fail(forbiddenf("user %s is disabled", u.Name))
	}
	var out *store.ApprovalOutcome
	err = c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = c.cfg.Store.ApprovalDecideTx(ctx, tx, &store.ApprovalDecideParams{
			RunID: run.ID, By: caller.Actor, Roles: caller.Roles, Decision: decision, Comment: p.Comment, At: c.cfg.Clock.Now(),
		})
		if err != nil {
			return err
		}
		if out.Expired {
			// The run ended blocked: that is kept, and so is the refused attempt.
			_, err := c.cfg.Store.OperationRecordTx(ctx, tx, &store.OperationRecordParams{
				Actor: caller.Actor, Operation: name, Target: run.ID, Outcome: store.OutcomeFailed,
				Message: "the approval window ended; the run is blocked", At: c.cfg.Clock.Now(),
			})
			return err
		}
		detail := map[string]any{"decision": decision, "roles": caller.Roles, "policy_met": out.Satisfied, "missing_roles": nonNil(out.Missing)}
		if p.Comment != "" {
			detail["comment"] = p.Comment
		}
		return c.recordTx(ctx, tx, caller, name, run.ID, decision+" by "+caller.Actor.Name, detail)
	})
	if err != nil {
		return nil, fail(err)
	}
	// A rejection or an ended window ends the run here: no worker will announce it.
	c.announceEnded(ctx, out.Run)
	if out.Expired {
		return nil, &Error{Category: CategoryConflict, Message: fmt.Sprintf("the approval window of run %s ended; the run is blocked", run.ID), Err: store.ErrApprovalExpired}
	}
	res := &ApprovalOutcome{Run: runSummaryOf(out.Run, nil), PolicyMet: out.Satisfied, MissingRoles: nonNil(out.Missing)}
	if decision == store.ApprovalReject {
		res.MissingRoles = []string{}
	}
	return res, nil
}

// RunAbort asks a run to abort; its replica stops the current step and rolls back.
func (c *Control) RunAbort(ctx context.Context, caller *Caller, p *RunAbortParams) (*RunSummary, error) {
	if p == nil {
		p = &RunAbortParams{}
	}
	name := string(OpRunAbort)
	if err := c.authorize(ctx, caller, OpRunAbort, name, p.RunID); err != nil {
		return nil, err
	}
	fail := func(err error) error { return c.failed(ctx, caller, name, p.RunID, err, "run "+p.RunID, nil) }
	switch {
	case p.RunID == "":
		return nil, fail(invalidf("id", "the run's id is required"))
	case strings.TrimSpace(p.Reason) == "":
		return nil, fail(invalidf("reason", "reason is required: say why the run is aborted"))
	case len(p.Reason) > maxComment:
		return nil, fail(invalidf("reason", "reason is longer than %d characters", maxComment))
	}
	var run *store.Run
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		run, err = c.cfg.Store.RunAbortRequestTx(ctx, tx, &store.RunAbortRequestParams{RunID: p.RunID, By: caller.Actor, Reason: p.Reason, At: c.cfg.Clock.Now()})
		if err != nil {
			return err
		}
		return c.recordTx(ctx, tx, caller, name, run.ID, "abort requested", map[string]any{"reason": p.Reason, "state": run.State})
	})
	if err != nil {
		return nil, fail(err)
	}
	// A run that waited for approval ends aborted at once; any other ends with its worker.
	c.announceEnded(ctx, run)
	s := runSummaryOf(run, nil)
	return &s, nil
}

// StepDecide records a person's decision on a step.
func (c *Control) StepDecide(ctx context.Context, caller *Caller, p *StepDecideParams) (*DecisionView, error) {
	if p == nil {
		p = &StepDecideParams{}
	}
	name := string(OpStepDecide)
	target := p.RunID + "/" + p.StepKey
	if err := c.authorize(ctx, caller, OpStepDecide, name, target); err != nil {
		return nil, err
	}
	fail := func(err error) error {
		return c.failed(ctx, caller, name, target, err, "step "+p.StepKey+" of run "+p.RunID, nil)
	}
	switch {
	case p.RunID == "":
		return nil, fail(invalidf("id", "the run's id is required"))
	case p.StepKey == "":
		return nil, fail(invalidf("key", "the step's key is required"))
	case !slices.Contains([]string{store.DecisionDone, store.DecisionFailed, store.DecisionRetry, store.DecisionAbort}, p.Decision):
		return nil, fail(invalidf("decision", "decision %q is not one of done, failed, retry, abort", p.Decision))
	case len(p.Comment) > maxComment:
		return nil, fail(invalidf("comment", "comment is longer than %d characters", maxComment))
	case !caller.Actor.IsPerson():
		return nil, fail(forbiddenf("steps are decided by people: %s is not one", caller.Actor))
	}
	var d *store.StepDecision
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		d, err = c.cfg.Store.StepDecideTx(ctx, tx, &store.StepDecideParams{
			RunID: p.RunID, StepKey: p.StepKey, Decision: p.Decision, By: caller.Actor, Comment: p.Comment, At: c.cfg.Clock.Now(),
		})
		if err != nil {
			return err
		}
		detail := map[string]any{"decision": p.Decision}
		if p.Comment != "" {
			detail["comment"] = p.Comment
		}
		return c.recordTx(ctx, tx, caller, name, target, "step decided "+p.Decision, detail)
	})
	if err != nil {
		return nil, fail(err)
	}
	v := decisionViewOf(d)
	return &v, nil
}

// ApprovalsWaiting lists the runs awaiting approval, those the caller can approve first.
func (c *Control) ApprovalsWaiting(ctx context.Context, caller *Caller) ([]ApprovalWaiting, error) {
	if err := c.authorize(ctx, caller, OpApprovalList, "", ""); err != nil {
		return nil, err
	}
	var runs []*store.Run
	q := &store.RunListParams{States: []drills.RunState{drills.RunAwaitingApproval}, Limit: MaxRunListLimit}
	for {
		page, err := c.cfg.Store.RunList(ctx, q)
		if err != nil {
			return nil, internal(err)
		}
		runs = append(runs, page.Runs...)
		if page.Next == nil {
			break
		}
		q.After = page.Next
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	approvals, err := c.cfg.Store.ApprovalListRuns(ctx, ids)
	if err != nil {
		return nil, internal(err)
	}
	now := c.cfg.Clock.Now()
	out := make([]ApprovalWaiting, 0, len(runs))
	outlines := map[string]*PlanOutline{}
	for _, r := range runs {
		outline, seen := outlines[r.PlanID]
		if !seen {
			rec, err := c.cfg.Store.PlanGet(ctx, r.PlanID)
			if err != nil {
				return nil, internal(err)
			}
			outline = planOutlineOf(rec)
			outlines[r.PlanID] = outline
		}
		missing := nonNil(store.MissingApprovals(r, approvals[r.ID]))
		decided := slices.ContainsFunc(approvals[r.ID], func(a *store.Approval) bool { return a.By.Name == caller.Actor.Name })
		requester := r.RequestedBy.IsPerson() && r.RequestedBy.Name == caller.Actor.Name
		open := r.ApprovalDeadline == nil || r.ApprovalDeadline.After(now)
		out = append(out, ApprovalWaiting{
			Run: runSummaryOf(r, nil), MissingRoles: missing, Deadline: r.ApprovalDeadline, Plan: outline,
			CanApprove: caller.Actor.Authenticated() && open && !decided && !requester && slices.ContainsFunc(missing, caller.HasRole),
		})
	}
	slices.SortStableFunc(out, func(a, b ApprovalWaiting) int {
		if a.CanApprove != b.CanApprove {
			if a.CanApprove {
				return -1
			}
			return 1
		}
		return cmp.Or(compareDeadlines(a.Deadline, b.Deadline), a.Run.CreatedAt.Compare(b.Run.CreatedAt))
	})
	return out, nil
}

// planOutlineOf is what a recorded plan will do; nil when it no longer parses (a plan
// recorded by an older version).
func planOutlineOf(rec *store.PlanRecord) *PlanOutline {
	plan, diags := drills.ParsePlan(rec.Source, rec.File)
	if plan == nil || diags.HasErrors() {
		return nil
	}
	return planOutline(plan)
}

// planOutline is what a plan will do, as an approver reads it.
func planOutline(plan *drills.Plan) *PlanOutline {
	o := &PlanOutline{Description: plan.Description, Services: nonNil(slices.Clone(plan.Services)), Steps: []PlanStepOutline{},
		RollbackSteps: len(plan.Rollback), NoRollbackReason: plan.NoRollbackReason}
	for _, st := range plan.Steps {
		o.Steps = append(o.Steps, PlanStepOutline{Name: st.Name, Action: st.Action, Site: st.Site, ForEach: slices.Clone(st.ForEach), Milestone: string(st.Milestone)})
	}
	return o
}

// compareDeadlines orders the soonest deadline first, no deadline last.
func compareDeadlines(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Compare(*b)
}
