package drills

// FindingStatus is where a finding is on its way to closure.
type FindingStatus string

// Finding statuses. A finding is closed only by a later passing drill that covers it
// (FindingRetested, set by firedrill, never by hand) or carried by an accepted risk
// (FindingRiskAccepted, with who accepted it and why).
const (
	FindingOpen         FindingStatus = "open"
	FindingInProgress   FindingStatus = "in_progress"
	FindingFixed        FindingStatus = "fixed"
	FindingRetested     FindingStatus = "retested"
	FindingRiskAccepted FindingStatus = "risk_accepted"
)

// FindingStatuses lists every status, in the order of the life cycle.
var FindingStatuses = []FindingStatus{FindingOpen, FindingInProgress, FindingFixed, FindingRetested, FindingRiskAccepted}

// Closed reports whether the finding no longer needs work: retested by a passing drill.
func (s FindingStatus) Closed() bool { return s == FindingRetested }

// Covered reports whether the finding does not count against compliance: closed, or carried
// by an accepted risk.
func (s FindingStatus) Covered() bool { return s == FindingRetested || s == FindingRiskAccepted }

// FindingSeverity is how much a finding matters.
type FindingSeverity string

// Finding severities, lowest first.
const (
	SeverityLow      FindingSeverity = "low"
	SeverityMedium   FindingSeverity = "medium"
	SeverityHigh     FindingSeverity = "high"
	SeverityCritical FindingSeverity = "critical"
)

// FindingSeverities lists every severity, lowest first.
var FindingSeverities = []FindingSeverity{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// FindingKind says where a finding came from.
type FindingKind string

// Finding kinds. All but FindingManual are created by firedrill when a run ends.
const (
	FindingManual               FindingKind = "manual"
	FindingStepFailed           FindingKind = "step_failed"
	FindingObjectiveMissed      FindingKind = "objective_missed"
	FindingObjectiveUnevidenced FindingKind = "objective_not_evidenced"
	FindingDependencyUncovered  FindingKind = "dependency_uncovered"
	FindingRollbackFailed       FindingKind = "rollback_failed"
)

// ComplianceStatus is the verdict of a profile on a service, or on the estate, for a period.
type ComplianceStatus string

// Compliance statuses, best first.
const (
	Compliant    ComplianceStatus = "compliant"
	AtRisk       ComplianceStatus = "at_risk"
	NonCompliant ComplianceStatus = "non_compliant"
)
