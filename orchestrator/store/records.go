package store

import (
	"encoding/json"
	"time"

	"github.com/firedrill/firedrill/drills"
)

// Times in records are UTC with millisecond precision, as stored. Durations are whole
// milliseconds. A nil pointer means "not (yet) known".

// PlanRecord is a stored version of a plan's source.
type PlanRecord struct {
	ID   string
	Name string
	File string
	// SHA256 is the hex digest of Source.
	SHA256    string
	Source    []byte
	CreatedAt time.Time
}

// Run is one execution of a plan.
type Run struct {
	ID       string
	PlanID   string
	PlanName string
	// PlanSHA256 is the digest of the plan version the run executes.
	PlanSHA256   string
	EstateSHA256 string
	FromSite     string
	ToSite       string
	State        drills.RunState
	// StateReason says why the run entered State (a pre-flight failure, an abort's author, ...).
	StateReason string
	// RequestedBy is who or what asked for the run: a person (authenticated, or local on an
	// embedded database), a schedule, or the system.
	RequestedBy drills.Actor
	// Forced: the plan was validated without its dependencies; the run never counts as passed.
	Forced    bool
	CreatedAt time.Time
	// StartedAt is when the run first entered running.
	StartedAt *time.Time
	EndedAt   *time.Time
	// T0 and T1 are the disaster and restored milestones.
	T0            *time.Time
	T1            *time.Time
	RTOActual     *time.Duration
	ObjectivesMet *bool
	// FiredrillVersion and FiredrillCommit are the build that created the run; empty for
	// runs recorded before 00008.
	FiredrillVersion, FiredrillCommit string
	// LeaseOwner is the replica holding the run; empty when nobody does.
	LeaseOwner string
	// LeaseEpoch is the fencing token: bumped by every claim.
	LeaseEpoch     int64
	LeaseExpiresAt *time.Time
	UpdatedAt      time.Time
	// ScheduleName and FireTime are set for a run a schedule fired; empty for manual runs.
	ScheduleName string
	FireTime     *time.Time
	// ApprovalRoles are the roles that must each approve the run, one distinct person per role
	// and never the requester, before it starts; empty: no approval needed.
	ApprovalRoles []string
	// ApprovalDeadline: approvals expire if the run has not started by then.
	ApprovalDeadline *time.Time
	// AbortRequestedAt is set once a person, a freeze or a stop condition asked the run to
	// abort; AbortRequestedBy is who asked (zero when nobody did).
	AbortRequestedAt *time.Time
	AbortRequestedBy drills.Actor
	// AbortStopCondition names the stop condition whose breach asked for the abort; empty
	// when a person did.
	AbortStopCondition string
	AbortReason        string
}

// StepResult is one attempt of one step of a run.
type StepResult struct {
	ID      string
	RunID   string
	Seq     int
	Key     string
	Name    string
	Action  string
	Site    string
	Service string
	// Attempt counts from 1.
	Attempt    int
	State      drills.StepState
	Idempotent bool
	Timeout    time.Duration
	StartedAt  time.Time
	EndedAt    *time.Time
	Duration   *time.Duration
	Error      string
	Evidence   json.RawMessage
}

// MeasurementInput is what a run measured for one service; RunFinish stores it.
type MeasurementInput struct {
	Service      string
	Criticality  drills.Criticality
	RTOObjective time.Duration
	// RTOActual is nil when the service was never restored.
	RTOActual  *time.Duration
	Restored   bool
	RestoredAt *time.Time
	RTOMet     bool
	// RPOObjective, RPOActual, RPOLostRows and RPOMet: RPO fields are nil when RPO was not
	// measured for the service (no canary).
	RPOObjective time.Duration
	RPOActual    *time.Duration
	RPOLostRows  *int64
	RPOMet       *bool
	// Resolution bounds the measurement error (e.g. the health-check interval).
	Resolution time.Duration
	Reason     string
	Evidence   json.RawMessage
	// RPOInputs is what the canary saw, recorded in the run's measurement event so a report
	// can recompute the RPO; nil when no canary measured the service.
	RPOInputs *drills.RPOInputs
}

// Objectives is what the measurement proves about the service's objectives (see
// drills.Passed). disaster: the run's disaster struck (it has a T0); before it nothing could be
// measured. A service never restored after the disaster missed its RTO; an RPO without a
// figure (no canary, too little canary evidence, DR copy unreadable) is not evidenced.
func (m *MeasurementInput) Objectives(disaster bool) drills.ServiceObjectives {
	o := drills.ServiceObjectives{Service: m.Service, RTO: drills.EvidenceNotEvidenced, RPO: drills.EvidenceNotEvidenced}
	if !disaster {
		return o
	}
	o.RTO = drills.EvidenceOf(true, m.RTOActual != nil && m.RTOMet)
	o.RPO = drills.EvidenceOf(m.RPOActual != nil, m.RPOMet != nil && *m.RPOMet)
	return o
}

// RunObjectives is what a run's measurements prove about each service's objectives, the input
// of drills.Passed and drills.CountsAsDrillOf.
func RunObjectives(r *Run, ms []*Measurement) []drills.ServiceObjectives {
	out := make([]drills.ServiceObjectives, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Objectives(r.T0 != nil))
	}
	return out
}

// Measurement is a stored MeasurementInput.
type Measurement struct {
	ID    string
	RunID string
	MeasurementInput
}

// Run event kinds, in the order a run usually produces them.
const (
	EventRunCreated = "run_created"
	EventRunClaimed = "run_claimed"
	EventRunState   = "run_state"
	// The PostgreSQL step functions (migration 00010) write these two kinds too.
	EventStepStarted  = "step_started"
	EventStepFinished = "step_finished"
	EventMilestone    = "milestone"
	EventRunFinished  = "run_finished"
)

// RunEvent is one entry of a run's append-only timeline.
type RunEvent struct {
	ID    int64
	RunID string
	// Seq counts from 1 per run, without gaps.
	Seq     int
	At      time.Time
	Kind    string
	StepKey string
	Message string
	Data    json.RawMessage
}

func planRecordOf(m *planModel) *PlanRecord {
	return &PlanRecord{
		ID: m.ID, Name: m.Name, File: m.File, SHA256: m.SHA256,
		Source: []byte(m.Source), CreatedAt: m.CreatedAt.UTC(),
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

func runOf(m *runModel) *Run {
	return &Run{
		ID:               m.ID,
		PlanID:           m.PlanID,
		PlanName:         m.PlanName,
		PlanSHA256:       m.PlanSHA256,
		EstateSHA256:     m.EstateSHA256,
		FromSite:         m.FromSite,
		ToSite:           m.ToSite,
		State:            drills.RunState(m.State),
		StateReason:      m.StateReason,
		RequestedBy:      m.RequestedBy.actor(),
		Forced:           m.Forced,
		CreatedAt:        m.CreatedAt.UTC(),
		StartedAt:        utcPtr(m.StartedAt),
		EndedAt:          utcPtr(m.EndedAt),
		T0:               utcPtr(m.T0),
		T1:               utcPtr(m.T1),
		RTOActual:        durPtr(m.RTOActualMS),
		ObjectivesMet:    m.ObjectivesMet,
		FiredrillVersion: m.FiredrillVersion,
		FiredrillCommit:  m.FiredrillCommit,
		LeaseOwner:       m.LeaseOwner,
		LeaseEpoch:       m.LeaseEpoch,
		LeaseExpiresAt:   utcPtr(m.LeaseExpiresAt),
		UpdatedAt:        m.UpdatedAt.UTC(),

		ScheduleName:       deref(m.ScheduleName),
		FireTime:           utcPtr(m.FireTime),
		ApprovalRoles:      approvalRolesOf(m.ApprovalPolicy),
		ApprovalDeadline:   utcPtr(m.ApprovalDeadline),
		AbortRequestedAt:   utcPtr(m.AbortRequestedAt),
		AbortRequestedBy:   m.AbortBy.actor(),
		AbortStopCondition: m.AbortStopCondition,
		AbortReason:        m.AbortReason,
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func stepResultOf(m *stepResultModel) *StepResult {
	return &StepResult{
		ID:         m.ID,
		RunID:      m.RunID,
		Seq:        m.Seq,
		Key:        m.StepKey,
		Name:       m.StepName,
		Action:     m.Action,
		Site:       m.Site,
		Service:    m.Service,
		Attempt:    m.Attempt,
		State:      drills.StepState(m.State),
		Idempotent: m.Idempotent,
		Timeout:    durOf(m.TimeoutMS),
		StartedAt:  m.StartedAt.UTC(),
		EndedAt:    utcPtr(m.EndedAt),
		Duration:   durPtr(m.DurationMS),
		Error:      m.Error,
		Evidence:   rawOf(m.Evidence),
	}
}

func measurementOf(m *measurementModel) *Measurement {
	return &Measurement{
		ID:    m.ID,
		RunID: m.RunID,
		MeasurementInput: MeasurementInput{
			Service:      m.Service,
			Criticality:  drills.Criticality(m.Criticality),
			RTOObjective: durOf(m.RTOObjectiveMS),
			RTOActual:    durPtr(m.RTOActualMS),
			Restored:     m.Restored,
			RestoredAt:   utcPtr(m.RestoredAt),
			RTOMet:       m.RTOMet,
			RPOObjective: durOf(m.RPOObjectiveMS),
			RPOActual:    durPtr(m.RPOActualMS),
			RPOLostRows:  m.RPOLostRows,
			RPOMet:       m.RPOMet,
			Resolution:   durOf(m.ResolutionMS),
			Reason:       m.Reason,
			Evidence:     rawOf(m.Evidence),
		},
	}
}

func runEventOf(m *runEventModel) *RunEvent {
	return &RunEvent{
		ID: m.ID, RunID: m.RunID, Seq: m.Seq, At: m.At.UTC(), Kind: m.Kind,
		StepKey: m.StepKey, Message: m.Message, Data: rawOf(m.Data),
	}
}
