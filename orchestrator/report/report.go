// Package report gathers what a compliance report says from the store and writes its bundle
// with package report (the bundle format, imported here as bundle): the period's ended runs,
// page by page, their steps, measurements, approvals and audited timelines, the evaluation of
// the regulator profile, and the findings. It holds no rules of its own: what compliant means
// is the profile evaluation's (drills), what passed means is drills.Passed.
package report

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	bundle "github.com/firedrill/firedrill/report"
)

// DefaultPageSize is how many runs an export reads at a time.
const DefaultPageSize = 200

// Compliance is the regulator profiles and their evaluation (part A of issue 9: package
// profiles and drills.EvaluateCompliance), rendered in the report's language.
type Compliance interface {
	// Scope checks the profile, period and language a report is asked for and returns what
	// the report names. lang "" is the profile's default language. An unknown profile, a bad
	// period or a language the profile does not offer is an *InvalidError.
	Scope(profile, period, lang string) (*Scope, error)
	// Evaluate rates every service of the estate for the scope from the facts.
	Evaluate(ctx context.Context, scope *Scope, facts *Facts) (*Evaluation, error)
}

// InvalidError is a report request naming something that does not exist or does not fit.
type InvalidError struct {
	Field, Message string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Message }

// Scope is what a report covers.
type Scope struct {
	Profile bundle.ProfileRef
	Period  bundle.PeriodRef
	Lang    string
	// LookbackFrom, when before the period's start, is how far back the evaluation also
	// needs runs: a quarter's report of a yearly-drilled service counts its drill of the
	// previous months. Those runs are evaluated, never reported as drills of the period.
	LookbackFrom time.Time
}

// Facts are what the evaluation stands on.
type Facts struct {
	Estate *drills.Estate
	Now    time.Time
	// Drills yields the period's ended runs, oldest first (what drills.DrillFacts holds),
	// after those of the scope's lookback.
	Drills iter.Seq2[*DrillFacts, error]
	// Findings are the estate's findings, whatever their status.
	Findings []bundle.Finding
	// Due is, per service, the drills its schedules made due in the period and the fires
	// that ran none.
	Due map[string]*ServiceDue
}

// DrillFacts is one run as the evaluation sees it (drills.DrillFacts).
type DrillFacts struct {
	RunID, Plan, PlanSHA256 string
	// At is T0, else started, else created.
	At       time.Time
	State    drills.RunState
	Forced   bool
	Services []DrillService
}

// DrillService is what a run proved about one service (drills.DrillService).
type DrillService struct {
	Objectives drills.ServiceObjectives
	// RTO and RPO are nil when not measured.
	RTO, RPO *time.Duration
	Reason   string
}

// Evaluation is the profile's verdict, rendered in the scope's language.
type Evaluation struct {
	Status drills.ComplianceStatus
	// Services is the services table in estate order. The gatherer sets each row's measured
	// RTO and RPO, and the drill they come from, from the runs it gathered, so that the
	// bundle's verifier can recompute them.
	Services []bundle.Service
	Clauses  []bundle.Clause
}

// Config configures a Gatherer.
type Config struct {
	// Store is required.
	Store *store.Store
	// Compliance is required.
	Compliance Compliance
	// PageSize defaults to DefaultPageSize.
	PageSize int
}

// Gatherer gathers reports. It is safe for concurrent use.
type Gatherer struct {
	cfg Config
}

// New returns a Gatherer.
func New(cfg Config) (*Gatherer, error) {
	if cfg.Store == nil {
		return nil, errors.New("report gatherer: Config.Store is required")
	}
	if cfg.Compliance == nil {
		return nil, errors.New("report gatherer: Config.Compliance is required")
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.PageSize > store.MaxRunListLimit {
		return nil, fmt.Errorf("report gatherer: Config.PageSize %d is over %d", cfg.PageSize, store.MaxRunListLimit)
	}
	return &Gatherer{cfg: cfg}, nil
}

// Scope checks a report request (see Compliance.Scope).
func (g *Gatherer) Scope(profile, period, lang string) (*Scope, error) {
	return g.cfg.Compliance.Scope(profile, period, lang)
}

// ExportParams are the arguments of Export.
type ExportParams struct {
	Scope *Scope
	// ID, Version and Replaces name the report.
	ID       string
	Version  int
	Replaces string
	// Institution is who reports.
	Institution string
	// GeneratedBy is who asked for the export.
	GeneratedBy string
	Now         time.Time
	Estate      *drills.Estate
	// Key signs the bundle.
	Key ed25519.PrivateKey
	// PDF renders report.pdf; nil leaves it out.
	PDF bundle.PDFRenderer
	// Schedules are the estate's schedules with the services their plans fail over: their
	// fires in the period are the drills due, and those that ran none are stated.
	Schedules []ScheduledServices
}

// Export writes the draft bundle of p.Scope to w and returns its manifest and header. The
// runs it covers are those created in the period and ended before p.Now, read a page at a
// time on each walk the bundle makes.
func (g *Gatherer) Export(ctx context.Context, w io.Writer, p *ExportParams) (*bundle.Manifest, *bundle.Header, error) {
	switch {
	case p == nil || p.Scope == nil:
		return nil, nil, errors.New("export report: no scope")
	case p.ID == "" || p.Version < 1:
		return nil, nil, errors.New("export report: the report needs an ID and a version")
	case p.Estate == nil:
		return nil, nil, errors.New("export report: no estate")
	case p.Now.IsZero():
		return nil, nil, errors.New("export report: no time")
	}
	headSeq, headHash, err := g.cfg.Store.AuditHead(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("export report: %w", err)
	}
	ev, err := g.evaluate(ctx, &EvaluateParams{Scope: p.Scope, Now: p.Now, Estate: p.Estate, Schedules: p.Schedules})
	if err != nil {
		return nil, nil, fmt.Errorf("export report: %w", err)
	}
	src, findings, tally := ev.src, ev.findings, ev.tally
	h := &bundle.Header{
		ID: p.ID, Version: p.Version, Replaces: p.Replaces, State: bundle.StateDraft, Institution: p.Institution,
		Profile: p.Scope.Profile, Period: p.Scope.Period, Language: p.Scope.Lang, GeneratedAt: p.Now.UTC(),
		GeneratedBy: p.GeneratedBy, Services: ev.Services, Findings: findings, Clauses: ev.Clauses,
		AuditHead: bundle.AuditHead{Seq: headSeq, Hash: headHash},
	}
	h.Summary = bundle.Summary{Status: ev.Status, Services: len(ev.Services), Drills: tally.drills, DrillsPassed: tally.passed}
	for i := range h.Services {
		s := &h.Services[i]
		switch s.Status {
		case drills.Compliant:
			h.Summary.Compliant++
		case drills.AtRisk:
			h.Summary.AtRisk++
		case drills.NonCompliant:
			h.Summary.NonCompliant++
		}
	}
	for _, f := range findings {
		if !f.Status.Covered() {
			h.Summary.OpenFindings++
		}
		if f.Overdue {
			h.Summary.OverdueFindings++
		}
	}
	m, err := bundle.Write(ctx, w, h, src, p.Key, p.PDF)
	if err != nil {
		return nil, nil, fmt.Errorf("export report %s: %w", p.ID, err)
	}
	return m, h, nil
}

// EvaluateParams are the arguments of Evaluate.
type EvaluateParams struct {
	Scope *Scope
	// Now bounds the runs: those ended before it count.
	Now    time.Time
	Estate *drills.Estate
	// Schedules are as ExportParams.Schedules.
	Schedules []ScheduledServices
}

// Evaluate rates the estate's services for p.Scope from the store, as Export does before it
// writes a bundle, and writes nothing: what the console's dashboard shows. Each service's
// measured figures are those of its latest drill of the period that measured them.
func (g *Gatherer) Evaluate(ctx context.Context, p *EvaluateParams) (*Evaluation, error) {
	ev, err := g.evaluate(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	return ev.Evaluation, nil
}

// evaluation is an Evaluation with what Export goes on to write from: the period's source,
// the findings and the tally of the drills walked.
type evaluation struct {
	*Evaluation
	src      *source
	findings []bundle.Finding
	tally    *tally
}

func (g *Gatherer) evaluate(ctx context.Context, p *EvaluateParams) (*evaluation, error) {
	switch {
	case p == nil || p.Scope == nil:
		return nil, errors.New("no scope")
	case p.Estate == nil:
		return nil, errors.New("no estate")
	case p.Now.IsZero():
		return nil, errors.New("no time")
	}
	src := &source{g: g, from: p.Scope.Period.Start, to: p.Scope.Period.End, endedBefore: p.Now, plans: &planCache{byID: map[string]*planFacts{}}}
	// The evaluation reads the runs and their measurements only, not the steps, approvals and
	// records (most of a period's rows, which the bundle's walk reads), and also those of the
	// scope's lookback.
	evalSrc := &source{g: g, from: p.Scope.Period.Start, to: p.Scope.Period.End, endedBefore: p.Now, plans: src.plans, factsOnly: true}
	if lb := p.Scope.LookbackFrom; !lb.IsZero() && lb.Before(p.Scope.Period.Start) {
		evalSrc.from = lb
	}
	findings, err := g.findings(ctx, p.Now)
	if err != nil {
		return nil, fmt.Errorf("findings: %w", err)
	}
	due, err := g.dueOf(ctx, p.Schedules, p.Scope)
	if err != nil {
		return nil, err
	}
	// The one walk: the evaluation's facts, and the figures the services table shows.
	tally := &tally{latest: map[string]*latestFigures{}, period: p.Scope.Period}
	facts := &Facts{Estate: p.Estate, Now: p.Now, Findings: findings, Due: due, Drills: tally.walk(evalSrc.Drills(ctx))}
	ev, err := g.cfg.Compliance.Evaluate(ctx, p.Scope, facts)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", p.Scope.Profile.ID, err)
	}
	if tally.err != nil {
		return nil, tally.err
	}
	if !tally.walked {
		return nil, errors.New("the evaluation did not read the drills")
	}
	for i := range ev.Services {
		s := &ev.Services[i]
		s.RTOMeasuredMS, s.RTOMeasuredRun, s.RPOMeasuredMS, s.RPOMeasuredRun = nil, "", nil, ""
		if l := tally.latest[s.Service]; l != nil {
			s.RTOMeasuredMS, s.RTOMeasuredRun = l.rto, l.rtoRun
			s.RPOMeasuredMS, s.RPOMeasuredRun = l.rpo, l.rpoRun
		}
	}
	return &evaluation{Evaluation: ev, src: src, findings: findings, tally: tally}, nil
}

// latestFigures are a service's RTO and RPO from the latest drill of the period that
// measured each.
type latestFigures struct {
	rto, rpo       *int64
	rtoRun, rpoRun string
}

// tally watches the evaluation's walk of the drills: how many of the period's ran and
// passed, and each service's latest figures among them (the bundle holds the period's drills
// only, and its verifier recomputes the figures from their events).
type tally struct {
	period         bundle.PeriodRef
	drills, passed int
	latest         map[string]*latestFigures
	walked         bool
	err            error
}

func (t *tally) walk(drillSeq iter.Seq2[*bundle.Drill, error]) iter.Seq2[*DrillFacts, error] {
	return func(yield func(*DrillFacts, error) bool) {
		t.walked = true
		for d, err := range drillSeq {
			if err != nil {
				t.err = err
				yield(nil, err)
				return
			}
			inPeriod := !d.CreatedAt.Before(t.period.Start) && d.CreatedAt.Before(t.period.End)
			if inPeriod {
				t.drills++
				if d.Passed {
					t.passed++
				}
			}
			f := &DrillFacts{RunID: d.RunID, Plan: d.Plan, PlanSHA256: d.PlanSHA256, At: drillAt(d), State: d.State, Forced: d.Forced}
			for _, m := range d.Measurements {
				ds := DrillService{
					Objectives: drills.ServiceObjectives{Service: m.Service, RTO: m.RTOEvidence, RPO: m.RPOEvidence},
					RTO:        durationOf(m.RTOMS), RPO: durationOf(m.RPOMS), Reason: m.Reason,
				}
				f.Services = append(f.Services, ds)
				if !inPeriod {
					continue
				}
				l := t.latest[m.Service]
				if l == nil {
					l = &latestFigures{}
					t.latest[m.Service] = l
				}
				// Drills come oldest first: a later measurement replaces an earlier one.
				if m.RTOMS != nil {
					l.rto, l.rtoRun = m.RTOMS, d.RunID
				}
				if m.RPOMS != nil {
					l.rpo, l.rpoRun = m.RPOMS, d.RunID
				}
			}
			if !yield(f, nil) {
				return
			}
		}
	}
}

func drillAt(d *bundle.Drill) time.Time {
	switch {
	case d.T0 != nil:
		return *d.T0
	case d.StartedAt != nil:
		return *d.StartedAt
	}
	return d.CreatedAt
}

func durationOf(ms *int64) *time.Duration {
	if ms == nil {
		return nil
	}
	d := time.Duration(*ms) * time.Millisecond
	return &d
}

// source is the bundle's DrillSource over the store: each walk pages through the runs
// created in [from, to) and ended before endedBefore again.
type source struct {
	g           *Gatherer
	from, to    time.Time
	endedBefore time.Time
	// plans caches what the report reads of each plan: a period has few plans.
	plans *planCache
	// factsOnly leaves out of the drills what the evaluation does not read: steps, approvals
	// and records.
	factsOnly bool
}

// pages yields the period's ended runs a page of limit at a time; keysOnly reads their IDs and
// creation times alone (store.RunEndedPageParams.KeysOnly).
func (s *source) pages(ctx context.Context, limit int, keysOnly bool) iter.Seq2[[]*store.Run, error] {
	return func(yield func([]*store.Run, error) bool) {
		var after *store.RunCursor
		for {
			runs, err := s.g.cfg.Store.RunEndedPage(ctx, &store.RunEndedPageParams{
				From: s.from, To: s.to, EndedBefore: s.endedBefore, After: after, Limit: limit, KeysOnly: keysOnly,
			})
			if err != nil {
				yield(nil, err)
				return
			}
			if len(runs) == 0 {
				return
			}
			if !yield(runs, nil) {
				return
			}
			last := runs[len(runs)-1]
			after = &store.RunCursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
	}
}

func runIDs(runs []*store.Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids
}

// prefetched yields fetch(page) for each page of the period's runs, fetching the next page
// (of limit runs, keysOnly as pages) in a goroutine while the caller works on the current one:
// the database and the writing of the bundle then work at the same time instead of taking
// turns.
func prefetched[T any](ctx context.Context, s *source, limit int, keysOnly bool, fetch func(ctx context.Context, runs []*store.Run) (T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		type item struct {
			v   T
			err error
		}
		ctx, cancel := context.WithCancel(ctx)
		ch := make(chan item, 1)
		done := make(chan struct{})
		defer func() {
			cancel()
			<-done
		}()
		go func() {
			defer close(done)
			defer close(ch)
			for runs, err := range s.pages(ctx, limit, keysOnly) {
				var it item
				if it.err = err; err == nil {
					it.v, it.err = fetch(ctx, runs)
				}
				select {
				case ch <- it:
				case <-ctx.Done():
					return
				}
				if it.err != nil {
					return
				}
			}
		}()
		for it := range ch {
			if !yield(it.v, it.err) || it.err != nil {
				return
			}
		}
	}
}

// drillPage is a page of runs with what their drills list.
type drillPage struct {
	runs      []*store.Run
	ms        map[string][]*store.Measurement
	steps     map[string][]*store.StepResult
	approvals map[string][]*store.Approval
	records   map[string]*RunRecord
}

func (s *source) drillPage(ctx context.Context, runs []*store.Run) (*drillPage, error) {
	ids := runIDs(runs)
	st := s.g.cfg.Store
	p := &drillPage{runs: runs}
	var err error
	if p.ms, err = st.MeasurementListRuns(ctx, ids); err != nil {
		return nil, err
	}
	if s.factsOnly {
		return p, nil
	}
	if p.steps, err = st.StepResultListRuns(ctx, ids); err != nil {
		return nil, err
	}
	if p.approvals, err = st.ApprovalListRuns(ctx, ids); err != nil {
		return nil, err
	}
	if p.records, err = s.records(ctx, runs); err != nil {
		return nil, fmt.Errorf("run records: %w", err)
	}
	return p, nil
}

// Drills yields the period's drills with their steps, measurements, approvals and records.
func (s *source) Drills(ctx context.Context) iter.Seq2[*bundle.Drill, error] {
	return func(yield func(*bundle.Drill, error) bool) {
		for p, err := range prefetched(ctx, s, s.g.cfg.PageSize, false, s.drillPage) {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, r := range p.runs {
				d, err := s.drillOf(ctx, r, p.steps[r.ID], p.ms[r.ID], p.approvals[r.ID], p.records[r.ID])
				if !yield(d, err) || err != nil {
					return
				}
			}
		}
	}
}

func (s *source) drillOf(ctx context.Context, r *store.Run, steps []*store.StepResult, ms []*store.Measurement, approvals []*store.Approval, rec *RunRecord) (*bundle.Drill, error) {
	scenario, err := s.scenario(ctx, r)
	if err != nil {
		return nil, err
	}
	d := &bundle.Drill{
		RunID: r.ID, Plan: r.PlanName, PlanSHA256: r.PlanSHA256, Scenario: scenario, FromSite: r.FromSite, ToSite: r.ToSite,
		State: r.State, StateReason: r.StateReason, Forced: r.Forced,
		Passed:    drills.Passed(r.State, r.Forced, store.RunObjectives(r, ms)),
		CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, T0: r.T0, T1: r.T1, EndedAt: r.EndedAt, RTOMS: msOf(r.RTOActual),
		RequestedBy: r.RequestedBy.String(), Schedule: r.ScheduleName,
		FiredrillVersion: r.FiredrillVersion, FiredrillCommit: r.FiredrillCommit,
	}
	for _, a := range approvals {
		if a.Decision != store.ApprovalApprove {
			continue
		}
		d.Approvers = append(d.Approvers, bundle.Approver{Name: a.By.String(), Role: strings.Join(a.Roles, ", "), At: a.At, Comment: a.Comment})
	}
	for _, st := range steps {
		d.Steps = append(d.Steps, bundle.Step{
			Key: st.Key, Name: st.Name, Action: st.Action, Site: st.Site, Service: st.Service, Attempt: st.Attempt,
			State: st.State, StartedAt: st.StartedAt, EndedAt: st.EndedAt, DurationMS: msOf(st.Duration), Error: st.Error,
		})
	}
	for _, m := range ms {
		o := m.Objectives(r.T0 != nil)
		d.Measurements = append(d.Measurements, bundle.Measurement{
			Service: m.Service, RTOObjectiveMS: m.RTOObjective.Milliseconds(), RTOMS: msOf(m.RTOActual), RTOEvidence: o.RTO,
			RPOObjectiveMS: m.RPOObjective.Milliseconds(), RPOMS: msOf(m.RPOActual), RPOEvidence: o.RPO,
			LostRows: m.RPOLostRows, ResolutionMS: m.Resolution.Milliseconds(), Reason: m.Reason,
		})
	}
	if rec != nil {
		d.Participants, d.Deviations, d.Lessons, d.Findings = rec.Participants, rec.Deviations, rec.Lessons, rec.Findings
	}
	return d, nil
}

// scenario is the description of the run's plan.
func (s *source) scenario(ctx context.Context, r *store.Run) (string, error) {
	pf, err := s.plan(ctx, r)
	if err != nil {
		return "", err
	}
	return pf.scenario, nil
}

// planFacts is what a report reads of a plan: its scenario (description) and the people it
// meant to take part.
type planFacts struct {
	scenario string
	intended []*drills.Participant
}

// planCache holds each plan's facts by plan ID. The drills' pages are fetched in a goroutine
// while the current one is written, so both read it at once.
type planCache struct {
	mu   sync.Mutex
	byID map[string]*planFacts
}

func (s *source) plan(ctx context.Context, r *store.Run) (*planFacts, error) {
	s.plans.mu.Lock()
	pf, ok := s.plans.byID[r.PlanID]
	s.plans.mu.Unlock()
	if ok {
		return pf, nil
	}
	p, err := s.g.cfg.Store.PlanGet(ctx, r.PlanID)
	if err != nil {
		return nil, fmt.Errorf("run %s: plan: %w", r.ID, err)
	}
	pf = &planFacts{}
	// A stored plan parsed when it was submitted; should it no longer, the report says
	// nothing of its scenario or intended participants rather than fail.
	if plan, diags := drills.ParsePlan(p.Source, p.File); !diags.HasErrors() && plan != nil {
		pf.scenario, pf.intended = plan.Description, plan.Participants
	}
	s.plans.mu.Lock()
	s.plans.byID[r.PlanID] = pf
	s.plans.mu.Unlock()
	return pf, nil
}

// eventPageShare divides the page size for the walk of the events: a run has about as many
// events as step results, each with its audit row, several times a step result's bytes, and
// a page is held up to three times (fetched, waiting, written).
const eventPageShare = 4

// Events yields the period's run events with their audit rows, in the order of Drills.
func (s *source) Events(ctx context.Context) iter.Seq2[*bundle.Event, error] {
	type eventPage struct {
		runs []*store.Run
		evs  map[string][]*store.AuditedEvent
	}
	fetch := func(ctx context.Context, runs []*store.Run) (*eventPage, error) {
		evs, err := s.g.cfg.Store.RunEventAuditedListRuns(ctx, runIDs(runs))
		return &eventPage{runs: runs, evs: evs}, err
	}
	return func(yield func(*bundle.Event, error) bool) {
		for p, err := range prefetched(ctx, s, max(1, s.g.cfg.PageSize/eventPageShare), true, fetch) {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, r := range p.runs {
				for _, e := range p.evs[r.ID] {
					be := &bundle.Event{RunID: e.RunID, Seq: int64(e.Seq), At: e.At, Kind: e.Kind, StepKey: e.StepKey, Message: e.Message, Data: e.Data}
					if e.Audit != nil {
						be.Audit = &bundle.AuditRow{Seq: e.Audit.Seq, PrevHash: e.Audit.PrevHash, Hash: e.Audit.Hash, Content: e.Audit.Content}
					}
					if !yield(be, nil) {
						return
					}
				}
			}
		}
	}
}

func msOf(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	v := d.Milliseconds()
	return &v
}
