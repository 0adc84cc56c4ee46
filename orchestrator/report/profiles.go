package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/profiles"
	bundle "github.com/firedrill/firedrill/report"
)

// ProfileCompliance is the Compliance of the shipped regulator profiles (package profiles),
// judged by drills.EvaluateCompliance.
type ProfileCompliance struct {
	// Location is the institution's time zone: where a period's days begin and the zone
	// reasons write dates in. Defaults to UTC.
	Location *time.Location
}

func (pc ProfileCompliance) loc() *time.Location {
	if pc.Location == nil {
		return time.UTC
	}
	return pc.Location
}

// Scope checks the profile, the period and the language.
func (pc ProfileCompliance) Scope(profile, period, lang string) (*Scope, error) {
	p, err := profiles.Load(profile)
	switch {
	case errors.Is(err, profiles.ErrNotFound):
		return nil, &InvalidError{Field: "profile", Message: err.Error()}
	case err != nil:
		return nil, err
	}
	per, err := drills.ParsePeriod(period, pc.loc())
	if err != nil {
		return nil, &InvalidError{Field: "period", Message: err.Error()}
	}
	if lang == "" && len(p.Languages) > 0 {
		lang = p.Languages[0]
	}
	if !slices.Contains(p.Languages, lang) {
		return nil, &InvalidError{Field: "lang", Message: fmt.Sprintf("profile %s reports in %v, not %q", p.ID, p.Languages, lang)}
	}
	sc := &Scope{
		Profile: bundle.ProfileRef{ID: p.ID, Title: p.Title.Get(lang), Regulator: p.Regulator.Get(lang), Source: p.Source},
		Period:  bundle.PeriodRef{Name: per.Name, Start: per.Start, End: per.End},
		Lang:    lang,
	}
	// A drill within the profile's frequency of the period's end keeps a service drilled,
	// whenever in that span it ran (drills.ComplianceInput.Drills).
	if p.FrequencyMonths > 0 {
		sc.LookbackFrom = per.End.AddDate(0, -p.FrequencyMonths, 0)
	}
	return sc, nil
}

// Evaluate judges the estate's services with the scope's profile.
func (pc ProfileCompliance) Evaluate(ctx context.Context, scope *Scope, f *Facts) (*Evaluation, error) {
	p, err := profiles.Load(scope.Profile.ID)
	if err != nil {
		return nil, err
	}
	in := drills.ComplianceInput{
		Profile: p, Period: drills.Period{Name: scope.Period.Name, Start: scope.Period.Start, End: scope.Period.End},
		Now: f.Now, Location: pc.loc(),
	}
	for _, s := range f.Estate.Services {
		sf := drills.ServiceFacts{
			Name: s.Name, Criticality: string(s.Criticality), DependsOn: s.DependsOn, RTOObjective: s.RTO, RPOObjective: s.RPO,
		}
		if d := f.Due[s.Name]; d != nil {
			sf.TestsDue, sf.SkippedFires = d.TestsDue, d.Skipped
		}
		in.Services = append(in.Services, sf)
	}
	// The evaluation takes the drills as a list: one small record per run, the export's
	// largest holding (100,000 runs made it most of the peak RSS). The records share one copy
	// of each plan, plan hash, state, service and evidence name, which every run repeats, and
	// their services are allocated to size.
	names := interner{}
	for d, err := range f.Drills {
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		df := drills.DrillFacts{RunID: d.RunID, Plan: names.of(d.Plan), PlanSHA256: names.of(d.PlanSHA256), At: d.At,
			State: drills.RunState(names.of(string(d.State))), Forced: d.Forced, Services: make([]drills.DrillService, 0, len(d.Services))}
		for _, s := range d.Services {
			o := drills.ServiceObjectives{Service: names.of(s.Objectives.Service),
				RTO: drills.Evidence(names.of(string(s.Objectives.RTO))), RPO: drills.Evidence(names.of(string(s.Objectives.RPO)))}
			df.Services = append(df.Services, drills.DrillService{Objectives: o, RTO: s.RTO, RPO: s.RPO, Reason: s.Reason})
		}
		in.Drills = append(in.Drills, df)
	}
	for _, fd := range f.Findings {
		in.Findings = append(in.Findings, drills.FindingFacts{ID: fd.ID, Title: fd.Title, Service: fd.Service, Severity: fd.Severity, Status: fd.Status, DueAt: fd.DueAt})
	}
	res := drills.EvaluateCompliance(in)
	lang := scope.Lang
	ev := &Evaluation{Status: res.Status}
	byClause := map[string][]drills.Reason{}
	for _, s := range res.Services {
		row := bundle.Service{
			Service: s.Service, Criticality: s.Criticality, Status: s.Status, Reasons: []bundle.Reason{},
			DrillsRequired: s.DrillsRequired, DrillsRun: s.DrillsRun, DrillsPassed: s.DrillsPassed, LatestRunID: s.LatestRunID,
			RTOObjectiveMS: s.RTOObjective.Milliseconds(), RTOCeilingMS: msOf(s.RTOCeiling), RTOEvidence: evidenceOr(s.RTOEvidence),
			RPOObjectiveMS: s.RPOObjective.Milliseconds(), RPOCeilingMS: msOf(s.RPOCeiling), RPOEvidence: evidenceOr(s.RPOEvidence),
		}
		for _, r := range s.Reasons {
			row.Reasons = append(row.Reasons, bundle.Reason{Code: r.Code, Status: r.Status, Clause: r.Clause, Text: r.Text(lang)})
			if r.Clause != "" {
				byClause[r.Clause] = append(byClause[r.Clause], r)
			}
		}
		ev.Services = append(ev.Services, row)
	}
	for _, r := range res.Reasons {
		if r.Clause != "" {
			byClause[r.Clause] = append(byClause[r.Clause], r)
		}
	}
	for _, c := range p.Clauses {
		rs := byClause[c.ID]
		status := drills.Compliant
		for _, r := range rs {
			status = drills.WorstStatus(status, r.Status)
		}
		ev.Clauses = append(ev.Clauses, bundle.Clause{
			ID: c.ID, Title: c.Title.Get(lang), Source: c.Source, Requirement: c.Requirement.Get(lang), Evidence: slices.Clone(c.Evidence),
			Answer: clauseAnswer(lang, len(res.Services), rs), DoesNotShow: c.DoesNotShow.Get(lang), Status: status,
		})
	}
	return ev, nil
}

// evidenceOr is the evidence of a service's latest drill; not evidenced when it was never
// drilled.
func evidenceOr(e drills.Evidence) drills.Evidence {
	if e == "" {
		return drills.EvidenceNotEvidenced
	}
	return e
}

// clauseAnswer says in a sentence how the services answer a clause: how many of its reasons
// fall short, or that none does.
func clauseAnswer(lang string, services int, reasons []drills.Reason) string {
	short := 0
	for _, r := range reasons {
		if r.Status != drills.Compliant {
			short++
		}
	}
	n := strconv.Itoa(services)
	if lang == "ko" {
		if short == 0 {
			return "서비스 " + n + "개 모두 이 조항의 증거를 갖추었습니다."
		}
		return "이 조항에 미달하는 사유 " + strconv.Itoa(short) + "건이 있습니다 (서비스 표의 사유 참조)."
	}
	if short == 0 {
		return "All " + n + " services show the evidence this clause asks for."
	}
	return strconv.Itoa(short) + " reasons fall short of this clause (see the reasons in the services table)."
}

// interner keeps one copy of each distinct string it is given.
type interner map[string]string

func (in interner) of(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	in[s] = s
	return s
}
