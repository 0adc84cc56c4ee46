package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// runSummary is what `run`, `demo` and `runs show` print: the run as the database recorded
// it (control's run view, with all its evidence) and where it is recorded. Its JSON keys are
// stable snake_case for scripts.
type runSummary struct {
	Database string `json:"database"`
	*control.RunView
	// Passed: the drill succeeded and met every objective, and was not forced.
	Passed bool `json:"passed"`
	Events int  `json:"events_recorded"`
}

func loadRunSummary(ctx context.Context, st *store.Store, runID string) (*runSummary, error) {
	v, err := control.LoadRunView(ctx, st, runID)
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", runID, err)
	}
	return &runSummary{RunView: v, Passed: v.Run.Passed, Events: len(v.Timeline)}, nil
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
	run := &s.Run
	fmt.Fprintf(w, "\nDrill %s  run %s\n", s.Run.Plan, s.Run.ID)
	fmt.Fprintf(w, "  %s -> %s, triggered by %s, plan sha256 %s\n\n", s.Run.From, s.Run.To, s.Run.RequestedBy, short(s.Run.PlanSHA256))

	fmt.Fprintln(w, "Timeline (UTC, ms)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  START\tT0+\tSTEP\tACTION\tSITE\tRESULT\tTOOK")
	for _, r := range s.Steps {
		took := ""
		if r.DurationMS != nil {
			took = (time.Duration(*r.DurationMS) * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", clockTime(r.StartedAt), sinceT0(r.StartedAt, run.T0), r.Key, r.Action, r.Site, r.State, took)
	}
	tw.Flush()
	for _, r := range s.Steps {
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
	if run.RTOActualMS != nil {
		rto = (time.Duration(*run.RTOActualMS) * time.Millisecond).String()
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
