package drills

import (
	"slices"
	"time"
)

// Text is one piece of prose in several languages: language code ("ko", "en") -> text.
type Text map[string]string

// Get returns the text in lang, else in English, else in the first language in alphabetical
// order (so the choice never depends on map order), else "".
func (t Text) Get(lang string) string {
	if s, ok := t[lang]; ok {
		return s
	}
	if s, ok := t["en"]; ok {
		return s
	}
	if len(t) == 0 {
		return ""
	}
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return t[keys[0]]
}

// DefaultRetestWithin is the retest deadline of a profile that states none: a failed drill's
// findings are due within 90 days, the same default as a finding's own due date.
const DefaultRetestWithin = 90 * 24 * time.Hour

// retentionYear is how long a year of retention lasts: 366 days, so that a retention stated in
// years is never cut short by a leap year.
const retentionYear = 366 * 24 * time.Hour

// Profile is a regulator's rule set: how often each service must be drilled, the RTO and RPO
// ceilings it sets, how soon a failure must be retested, how long reports are kept, what a
// report must contain and in which languages, and the clauses a report answers. Profiles are
// data (profiles/*.hcl, parsed by ParseProfile): adding one needs no new Go type.
type Profile struct {
	// ID names the profile, e.g. "kr-efsr"; it is the file name without ".hcl".
	ID    string
	Title Text
	// Regulator is who receives the report.
	Regulator Text
	// Languages are the report languages, the default first ("ko", "en" for kr-efsr).
	Languages []string
	// FrequencyMonths: each service is drilled at least every N months.
	FrequencyMonths int
	FrequencySource string
	// RetestWithin is how soon a failed drill's findings are due (their default due date).
	// Defaults to DefaultRetestWithin when the profile states none.
	RetestWithin time.Duration
	RetestSource string
	// Retention is how long reports are kept (6 years for the UK); 0 when the profile sets
	// none. RetentionYears is the same in the years the source states.
	Retention       time.Duration
	RetentionYears  int
	RetentionSource string
	// Ceilings are the RTO/RPO ceilings by criticality.
	Ceilings []Ceiling
	// Sections are the required report sections, from ReportSections, in report order.
	Sections []string
	Clauses  []Clause
	// Source says where the profile's rules come from (the instruments it reads).
	Source string
	// File is the name the profile was parsed from (for messages).
	File string
}

// Clause returns the clause with id, or nil.
func (p *Profile) Clause(id string) *Clause {
	for i := range p.Clauses {
		if p.Clauses[i].ID == id {
			return &p.Clauses[i]
		}
	}
	return nil
}

// CeilingsFor returns the strictest RTO and RPO ceilings that apply to a service of the given
// criticality (nil: the profile sets none).
func (p *Profile) CeilingsFor(criticality string) (rto, rpo *time.Duration) {
	for _, c := range p.Ceilings {
		if !c.AppliesTo(criticality) {
			continue
		}
		if c.RTO != nil && (rto == nil || *c.RTO < *rto) {
			rto = c.RTO
		}
		if c.RPO != nil && (rpo == nil || *c.RPO < *rpo) {
			rpo = c.RPO
		}
	}
	return rto, rpo
}

// ceilingSource returns the source of the ceiling that set the strictest bound of which
// ("rto" or "rpo") for criticality, or "".
func (p *Profile) ceilingSource(criticality, which string) string {
	var best *time.Duration
	src := ""
	for _, c := range p.Ceilings {
		if !c.AppliesTo(criticality) {
			continue
		}
		d := c.RTO
		if which == "rpo" {
			d = c.RPO
		}
		if d != nil && (best == nil || *d < *best) {
			best, src = d, c.Source
		}
	}
	return src
}

// Ceiling is an RTO and RPO bound a regulator sets for services of some criticalities.
type Ceiling struct {
	// Criticality lists the criticalities it applies to; empty means every service.
	Criticality []string
	// RTO and RPO are nil when the ceiling sets no bound on them.
	RTO, RPO *time.Duration
	Source   string
}

// AppliesTo reports whether the ceiling bounds a service of criticality.
func (c Ceiling) AppliesTo(criticality string) bool {
	return len(c.Criticality) == 0 || slices.Contains(c.Criticality, criticality)
}

// Clause is one requirement of a profile: what it asks, the evidence that answers it, and a
// plain statement of what that evidence does not show.
type Clause struct {
	// ID names the clause within its profile, e.g. "art24".
	ID          string
	Title       Text
	Source      string
	Requirement Text
	// Evidence lists what answers the clause, from ClauseEvidence.
	Evidence    []string
	DoesNotShow Text
}

// Clause evidence: the facts a report can show that answer a clause.
const (
	EvidenceDrillFrequency      = "drill_frequency"
	EvidenceDrillPassed         = "drill_passed"
	EvidenceRTOWithin           = "rto_within"
	EvidenceRPOWithin           = "rpo_within"
	EvidenceDependenciesCovered = "dependencies_covered"
	EvidenceFindingsClosed      = "findings_closed"
	EvidenceParticipants        = "participants"
	EvidenceLessons             = "lessons"
	EvidenceDeviations          = "deviations"
	EvidenceAcceptedRisks       = "accepted_risks"
	EvidenceReportSigned        = "report_signed"
	EvidenceRetention           = "retention"
)

// ClauseEvidence lists every kind of evidence a clause may name.
var ClauseEvidence = []string{
	EvidenceDrillFrequency, EvidenceDrillPassed, EvidenceRTOWithin, EvidenceRPOWithin,
	EvidenceDependenciesCovered, EvidenceFindingsClosed, EvidenceParticipants, EvidenceLessons,
	EvidenceDeviations, EvidenceAcceptedRisks, EvidenceReportSigned, EvidenceRetention,
}

// ReportSections lists every section a report can have, in report order.
var ReportSections = []string{"cover", "summary", "services", "drills", "findings", "clauses", "participants", "lessons", "accepted_risks", "signoff"}
