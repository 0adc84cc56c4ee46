package drills

// Evidence is what a run proved about one objective of one service.
type Evidence string

// Evidence values. An objective that was not measured is not evidenced: it is never counted
// as met, whatever the reason (no canary, too few canary rows before T0, no disaster, the DR
// copy unreadable).
const (
	EvidenceMet          Evidence = "met"
	EvidenceMissed       Evidence = "missed"
	EvidenceNotEvidenced Evidence = "not_evidenced"
)

// EvidenceOf is the evidence of an objective: not evidenced unless measured, then met or missed.
func EvidenceOf(measured, met bool) Evidence {
	switch {
	case !measured:
		return EvidenceNotEvidenced
	case met:
		return EvidenceMet
	default:
		return EvidenceMissed
	}
}

// ServiceObjectives is what a run proved about one service's RTO and RPO objectives.
type ServiceObjectives struct {
	Service string
	RTO     Evidence
	RPO     Evidence
}

// Met reports whether both objectives were measured and met.
func (s ServiceObjectives) Met() bool {
	return s.RTO == EvidenceMet && s.RPO == EvidenceMet
}

// ObjectivesMet reports whether every objective of every service was measured and met. A run
// that measured no service met nothing.
func ObjectivesMet(services []ServiceObjectives) bool {
	if len(services) == 0 {
		return false
	}
	for _, s := range services {
		if !s.Met() {
			return false
		}
	}
	return true
}

// Passed is the one definition of a passed drill: the run succeeded, was not forced (a forced
// run skipped the checks that make it a drill of the estate as declared), and every objective
// of every service was measured and met.
func Passed(state RunState, forced bool, services []ServiceObjectives) bool {
	return state == RunSucceeded && !forced && ObjectivesMet(services)
}

// CountsAsDrillOf reports whether a run is a drill of service, for due dates and the calendar:
// the run succeeded, was not forced, and both of that service's objectives were measured and
// met. A run that missed the service's RPO, or never measured it, is not its drill.
func CountsAsDrillOf(state RunState, forced bool, service string, services []ServiceObjectives) bool {
	if state != RunSucceeded || forced {
		return false
	}
	for _, s := range services {
		if s.Service == service {
			return s.Met()
		}
	}
	return false
}
