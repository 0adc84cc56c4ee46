package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/firedrill/firedrill/orchestrator/store"
)

// runSummary is what `run` and `demo` print: the run as the database recorded it. Its JSON
// keys are stable snake_case for scripts.
type runSummary struct {
	Database string        `json:"database"`
	Run      runJSON       `json:"run"`
	Steps    []stepJSON    `json:"steps"`
	Services []serviceJSON `json:"services"`
	Passed   bool          `json:"passed"`
	Events   int           `json:"events_recorded"`
	loaded   *store.Run    `json:"-"`
	stepRecs []*store.StepResult
}

type runJSON struct {
	ID            string     `json:"id"`
	Plan          string     `json:"plan"`
	PlanSHA256    string     `json:"plan_sha256"`
	EstateSHA256  string     `json:"estate_sha256"`
	From          string     `json:"from_site"`
	To            string     `json:"to_site"`
	State         string     `json:"state"`
	Reason        string     `json:"reason,omitempty"`
	TriggeredBy   string     `json:"triggered_by"`
	StartedAt     *time.Time `json:"started_at,omitempty"`
	EndedAt       *time.Time `json:"ended_at,omitempty"`
	T0            *time.Time `json:"t0_disaster,omitempty"`
	T1            *time.Time `json:"t1_restored,omitempty"`
	RTOActualMS   *int64     `json:"rto_actual_ms,omitempty"`
	ObjectivesMet *bool      `json:"objectives_met,omitempty"`
}

type stepJSON struct {
	Seq        int             `json:"seq"`
	Key        string          `json:"key"`
	Action     string          `json:"action"`
	Site       string          `json:"site,omitempty"`
	Service    string          `json:"service,omitempty"`
	State      string          `json:"state"`
	StartedAt  time.Time       `json:"started_at"`
	EndedAt    *time.Time      `json:"ended_at,omitempty"`
	DurationMS *int64          `json:"duration_ms,omitempty"`
	Error      string          `json:"error,omitempty"`
	Evidence   json.RawMessage `json:"evidence,omitempty"`
}

type serviceJSON struct {
	Service        string     `json:"service"`
	Criticality    string     `json:"criticality"`
	RTOObjectiveMS int64      `json:"rto_objective_ms"`
	RTOActualMS    *int64     `json:"rto_actual_ms"`
	Restored       bool       `json:"restored"`
	RestoredAt     *time.Time `json:"restored_at,omitempty"`
	RTOMet         bool       `json:"rto_met"`
	RPOObjectiveMS int64      `json:"rpo_objective_ms"`
	RPOActualMS    *int64     `json:"rpo_actual_ms"`
	RPOLostRows    *int64     `json:"rpo_lost_rows"`
	RPOMet         *bool      `json:"rpo_met"`
	ResolutionMS   int64      `json:"resolution_ms"`
	Reason         string     `json:"reason,omitempty"`
}

func msOf(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	v := d.Milliseconds()
	return &v
}

func loadRunSummary(ctx context.Context, st *store.Store, runID string) (*runSummary, error) {
	run, err := st.RunGet(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", runID, err)
	}
	plan, err := st.PlanGet(ctx, run.PlanID)
	if err != nil {
		return nil, fmt.Errorf("read plan of run %s: %w", runID, err)
	}
	steps, err := st.StepResultList(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("read steps of run %s: %w", runID, err)
	}
	ms, err := st.MeasurementList(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("read measurements of run %s: %w", runID, err)
	}
	events, err := st.RunEventList(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("read timeline of run %s: %w", runID, err)
	}
	s := &runSummary{
		loaded: run, stepRecs: steps, Events: len(events),
		Run: runJSON{
			ID: run.ID, Plan: run.PlanName, PlanSHA256: plan.SHA256, EstateSHA256: run.EstateSHA256,
			From: run.FromSite, To: run.ToSite, State: string(run.State), Reason: run.StateReason,
			TriggeredBy: run.RequestedBy.String(), StartedAt: run.StartedAt, EndedAt: run.EndedAt,
			T0: run.T0, T1: run.T1, RTOActualMS: msOf(run.RTOActual), ObjectivesMet: run.ObjectivesMet,
		},
		Steps:    []stepJSON{},
		Services: []serviceJSON{},
	}
	s.Passed = run.State == "succeeded" && run.ObjectivesMet != nil && *run.ObjectivesMet
	for _, r := range steps {
		s.Steps = append(s.Steps, stepJSON{
			Seq: r.Seq, Key: r.Key, Action: r.Action, Site: r.Site, Service: r.Service, State: string(r.State),
			StartedAt: r.StartedAt, EndedAt: r.EndedAt, DurationMS: msOf(r.Duration), Error: r.Error, Evidence: r.Evidence,
		})
	}
	for _, m := range ms {
		s.Services = append(s.Services, serviceJSON{
			Service: m.Service, Criticality: string(m.Criticality), RTOObjectiveMS: m.RTOObjective.Milliseconds(),
			RTOActualMS: msOf(m.RTOActual), Restored: m.Restored, RestoredAt: m.RestoredAt, RTOMet: m.RTOMet,
			RPOObjectiveMS: m.RPOObjective.Milliseconds(), RPOActualMS: msOf(m.RPOActual),
			RPOLostRows: m.RPOLostRows, RPOMet: m.RPOMet,
			ResolutionMS: m.Resolution.Milliseconds(), Reason: m.Reason,
		})
	}
	return s, nil
}

// clockTime prints a stored instant with milliseconds, in UTC.
func clockTime(t time.Time) string { return t.UTC().Format("15:04:05.000Z") }

// sinceT0 prints an instant relative to the disaster: "+1.234s", or "" without a T0.
func sinceT0(t time.Time, t0 *time.Time) string {
	if t0 == nil {
		return ""
	}
	d := t.Sub(*t0)
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return sign + d.Truncate(time.Millisecond).String()
}

func printRunSummary(w io.Writer, s *runSummary) {
	run := s.loaded
	fmt.Fprintf(w, "\nDrill %s  run %s\n", s.Run.Plan, s.Run.ID)
	fmt.Fprintf(w, "  %s -> %s, triggered by %s, plan sha256 %s\n\n", s.Run.From, s.Run.To, s.Run.TriggeredBy, short(s.Run.PlanSHA256))

	fmt.Fprintln(w, "Timeline (UTC, ms)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  START\tT0+\tSTEP\tACTION\tSITE\tRESULT\tTOOK")
	for _, r := range s.stepRecs {
		took := ""
		if r.Duration != nil {
			took = r.Duration.Truncate(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", clockTime(r.StartedAt), sinceT0(r.StartedAt, run.T0), r.Key, r.Action, r.Site, r.State, took)
	}
	tw.Flush()
	for _, r := range s.stepRecs {
		if r.Error != "" {
			fmt.Fprintf(w, "  ! %s: %s\n", r.Key, r.Error)
		}
	}
	if run.T0 != nil {
		fmt.Fprintf(w, "  T0 disaster  %s\n", clockTime(*run.T0))
	}
	if run.T1 != nil {
		fmt.Fprintf(w, "  T1 restored  %s\n", clockTime(*run.T1))
	}

	fmt.Fprintln(w, "\nRecovery per service (RTO = restored on the DR site - T0; RPO = data written before T0 missing on DR)")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SERVICE\tCRITICALITY\tRTO OBJECTIVE\tRTO ACTUAL\tRESOLUTION\tRPO OBJECTIVE\tRPO ACTUAL\tLOST ROWS\tRESULT")
	for _, m := range s.Services {
		actual := "not restored"
		if m.RTOActualMS != nil {
			actual = (time.Duration(*m.RTOActualMS) * time.Millisecond).String()
		}
		rpo, lost := "not measured", "-"
		if m.RPOActualMS != nil {
			rpo = (time.Duration(*m.RPOActualMS) * time.Millisecond).String()
		}
		if m.RPOLostRows != nil {
			lost = fmt.Sprint(*m.RPOLostRows)
		}
		result := "met"
		if !m.RTOMet || (m.RPOMet != nil && !*m.RPOMet) {
			result = "MISSED"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t±%dms\t%s\t%s\t%s\t%s\n", m.Service, m.Criticality,
			(time.Duration(m.RTOObjectiveMS) * time.Millisecond).String(), actual, m.ResolutionMS,
			(time.Duration(m.RPOObjectiveMS) * time.Millisecond).String(), rpo, lost, result)
	}
	tw.Flush()
	for _, m := range s.Services {
		if m.Reason != "" {
			fmt.Fprintf(w, "  ! %s: %s\n", m.Service, m.Reason)
		}
	}

	verdict := "PASSED"
	if !s.Passed {
		verdict = "FAILED"
	}
	rto := "not measured"
	if run.RTOActual != nil {
		rto = run.RTOActual.Truncate(time.Millisecond).String()
	}
	fmt.Fprintf(w, "\nDrill %s: run %s, drill RTO %s", verdict, run.State, rto)
	if s.Run.Reason != "" {
		fmt.Fprintf(w, " (%s)", s.Run.Reason)
	}
	fmt.Fprintf(w, "\n%d timeline events recorded in %s\n", s.Events, s.Database)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return strings.TrimSpace(sha)
}
