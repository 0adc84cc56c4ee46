package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// printRunView prints a run as the server recorded it: who asked, its approvals, the
// timeline of its steps, each service's recovery and the verdict. where says where it is
// recorded ("in sqlite:firedrill.db", "by firedrill at http://...").
func printRunView(w io.Writer, v *control.RunView, where string) {
	r := v.Run
	fmt.Fprintf(w, "\nDrill %s  run %s\n", r.Plan, r.ID)
	forced := ""
	if r.Forced {
		forced = ", forced"
	}
	fmt.Fprintf(w, "  %s -> %s, requested by %s%s, plan sha256 %s\n", r.From, r.To, r.RequestedBy, forced, short(r.PlanSHA256))
	printIntegrityWarning(w, v.Integrity)
	if r.FiredrillVersion != "" || r.FiredrillCommit != "" {
		fmt.Fprintf(w, "  recorded by firedrill %s, commit %s\n", r.FiredrillVersion, r.FiredrillCommit)
	}
	if r.Schedule != "" {
		fire := ""
		if r.FireTime != nil {
			fire = " at " + r.FireTime.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  fired by schedule %s%s\n", r.Schedule, fire)
	}
	if len(r.ApprovalRoles) > 0 {
		fmt.Fprintf(w, "  approval policy: %s", strings.Join(r.ApprovalRoles, ", "))
		if r.ApprovalDeadline != nil {
			fmt.Fprintf(w, ", before %s", r.ApprovalDeadline.UTC().Format(time.RFC3339))
		}
		if len(v.MissingRoles) > 0 {
			fmt.Fprintf(w, "; still missing %s", strings.Join(v.MissingRoles, ", "))
		}
		fmt.Fprintln(w)
	}
	for _, ap := range v.Approvals {
		comment := ""
		if ap.Comment != "" {
			comment = ": " + ap.Comment
		}
		fmt.Fprintf(w, "  %s by %s as %s at %s%s\n", decided(ap.Decision), ap.By, strings.Join(ap.Roles, ", "), clockTime(ap.At), comment)
	}
	if r.AbortRequestedAt != nil {
		fmt.Fprintf(w, "  abort requested by %s at %s: %s\n", actorOrDash(r.AbortRequestedBy), clockTime(*r.AbortRequestedAt), r.AbortReason)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Timeline (UTC, ms)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  START\tT0+\tSTEP\tACTION\tSITE\tRESULT\tTOOK")
	for _, s := range v.Steps {
		took := ""
		if s.DurationMS != nil {
			took = (time.Duration(*s.DurationMS) * time.Millisecond).String()
		}
		state := string(s.State)
		if s.AwaitingDecision {
			state += " (awaits a decision: firedrill step)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", clockTime(s.StartedAt), sinceT0(s.StartedAt, r.T0), s.Key, s.Action, s.Site, state, took)
	}
	tw.Flush()
	for _, s := range v.Steps {
		if s.Error != "" {
			fmt.Fprintf(w, "  ! %s: %s\n", s.Key, s.Error)
		}
	}
	for _, d := range v.Decisions {
		comment := ""
		if d.Comment != "" {
			comment = ": " + d.Comment
		}
		fmt.Fprintf(w, "  step %s marked %s by %s at %s%s\n", d.StepKey, d.Decision, d.By, clockTime(d.At), comment)
	}
	if r.T0 != nil {
		fmt.Fprintf(w, "  T0 disaster  %s\n", clockTime(*r.T0))
	}
	if r.T1 != nil {
		fmt.Fprintf(w, "  T1 restored  %s\n", clockTime(*r.T1))
	}

	printRunEvidence(w, v.Timeline)

	fmt.Fprintln(w, "\nRecovery per service (RTO = restored on the DR site - T0; RPO = data written before T0 missing on DR)")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SERVICE\tCRITICALITY\tRTO OBJECTIVE\tRTO ACTUAL\tRESOLUTION\tRPO OBJECTIVE\tRPO ACTUAL\tRESOLUTION\tLOST ROWS\tRESULT")
	for _, m := range v.Services {
		actual := "not restored"
		if m.RTOActualMS != nil {
			actual = (time.Duration(*m.RTOActualMS) * time.Millisecond).String()
		}
		rpo, lost := "not evidenced", "-"
		if m.RPOActualMS != nil {
			rpo = (time.Duration(*m.RPOActualMS) * time.Millisecond).String()
		}
		if m.RPOLostRows != nil {
			lost = fmt.Sprint(*m.RPOLostRows)
		}
		result := objectivesResult(m)
		rpoRes := "-"
		if m.RPOResolutionMS != nil && m.RPOActualMS != nil {
			rpoRes = fmt.Sprintf("±%dms", *m.RPOResolutionMS)
		}
		rtoRes := "-"
		if m.RTOActualMS != nil {
			rtoRes = fmt.Sprintf("±%dms %s", m.ResolutionMS, resolutionMethodText(m.ResolutionMethod))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Service, m.Criticality,
			(time.Duration(m.RTOObjectiveMS) * time.Millisecond).String(), actual, rtoRes,
			(time.Duration(m.RPOObjectiveMS) * time.Millisecond).String(), rpo, rpoRes, lost, result)
	}
	tw.Flush()
	for _, m := range v.Services {
		if m.Reason != "" {
			fmt.Fprintf(w, "  ! %s: %s\n", m.Service, m.Reason)
		}
	}

	printRunRecord(w, v)

	rto := "not measured"
	if r.RTOActualMS != nil {
		rto = (time.Duration(*r.RTOActualMS) * time.Millisecond).String()
	}
	switch {
	case r.State == drills.RunAwaitingApproval:
		fmt.Fprintf(w, "\nDrill AWAITING APPROVAL: nothing has run yet")
		if len(v.MissingRoles) > 0 {
			fmt.Fprintf(w, "; still missing %s", strings.Join(v.MissingRoles, ", "))
		}
	case r.State == drills.RunWaitingOperator:
		fmt.Fprintf(w, "\nDrill WAITING FOR AN OPERATOR: a step awaits a decision (firedrill step)")
	case !r.State.IsTerminal():
		fmt.Fprintf(w, "\nDrill IN PROGRESS: run %s, no verdict yet", r.State)
	case r.Passed:
		fmt.Fprintf(w, "\nDrill PASSED: run %s, drill RTO %s", r.State, rto)
	case r.State == drills.RunSucceeded:
		// The plan ran to the end, but not every objective was measured and met.
		fmt.Fprintf(w, "\nDrill NOT PASSED: run %s, drill RTO %s", r.State, rto)
	default:
		fmt.Fprintf(w, "\nDrill FAILED: run %s, drill RTO %s", r.State, rto)
	}
	if r.Reason != "" {
		fmt.Fprintf(w, " (%s)", r.Reason)
	}
	fmt.Fprintf(w, "\n%d timeline events recorded %s\n", len(v.Timeline), where)
	if v.Integrity.Verified {
		fmt.Fprintf(w, "audit log: the run's %d audit rows verify (hash chain intact, timeline and state unaltered)\n", v.Integrity.AuditRows)
	} else {
		printIntegrityWarning(w, v.Integrity)
	}
}

// printRunRecord prints what people recorded about the run (participants against the plan's
// intended ones, deviations, lessons) and the findings it revealed; nothing when there is none.
func printRunRecord(w io.Writer, v *control.RunView) {
	if len(v.Participants) > 0 {
		fmt.Fprintln(w, "\nParticipants")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tROLE\tINTENDED\tATTENDED")
		for _, p := range v.Participants {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Name, p.Role, yesNo(p.Intended), yesNo(p.Attended))
		}
		tw.Flush()
	}
	for _, n := range v.Notes {
		fmt.Fprintf(w, "  %s (%s, %s): %s\n", n.Kind, n.By, clockTime(n.At), n.Text)
	}
	if len(v.Findings) > 0 {
		fmt.Fprintln(w, "\nFindings")
		printFindings(w, v.Findings)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// printIntegrityWarning warns, loudly, when the run's record disagrees with the audit log:
// what is printed above or below may have been edited after the fact.
func printIntegrityWarning(w io.Writer, in control.IntegrityView) {
	if in.Verified {
		return
	}
	fmt.Fprintf(w, "\n  !!! WARNING: THIS RUN'S RECORD DOES NOT MATCH THE AUDIT LOG: %s\n", in.Problem)
	fmt.Fprintln(w, "  !!! Do not rely on this record; run `firedrill audit verify` on the database.")
}

// printRunEvidence prints the evidence the timeline holds beyond the steps: each pre-flight
// check, each probe's summary, stop conditions that fired and steps over their budget.
func printRunEvidence(w io.Writer, evs []control.EventView) {
	var lines []string
	for _, e := range evs {
		switch e.Kind {
		case orchestrator.EventPreflight:
			lines = append(lines, fmt.Sprintf("  pre-flight at %s: %s", clockTime(e.At), e.Message))
			var d struct {
				Checks []struct {
					Check, Site, Subject, Detail string
					OK                           bool
				} `json:"checks"`
			}
			if json.Unmarshal(e.Data, &d) == nil {
				for _, c := range d.Checks {
					mark := "ok  "
					if !c.OK {
						mark = "FAIL"
					}
					what := strings.TrimSpace(strings.Join([]string{c.Check, c.Site, c.Subject}, " "))
					line := fmt.Sprintf("    %s %s", mark, what)
					if c.Detail != "" {
						line += ": " + c.Detail
					}
					lines = append(lines, line)
				}
			}
		case orchestrator.EventProbe:
			var d struct {
				Polls         int64    `json:"polls"`
				Failures      int64    `json:"failures"`
				Availability  *float64 `json:"availability"`
				LongestOutage int64    `json:"longest_outage_ms"`
			}
			_ = json.Unmarshal(e.Data, &d)
			avail := "-"
			if d.Availability != nil {
				avail = fmt.Sprintf("%.2f%%", *d.Availability*100)
			}
			lines = append(lines, fmt.Sprintf("  probe %s: %d polls, %d failed, availability %s, longest outage %dms",
				e.Message, d.Polls, d.Failures, avail, d.LongestOutage))
		case orchestrator.EventStopCondition:
			lines = append(lines, fmt.Sprintf("  STOP CONDITION at %s: %s", clockTime(e.At), e.Message))
		case orchestrator.EventStepOverBudget:
			step := ""
			if e.StepKey != "" {
				step = e.StepKey + ": "
			}
			lines = append(lines, fmt.Sprintf("  over budget at %s: %s%s", clockTime(e.At), step, e.Message))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(w, "\nEvidence")
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// objectivesResult says what a service's measurements prove: met only when both objectives
// were measured and met; a missed objective outweighs one not evidenced.
func objectivesResult(m control.MeasurementView) string {
	switch {
	case m.Met:
		return "met"
	case m.RTOEvidence == drills.EvidenceMissed || m.RPOEvidence == drills.EvidenceMissed:
		return "MISSED"
	default:
		return "NOT EVIDENCED"
	}
}

// decided says what an approval decision did: approve -> approved.
func decided(decision string) string {
	switch decision {
	case "approve":
		return "approved"
	case "reject":
		return "rejected"
	}
	return decision
}

// resolutionMethodText says in the recovery table how a restored moment was caught.
func resolutionMethodText(method string) string {
	switch method {
	case actions.ResolutionEventStream:
		return "(event stream)"
	case actions.ResolutionBlockingQuery:
		return "(blocking query)"
	case actions.ResolutionPoll:
		return "(poll)"
	case "":
		return "(method not recorded)"
	default:
		return "(" + method + ")"
	}
}
