package report

import (
	"context"
	"slices"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	bundle "github.com/firedrill/firedrill/report"
)

// RunRecord is what people recorded about one run, and the findings it revealed.
type RunRecord struct {
	Participants []bundle.Participant
	Deviations   []string
	Lessons      []string
	// Findings are the IDs of the findings the run raised.
	Findings []string
}

// records reads what was recorded about a page of runs, in one read per table: the
// participants as last recorded, then each person the plan intended who was never recorded
// (not attended, as far as firedrill knows), the deviations and lessons noted, and the
// findings each run revealed.
func (s *source) records(ctx context.Context, runs []*store.Run) (map[string]*RunRecord, error) {
	st := s.g.cfg.Store
	ids := runIDs(runs)
	participants, err := st.RunParticipantsListRuns(ctx, ids)
	if err != nil {
		return nil, err
	}
	notes, err := st.RunNotesListRuns(ctx, ids)
	if err != nil {
		return nil, err
	}
	findings, err := st.FindingIDsOfRuns(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*RunRecord, len(runs))
	for _, r := range runs {
		pf, err := s.plan(ctx, r)
		if err != nil {
			return nil, err
		}
		rec := &RunRecord{Participants: []bundle.Participant{}, Deviations: []string{}, Lessons: []string{}, Findings: findings[r.ID]}
		for _, p := range participants[r.ID] {
			rec.Participants = append(rec.Participants, bundle.Participant{Name: p.Name, Role: p.Role, Intended: p.Intended, Attended: p.Attended})
		}
		for _, p := range pf.intended {
			if !slices.ContainsFunc(rec.Participants, func(q bundle.Participant) bool { return q.Name == p.Name }) {
				rec.Participants = append(rec.Participants, bundle.Participant{Name: p.Name, Role: p.Role, Intended: true})
			}
		}
		for _, n := range notes[r.ID] {
			if n.Kind == store.NoteDeviation {
				rec.Deviations = append(rec.Deviations, n.Text)
			} else {
				rec.Lessons = append(rec.Lessons, n.Text)
			}
		}
		if rec.Findings == nil {
			rec.Findings = []string{}
		}
		out[r.ID] = rec
	}
	return out, nil
}

// findings lists every finding of the estate, page by page, each overdue or not at now.
func (g *Gatherer) findings(ctx context.Context, now time.Time) ([]bundle.Finding, error) {
	out := []bundle.Finding{}
	for q := (&store.FindingListParams{Limit: store.MaxFindingListLimit}); ; {
		page, err := g.cfg.Store.FindingList(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, f := range page.Findings {
			bf := bundle.Finding{
				ID: f.ID, Kind: f.Kind, Title: f.Title, Service: f.Service, RunID: f.RunID, Severity: f.Severity, Status: f.Status,
				Owner: f.Owner, RootCause: f.RootCause, DueAt: f.DueAt, Overdue: f.Overdue(now), ClosedByRun: f.ClosedByRunID,
			}
			if f.Status == drills.FindingRiskAccepted {
				bf.RiskAcceptedBy, bf.RiskReason = f.RiskAcceptedBy.String(), f.RiskReason
			}
			out = append(out, bf)
		}
		if page.Next == 0 {
			return out, nil
		}
		q.AfterSeq = page.Next
	}
}
