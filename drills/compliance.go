package drills

import (
	"slices"
	"strconv"
	"time"
)

// ComplianceInput is everything EvaluateCompliance judges: recorded facts only, so a report can
// recompute its verdict.
type ComplianceInput struct {
	Profile *Profile
	Period  Period
	// Now is the evaluation time: nothing after it has happened, and findings past their due
	// date at Now are overdue.
	Now      time.Time
	Services []ServiceFacts
	// Drills are the ended runs of the period, oldest first (by At); they need not be sorted.
	// Runs before the period, within the profile's frequency of its end, may be given too:
	// they count for "drilled at least every N months", never as drills of the period.
	Drills   []DrillFacts
	Findings []FindingFacts // findings of the estate, whatever their status
	// Location is the time zone dates are written in, in reasons. Defaults to UTC.
	Location *time.Location
}

// ServiceFacts is what the estate declares about a service, and what its schedules did.
type ServiceFacts struct {
	Name, Criticality          string
	DependsOn                  []string
	RTOObjective, RPOObjective time.Duration
	// TestsDue is the number of scheduled drills due in the period (0 = none scheduled; the
	// profile's frequency still applies).
	TestsDue int
	// SkippedFires are the fires a blackout, a freeze or the missed-fire policy skipped.
	SkippedFires []SkippedFire
}

// SkippedFire is a scheduled drill that did not run, and why.
type SkippedFire struct {
	Schedule string
	At       time.Time
	Reason   string
}

// DrillFacts is one ended run, as a report sees it.
type DrillFacts struct {
	RunID, Plan, PlanSHA256 string
	// At is when the drill happened: T0, else started, else created.
	At     time.Time
	State  RunState
	Forced bool
	// Services are the services the run failed over, with their evidence.
	Services []DrillService
}

// DrillService is what a run proved about one service.
type DrillService struct {
	// Objectives carries the service name and its RTO/RPO evidence.
	Objectives ServiceObjectives
	// RTO and RPO are the measured figures; nil = not measured.
	RTO, RPO *time.Duration
	// Reason says why an objective was not evidenced, when one was not.
	Reason string
}

// Passed reports whether the drill passed, by the one definition (drills.Passed) over its
// services.
func (d DrillFacts) Passed() bool {
	return Passed(d.State, d.Forced, d.objectives())
}

func (d DrillFacts) objectives() []ServiceObjectives {
	objs := make([]ServiceObjectives, len(d.Services))
	for i, s := range d.Services {
		objs[i] = s.Objectives
	}
	return objs
}

// Service returns what the drill proved about service, or nil when it did not include it.
func (d DrillFacts) Service(name string) *DrillService {
	for i := range d.Services {
		if d.Services[i].Objectives.Service == name {
			return &d.Services[i]
		}
	}
	return nil
}

// conducted reports whether the drill counts as held: a blocked run touched nothing.
func (d DrillFacts) conducted() bool {
	return d.State != RunBlocked
}

// failedOver reports whether the drill moved service to the DR site: it included the service,
// was not forced past its pre-flight checks, and measured the service's recovery (an RTO is
// measured only once the service answers on the DR site).
func (d DrillFacts) failedOver(service string) bool {
	if d.Forced || !d.conducted() {
		return false
	}
	s := d.Service(service)
	return s != nil && s.RTO != nil
}

// FindingFacts is a finding, as evaluation needs it.
type FindingFacts struct {
	ID, Title, Service string
	Severity           FindingSeverity
	Status             FindingStatus
	DueAt              *time.Time
}

// Reason codes: stable identifiers of why a service has its status. Reports and the console
// key on them; Reason.Text words them.
const (
	ReasonNotDrilled              = "not_drilled"
	ReasonDrilledLessThanRequired = "drilled_less_than_required"
	ReasonDrillOverdue            = "drill_overdue"
	ReasonDrilledBeforePeriod     = "drilled_before_period"
	ReasonFiresSkipped            = "fires_skipped"
	ReasonLatestFailed            = "latest_failed"
	ReasonRTOOverObjective        = "rto_over_objective"
	ReasonRTOOverCeiling          = "rto_over_ceiling"
	ReasonRTONotEvidenced         = "rto_not_evidenced"
	ReasonRTOObjectiveOverCeiling = "rto_objective_over_ceiling"
	ReasonRPOOverObjective        = "rpo_over_objective"
	ReasonRPOOverCeiling          = "rpo_over_ceiling"
	ReasonRPONotEvidenced         = "rpo_not_evidenced"
	ReasonRPOObjectiveOverCeiling = "rpo_objective_over_ceiling"
	ReasonDependencyNotFailedOver = "dependency_not_failed_over"
	ReasonFindingOpen             = "finding_open"
	ReasonFindingOverdue          = "finding_overdue"
)

// ReasonCodes lists every reason code evaluation gives, grouped as a service's reasons come:
// frequency, objectives against ceilings, the latest drill, dependencies, findings.
var ReasonCodes = []string{
	ReasonNotDrilled, ReasonDrilledLessThanRequired, ReasonDrilledBeforePeriod, ReasonDrillOverdue, ReasonFiresSkipped,
	ReasonRTOObjectiveOverCeiling, ReasonRPOObjectiveOverCeiling, ReasonLatestFailed,
	ReasonRTONotEvidenced, ReasonRTOOverObjective, ReasonRTOOverCeiling,
	ReasonRPONotEvidenced, ReasonRPOOverObjective, ReasonRPOOverCeiling,
	ReasonDependencyNotFailedOver, ReasonFindingOverdue, ReasonFindingOpen,
}

// reasonEvidence is the clause evidence each reason code speaks to: a reason answers the first
// clause of the profile that names it.
var reasonEvidence = map[string]string{
	ReasonNotDrilled:              EvidenceDrillFrequency,
	ReasonDrilledLessThanRequired: EvidenceDrillFrequency,
	ReasonDrillOverdue:            EvidenceDrillFrequency,
	ReasonDrilledBeforePeriod:     EvidenceDrillFrequency,
	ReasonFiresSkipped:            EvidenceDrillFrequency,
	ReasonLatestFailed:            EvidenceDrillPassed,
	ReasonRTOOverObjective:        EvidenceRTOWithin,
	ReasonRTOOverCeiling:          EvidenceRTOWithin,
	ReasonRTONotEvidenced:         EvidenceRTOWithin,
	ReasonRTOObjectiveOverCeiling: EvidenceRTOWithin,
	ReasonRPOOverObjective:        EvidenceRPOWithin,
	ReasonRPOOverCeiling:          EvidenceRPOWithin,
	ReasonRPONotEvidenced:         EvidenceRPOWithin,
	ReasonRPOObjectiveOverCeiling: EvidenceRPOWithin,
	ReasonDependencyNotFailedOver: EvidenceDependenciesCovered,
	ReasonFindingOpen:             EvidenceFindingsClosed,
	ReasonFindingOverdue:          EvidenceFindingsClosed,
}

// ReasonEvidence returns the clause evidence a reason code speaks to, or "".
func ReasonEvidence(code string) string { return reasonEvidence[code] }

// Reason is one reason for a service's status.
type Reason struct {
	// Code is stable (the Reason... constants).
	Code string
	// Status is what this reason alone makes the service; compliant for a reason that only
	// states a fact (a fire a blackout skipped).
	Status ComplianceStatus
	// Clause is the profile clause it answers, when one does.
	Clause string
	// Args are the facts Text words: "service", "run", "at", "*_ms" durations, ...
	Args map[string]string
}

// ServiceCompliance is the verdict on one service for the period.
type ServiceCompliance struct {
	Service, Criticality string
	Status               ComplianceStatus
	Reasons              []Reason
	// DrillsRequired is the drills that came due in the period up to now (or its end): one per
	// whole FrequencyMonths elapsed since its start, or the fires of its schedules if more.
	DrillsRequired int
	DrillsRun      int
	DrillsPassed   int
	LatestRunID    string
	LatestPassed   bool
	// RTO and RPO are those of the latest drill that measured them.
	RTO, RPO *time.Duration
	// RTORunID and RPORunID name the drill RTO and RPO come from.
	RTORunID, RPORunID         string
	RTOObjective, RPOObjective time.Duration
	RTOCeiling, RPOCeiling     *time.Duration
	// RTOEvidence and RPOEvidence are the latest drill's evidence ("" when not drilled).
	RTOEvidence, RPOEvidence Evidence
}

// ComplianceResult is a profile's verdict on an estate for a period.
type ComplianceResult struct {
	Profile string
	Period  Period
	// Status is the worst of the services' and of Reasons.
	Status   ComplianceStatus
	Services []ServiceCompliance // in estate order
	// Reasons are about no declared service: findings without a service, or of a service the
	// estate no longer declares.
	Reasons []Reason
}

// ClauseStatus is the verdict on one clause of the profile: the worst status of the reasons,
// of any service or of the estate, that answer it; compliant when none does.
func (r ComplianceResult) ClauseStatus(clause string) ComplianceStatus {
	status := Compliant
	for _, s := range r.Services {
		for _, reason := range s.Reasons {
			if reason.Clause == clause {
				status = WorstStatus(status, reason.Status)
			}
		}
	}
	for _, reason := range r.Reasons {
		if reason.Clause == clause {
			status = WorstStatus(status, reason.Status)
		}
	}
	return status
}

// WorstStatus returns the worse of two statuses; "" counts as compliant.
func WorstStatus(a, b ComplianceStatus) ComplianceStatus {
	rank := func(s ComplianceStatus) int {
		switch s {
		case NonCompliant:
			return 2
		case AtRisk:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	if a == "" {
		return Compliant
	}
	return a
}

// EvaluateCompliance judges each service against the profile for the period:
//   - drilled as often as required: at least once in the period (or within the profile's
//     frequency before its end, for periods shorter than the frequency), as many times as the
//     frequency and the due scheduled drills require, with the fires a blackout skipped stated;
//   - the latest drill passed (drills.Passed), with its measured RTO and RPO within the
//     service's objective and the profile's ceiling; an objective not measured is not
//     evidenced, which puts the service at risk;
//   - every dependency, direct or through other services, failed over in the same drill or an
//     earlier one of the period: a service drilled without its dependencies is not shown to run
//     on the DR site (KakaoPay and KakaoBank in October 2022: their login depended on Kakao's
//     account system, which had no working DR path);
//   - every finding of the service closed or carried by an accepted risk: an open one puts it
//     at risk, one past its due date makes it non-compliant.
//
// It is pure: the same input gives the same result.
func EvaluateCompliance(in ComplianceInput) ComplianceResult {
	e := newEvaluation(in)
	out := ComplianceResult{Period: in.Period, Status: Compliant, Services: make([]ServiceCompliance, 0, len(in.Services))}
	if in.Profile != nil {
		out.Profile = in.Profile.ID
	}
	declared := map[string]bool{}
	for _, s := range in.Services {
		declared[s.Name] = true
	}
	for _, s := range in.Services {
		sc := e.service(s)
		out.Status = WorstStatus(out.Status, sc.Status)
		out.Services = append(out.Services, sc)
	}
	for _, f := range in.Findings {
		if declared[f.Service] {
			continue
		}
		if r, ok := e.finding(f); ok {
			out.Reasons = append(out.Reasons, r)
			out.Status = WorstStatus(out.Status, r.Status)
		}
	}
	return out
}

// evaluation is EvaluateCompliance's working state: the input with its defaults and the drills
// in time order.
type evaluation struct {
	in       ComplianceInput
	profile  *Profile
	loc      *time.Location
	drills   []DrillFacts // held by Now, oldest first
	services map[string]ServiceFacts
	// ref is where "at least every N months" is measured back from: the period's end, or Now
	// when the period is not over; windowStart is N months before it.
	ref, windowStart time.Time
}

func newEvaluation(in ComplianceInput) *evaluation {
	e := &evaluation{in: in, profile: in.Profile, loc: in.Location, services: map[string]ServiceFacts{}}
	if e.profile == nil {
		e.profile = &Profile{}
	}
	if e.loc == nil {
		e.loc = time.UTC
	}
	byAt := func(a, b DrillFacts) int { return a.At.Compare(b.At) }
	none := !slices.ContainsFunc(in.Drills, func(d DrillFacts) bool { return d.At.After(in.Now) })
	if none && slices.IsSortedFunc(in.Drills, byAt) {
		// Drills listed in order, as an export lists them, are read where they are: a copy
		// of a year of 100,000 runs is tens of MB.
		e.drills = in.Drills
	} else {
		e.drills = make([]DrillFacts, 0, len(in.Drills))
		for _, d := range in.Drills {
			if !d.At.After(in.Now) {
				e.drills = append(e.drills, d)
			}
		}
		slices.SortStableFunc(e.drills, byAt)
	}
	for _, s := range in.Services {
		e.services[s.Name] = s
	}
	e.ref = in.Period.End
	if in.Now.Before(e.ref) {
		e.ref = in.Now
	}
	e.windowStart = e.ref.AddDate(0, -e.profile.FrequencyMonths, 0)
	return e
}

// reason builds a reason, pointing it at the profile clause that names its evidence.
func (e *evaluation) reason(code string, status ComplianceStatus, args map[string]string) Reason {
	r := Reason{Code: code, Status: status, Args: args}
	if ev := reasonEvidence[code]; ev != "" {
		for _, c := range e.profile.Clauses {
			if slices.Contains(c.Evidence, ev) {
				r.Clause = c.ID
				break
			}
		}
	}
	return r
}

func (e *evaluation) date(t time.Time) string { return t.In(e.loc).Format(time.DateOnly) }

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// frequencyRequired is how many drills the profile's frequency asks of a service in the
// period: one per whole N months of it that has passed. A period shorter than N months asks
// none of its own; "drilled within N months" still applies.
func (e *evaluation) frequencyRequired() int {
	n := e.profile.FrequencyMonths
	if n <= 0 {
		return 0
	}
	return max(0, monthsBetween(e.in.Period.Start, e.ref)) / n
}

// monthsBetween counts the whole calendar months from a to b.
func monthsBetween(a, b time.Time) int {
	a, b = a.UTC(), b.UTC()
	m := (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
	if b.Before(a.AddDate(0, m, 0)) {
		m--
	}
	return m
}

func (e *evaluation) service(s ServiceFacts) ServiceCompliance {
	sc := ServiceCompliance{
		Service: s.Name, Criticality: s.Criticality, Status: Compliant,
		RTOObjective: s.RTOObjective, RPOObjective: s.RPOObjective,
	}
	sc.RTOCeiling, sc.RPOCeiling = e.profile.CeilingsFor(s.Criticality)
	add := func(r Reason) {
		r.Args["service"] = s.Name
		sc.Reasons = append(sc.Reasons, r)
		sc.Status = WorstStatus(sc.Status, r.Status)
	}
	period := e.in.Period.Name
	freq := strconv.Itoa(e.profile.FrequencyMonths)

	// The service's drills of the period, and its latest before the period within the
	// frequency, which stands in when the period holds none.
	// Pointers into e.drills: a copy of each drill per service was most of an evaluation's
	// memory with a year of 100,000 runs.
	var inPeriod []*DrillFacts
	var before *DrillFacts
	for i, d := range e.drills {
		if !d.conducted() || d.Service(s.Name) == nil {
			continue
		}
		switch {
		case e.in.Period.Contains(d.At):
			inPeriod = append(inPeriod, &e.drills[i])
		case d.At.Before(e.in.Period.Start) && !d.At.Before(e.windowStart):
			before = &e.drills[i]
		}
	}
	sc.DrillsRequired = max(e.frequencyRequired(), s.TestsDue)
	sc.DrillsRun = len(inPeriod)
	for _, d := range inPeriod {
		if d.Passed() {
			sc.DrillsPassed++
		}
	}
	var latest *DrillFacts
	if len(inPeriod) > 0 {
		latest = inPeriod[len(inPeriod)-1]
	} else {
		latest = before
	}

	// Frequency.
	switch {
	case latest == nil:
		args := map[string]string{"period": period, "frequency_months": freq}
		if e.windowStart.Before(e.in.Period.Start) {
			args["since"] = e.date(e.windowStart)
		}
		add(e.reason(ReasonNotDrilled, NonCompliant, args))
	case sc.DrillsRun < sc.DrillsRequired:
		// A drill before the period keeps the frequency, not the period's due schedules.
		add(e.reason(ReasonDrilledLessThanRequired, NonCompliant, map[string]string{
			"period": period, "required": strconv.Itoa(sc.DrillsRequired), "run_count": strconv.Itoa(sc.DrillsRun),
			"tests_due": strconv.Itoa(s.TestsDue), "frequency_months": freq}))
	case len(inPeriod) == 0:
		add(e.reason(ReasonDrilledBeforePeriod, Compliant, map[string]string{
			"period": period, "run": latest.RunID, "at": e.date(latest.At), "frequency_months": freq}))
	}
	if latest != nil && e.profile.FrequencyMonths > 0 && latest.At.Before(e.windowStart) {
		add(e.reason(ReasonDrillOverdue, NonCompliant, map[string]string{
			"run": latest.RunID, "at": e.date(latest.At), "frequency_months": freq,
			"as_of": e.date(e.ref.Add(-time.Nanosecond))}))
	}
	for _, f := range s.SkippedFires {
		if !e.in.Period.Contains(f.At) {
			continue
		}
		add(e.reason(ReasonFiresSkipped, Compliant, map[string]string{
			"schedule": f.Schedule, "at": e.date(f.At), "why": f.Reason}))
	}

	// What the service's most recent measured figures are, whichever drill measured them.
	candidates := inPeriod
	if before != nil {
		candidates = append([]*DrillFacts{before}, inPeriod...)
	}
	for i := len(candidates) - 1; i >= 0; i-- {
		ds := candidates[i].Service(s.Name)
		if sc.RTO == nil && ds.RTO != nil {
			sc.RTO, sc.RTORunID = ds.RTO, candidates[i].RunID
		}
		if sc.RPO == nil && ds.RPO != nil {
			sc.RPO, sc.RPORunID = ds.RPO, candidates[i].RunID
		}
	}

	// Objectives above the ceiling fail the regulator even when met.
	e.objectiveOverCeiling(add, "rto", s.RTOObjective, sc.RTOCeiling, s.Criticality)
	e.objectiveOverCeiling(add, "rpo", s.RPOObjective, sc.RPOCeiling, s.Criticality)

	if latest != nil {
		sc.LatestRunID = latest.RunID
		sc.LatestPassed = latest.Passed()
		ds := latest.Service(s.Name)
		sc.RTOEvidence, sc.RPOEvidence = ds.Objectives.RTO, ds.Objectives.RPO
		if !sc.LatestPassed {
			add(e.reason(ReasonLatestFailed, NonCompliant, map[string]string{
				"run": latest.RunID, "at": e.date(latest.At), "state": string(latest.State),
				"forced": strconv.FormatBool(latest.Forced)}))
		}
		e.measured(add, "rto", latest, ds.RTO, ds.Objectives.RTO, s.RTOObjective, sc.RTOCeiling, ds.Reason, s.Criticality)
		e.measured(add, "rpo", latest, ds.RPO, ds.Objectives.RPO, s.RPOObjective, sc.RPOCeiling, ds.Reason, s.Criticality)
		e.dependencies(add, s, latest, len(inPeriod) > 0)
	}

	for _, f := range e.in.Findings {
		if f.Service != s.Name {
			continue
		}
		if r, ok := e.finding(f); ok {
			add(r)
		}
	}
	return sc
}

// codes of the RTO and RPO reasons, by which.
var objectiveCodes = map[string]struct{ over, ceiling, notEvidenced, objectiveOverCeiling string }{
	"rto": {ReasonRTOOverObjective, ReasonRTOOverCeiling, ReasonRTONotEvidenced, ReasonRTOObjectiveOverCeiling},
	"rpo": {ReasonRPOOverObjective, ReasonRPOOverCeiling, ReasonRPONotEvidenced, ReasonRPOObjectiveOverCeiling},
}

func (e *evaluation) objectiveOverCeiling(add func(Reason), which string, objective time.Duration, ceiling *time.Duration, criticality string) {
	if ceiling == nil || objective <= *ceiling {
		return
	}
	add(e.reason(objectiveCodes[which].objectiveOverCeiling, AtRisk, map[string]string{
		"objective_ms": ms(objective), "ceiling_ms": ms(*ceiling), "criticality": criticality,
		"ceiling_source": e.profile.ceilingSource(criticality, which)}))
}

// measured judges one objective of the latest drill: over the objective or the ceiling is
// non-compliant; not measured is at risk, since it shows nothing either way.
func (e *evaluation) measured(add func(Reason), which string, d *DrillFacts, got *time.Duration, ev Evidence,
	objective time.Duration, ceiling *time.Duration, why, criticality string) {
	codes := objectiveCodes[which]
	if got == nil {
		add(e.reason(codes.notEvidenced, AtRisk, map[string]string{"run": d.RunID, "at": e.date(d.At), "why": why}))
		return
	}
	if ev == EvidenceMissed || (objective > 0 && *got > objective) {
		add(e.reason(codes.over, NonCompliant, map[string]string{
			"run": d.RunID, "at": e.date(d.At), "measured_ms": ms(*got), "objective_ms": ms(objective)}))
	}
	if ceiling != nil && *got > *ceiling {
		add(e.reason(codes.ceiling, NonCompliant, map[string]string{
			"run": d.RunID, "at": e.date(d.At), "measured_ms": ms(*got), "ceiling_ms": ms(*ceiling),
			"criticality": criticality, "ceiling_source": e.profile.ceilingSource(criticality, which)}))
	}
}

// dependencies checks that every service s depends on, directly or through others, was failed
// over in the latest drill of s or an earlier one: of the period, or of the frequency window
// when the latest drill is from before the period.
func (e *evaluation) dependencies(add func(Reason), s ServiceFacts, latest *DrillFacts, latestInPeriod bool) {
	from := e.in.Period.Start
	if !latestInPeriod {
		from = e.windowStart
	}
	for _, dep := range e.dependencyClosure(s) {
		covered, later := false, ""
		for _, d := range e.drills {
			if d.At.Before(from) || !d.failedOver(dep.name) {
				continue
			}
			if !d.At.After(latest.At) {
				covered = true
				break
			}
			if later == "" && e.in.Period.Contains(d.At) {
				later = d.RunID
			}
		}
		if covered {
			continue
		}
		args := map[string]string{
			"dependency": dep.name, "via": dep.via, "period": e.in.Period.Name,
			"run": latest.RunID, "at": e.date(latest.At), "when": "never",
		}
		if later != "" {
			args["when"], args["later_run"] = "later", later
		}
		add(e.reason(ReasonDependencyNotFailedOver, AtRisk, args))
	}
}

type dependency struct {
	name string
	// via is the direct dependency of the service through which it depends on name; "" when
	// it is direct.
	via string
}

// dependencyClosure lists every service s depends on, direct ones first, each once, breadth
// first in declaration order (the estate forbids cycles; a cycle here ends where it closes).
func (e *evaluation) dependencyClosure(s ServiceFacts) []dependency {
	seen := map[string]bool{s.Name: true}
	var out []dependency
	queue := []dependency{}
	for _, d := range s.DependsOn {
		if !seen[d] {
			seen[d] = true
			queue = append(queue, dependency{name: d})
		}
	}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		out = append(out, d)
		via := d.via
		if via == "" {
			via = d.name
		}
		for _, next := range e.services[d.name].DependsOn {
			if !seen[next] {
				seen[next] = true
				queue = append(queue, dependency{name: next, via: via})
			}
		}
	}
	return out
}

// finding judges a finding: covered (retested or risk accepted) says nothing; open is at risk;
// past its due date it is non-compliant.
func (e *evaluation) finding(f FindingFacts) (Reason, bool) {
	if f.Status.Covered() {
		return Reason{}, false
	}
	args := map[string]string{
		"finding": f.ID, "title": f.Title, "severity": string(f.Severity), "status": string(f.Status),
	}
	if f.Service != "" {
		args["service"] = f.Service
	}
	if f.DueAt != nil {
		args["due"] = e.date(*f.DueAt)
		if e.in.Now.After(*f.DueAt) {
			return e.reason(ReasonFindingOverdue, NonCompliant, args), true
		}
	}
	return e.reason(ReasonFindingOpen, AtRisk, args), true
}

// sortedKeys returns m's keys in order, so that output never depends on map order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
