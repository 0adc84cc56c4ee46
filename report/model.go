// Package report writes and verifies compliance report bundles: a zip of the report (PDF and
// JSON), the step results (CSV, JUnit XML), the raw timeline and audit-log segment of every run
// it covers, and a manifest of their hashes signed with the institution's Ed25519 key. It never
// touches the database: orchestrator/report gathers what a report says and stores the bundle.
package report

import (
	"time"

	"github.com/firedrill/firedrill/drills"
)

// SchemaVersion is the version of report.json's schema (schema/report.schema.json).
const SchemaVersion = 1

// Report states: a draft until a compliance officer publishes it.
const (
	StateDraft     = "draft"
	StatePublished = "published"
)

// Header is everything a report says except its drills, which are streamed: its size does not
// grow with the number of runs in the period.
type Header struct {
	SchemaVersion int `json:"schema_version"`
	// ID and Version name the report; Replaces is the ID of the published report a correction
	// replaces.
	ID          string     `json:"id"`
	Version     int        `json:"version"`
	Replaces    string     `json:"replaces,omitempty"`
	State       string     `json:"state"` // draft or published
	Institution string     `json:"institution"`
	Profile     ProfileRef `json:"profile"`
	Period      PeriodRef  `json:"period"`
	Language    string     `json:"language"`
	GeneratedAt time.Time  `json:"generated_at"`
	GeneratedBy string     `json:"generated_by"`
	// SigningKeyFingerprint is the hex SHA-256 of the signing public key's SPKI DER.
	SigningKeyFingerprint string    `json:"signing_key_fingerprint"`
	Summary               Summary   `json:"summary"`
	Services              []Service `json:"services"`
	Findings              []Finding `json:"findings"`
	Clauses               []Clause  `json:"clauses"`
	// SignOff is empty on a draft.
	SignOff *SignOff `json:"sign_off,omitempty"`
	// AuditHead is the audit chain's last row when the report was generated.
	AuditHead AuditHead `json:"audit_head"`
}

// ProfileRef names the regulator profile the report answers.
type ProfileRef struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Regulator string `json:"regulator"`
	Source    string `json:"source"`
}

// PeriodRef is the period the report covers, [Start, End).
type PeriodRef struct {
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Summary is the executive summary's figures.
type Summary struct {
	Status          drills.ComplianceStatus `json:"status"`
	Services        int                     `json:"services"`
	Compliant       int                     `json:"compliant"`
	AtRisk          int                     `json:"at_risk"`
	NonCompliant    int                     `json:"non_compliant"`
	Drills          int                     `json:"drills"`
	DrillsPassed    int                     `json:"drills_passed"`
	OpenFindings    int                     `json:"open_findings"`
	OverdueFindings int                     `json:"overdue_findings"`
}

// Service is one row of the services table: objectives against what was measured.
type Service struct {
	Service        string                  `json:"service"`
	Criticality    string                  `json:"criticality"`
	Status         drills.ComplianceStatus `json:"status"`
	Reasons        []Reason                `json:"reasons"`
	DrillsRequired int                     `json:"drills_required"`
	DrillsRun      int                     `json:"drills_run"`
	DrillsPassed   int                     `json:"drills_passed"`
	LatestRunID    string                  `json:"latest_run_id,omitempty"`
	RTOObjectiveMS int64                   `json:"rto_objective_ms"`
	RTOCeilingMS   *int64                  `json:"rto_ceiling_ms"`
	RTOMeasuredMS  *int64                  `json:"rto_measured_ms"`
	// RTOMeasuredRun is the drill RTOMeasuredMS comes from (the latest that measured it), so
	// a verifier recomputes the figure from that drill's events.
	RTOMeasuredRun string          `json:"rto_measured_run,omitempty"`
	RTOEvidence    drills.Evidence `json:"rto_evidence"`
	RPOObjectiveMS int64           `json:"rpo_objective_ms"`
	RPOCeilingMS   *int64          `json:"rpo_ceiling_ms"`
	RPOMeasuredMS  *int64          `json:"rpo_measured_ms"`
	RPOMeasuredRun string          `json:"rpo_measured_run,omitempty"`
	RPOEvidence    drills.Evidence `json:"rpo_evidence"`
}

// Reason is one reason for a service's status, in the report's language.
type Reason struct {
	Code   string                  `json:"code"`
	Status drills.ComplianceStatus `json:"status"`
	Clause string                  `json:"clause,omitempty"`
	Text   string                  `json:"text"`
}

// Finding is one finding the report lists.
type Finding struct {
	ID          string                 `json:"id"`
	Kind        drills.FindingKind     `json:"kind"`
	Title       string                 `json:"title"`
	Service     string                 `json:"service,omitempty"`
	RunID       string                 `json:"run_id,omitempty"`
	Severity    drills.FindingSeverity `json:"severity"`
	Status      drills.FindingStatus   `json:"status"`
	Owner       string                 `json:"owner,omitempty"`
	RootCause   string                 `json:"root_cause,omitempty"`
	DueAt       *time.Time             `json:"due_at"`
	Overdue     bool                   `json:"overdue"`
	ClosedByRun string                 `json:"closed_by_run,omitempty"`
	// RiskAcceptedBy and RiskReason are set when the status is risk_accepted.
	RiskAcceptedBy string `json:"risk_accepted_by,omitempty"`
	RiskReason     string `json:"risk_reason,omitempty"`
}

// Clause is one clause of the profile: what it asks, the evidence that answers it, and what
// that evidence does not show.
type Clause struct {
	ID          string                  `json:"id"`
	Title       string                  `json:"title"`
	Source      string                  `json:"source"`
	Requirement string                  `json:"requirement"`
	Evidence    []string                `json:"evidence"`
	Answer      string                  `json:"answer"`
	DoesNotShow string                  `json:"does_not_show"`
	Status      drills.ComplianceStatus `json:"status"`
}

// SignOff is who published the report, and when.
type SignOff struct {
	PublishedBy string    `json:"published_by"`
	PublishedAt time.Time `json:"published_at"`
}

// AuditHead is a row of the audit chain: its number and hash.
type AuditHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Drill is one run the report covers.
type Drill struct {
	RunID        string          `json:"run_id"`
	Plan         string          `json:"plan"`
	PlanSHA256   string          `json:"plan_sha256"`
	Scenario     string          `json:"scenario"`
	FromSite     string          `json:"from_site"`
	ToSite       string          `json:"to_site"`
	State        drills.RunState `json:"state"`
	StateReason  string          `json:"state_reason,omitempty"`
	Passed       bool            `json:"passed"`
	Forced       bool            `json:"forced"`
	CreatedAt    time.Time       `json:"created_at"`
	StartedAt    *time.Time      `json:"started_at"`
	T0           *time.Time      `json:"t0"`
	T1           *time.Time      `json:"t1"`
	EndedAt      *time.Time      `json:"ended_at"`
	RTOMS        *int64          `json:"rto_ms"`
	RequestedBy  string          `json:"requested_by"`
	Schedule     string          `json:"schedule,omitempty"`
	Approvers    []Approver      `json:"approvers"`
	Participants []Participant   `json:"participants"`
	Steps        []Step          `json:"steps"`
	Measurements []Measurement   `json:"measurements"`
	Deviations   []string        `json:"deviations"`
	Lessons      []string        `json:"lessons"`
	Findings     []string        `json:"findings"`
	// Version and Commit are the firedrill build that ran the drill.
	FiredrillVersion string `json:"firedrill_version"`
	FiredrillCommit  string `json:"firedrill_commit"`
}

// Approver is one approval the run received.
type Approver struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	At      time.Time `json:"at"`
	Comment string    `json:"comment,omitempty"`
}

// Participant is a person who took part in a drill, or was meant to.
type Participant struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Intended bool   `json:"intended"`
	Attended bool   `json:"attended"`
}

// Step is one step result of the drill's timeline.
type Step struct {
	Key        string           `json:"key"`
	Name       string           `json:"name"`
	Action     string           `json:"action"`
	Site       string           `json:"site"`
	Service    string           `json:"service,omitempty"`
	Attempt    int              `json:"attempt"`
	State      drills.StepState `json:"state"`
	StartedAt  time.Time        `json:"started_at"`
	EndedAt    *time.Time       `json:"ended_at"`
	DurationMS *int64           `json:"duration_ms"`
	Error      string           `json:"error,omitempty"`
}

// Measurement is one service's measured recovery in a drill.
type Measurement struct {
	Service        string          `json:"service"`
	RTOObjectiveMS int64           `json:"rto_objective_ms"`
	RTOMS          *int64          `json:"rto_ms"`
	RTOEvidence    drills.Evidence `json:"rto_evidence"`
	RPOObjectiveMS int64           `json:"rpo_objective_ms"`
	RPOMS          *int64          `json:"rpo_ms"`
	RPOEvidence    drills.Evidence `json:"rpo_evidence"`
	LostRows       *int64          `json:"lost_rows"`
	ResolutionMS   int64           `json:"resolution_ms"`
	Reason         string          `json:"reason,omitempty"`
}
