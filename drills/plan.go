package drills

import (
	"slices"
	"time"
)

// Milestone marks a step whose end stamps a point of the drill's timeline.
type Milestone string

// Milestones. RTO actual = T1 (restored) - T0 (disaster).
const (
	MilestoneDisaster Milestone = "disaster"
	MilestoneRestored Milestone = "restored"
)

// Plan is one drill scenario: which services fail over from which site to which, and how.
type Plan struct {
	Name        string
	Description string
	// File is the name the plan was parsed from; SHA256 the hex digest of its source bytes.
	File   string
	SHA256 string
	// From is the site that is lost; To the site that takes over.
	From string
	To   string
	// Services are the services the drill fails over. Every dependency of each must be here too.
	Services []string
	Steps    []*Step
	// Rollback steps return the estate to its normal state (fail back to the primary). They
	// run after an abort (an operator's or a stop condition's), and after a step failure once
	// the disaster step has started; every rollback step is attempted even when one fails.
	Rollback []*Step
	// NoRollbackReason is set when the plan says rollback = "none": why a drill that fails
	// after its disaster step may leave the sites failed over. A plan with a disaster step
	// has rollback steps or this reason.
	NoRollbackReason string
	// Cleanup steps run at the end of every run that got past pre-flight, whatever its
	// outcome (after the rollback, when there was one): remove test data, re-enable alerts.
	Cleanup []*Step
	// StopWhen holds the conditions that abort the run when breached; nil when the plan
	// declares none.
	StopWhen *StopConditions
	// Probes are URLs polled for the whole run: what users saw during the failover.
	Probes []*Probe
	// Approval is the plan's approval policy (its approval block); it wins over the estate's
	// default, and a schedule's own policy wins over it.
	Approval ApprovalPolicy
	// Participants are the people the drill intends to take part (participant blocks): a run
	// records who attended against them.
	Participants []*Participant
	Pos          Pos
	// AttrPos records where each attribute of the plan block (from, to, services, ...) was
	// written, so that validation can point at it.
	AttrPos map[string]Pos
}

// Participant is a person a plan intends to take part in its drills, and their part.
type Participant struct {
	Name string
	// Role is the part they play ("incident commander", "dba").
	Role string
	Pos  Pos
}

// Participant returns the participant named name, or nil.
func (p *Plan) Participant(name string) *Participant {
	for _, pp := range p.Participants {
		if pp.Name == name {
			return pp
		}
	}
	return nil
}

// Step is one action of a plan, as written.
type Step struct {
	Name   string
	Action string
	// Site is the site the action acts on; empty when the action has none.
	Site string
	// ForEach lists services; the step runs once per service, in the order the action's
	// spec asks for (dependencies first, or dependents first).
	ForEach   []string
	Milestone Milestone
	// Timeout bounds the step. Zero means the action's default.
	Timeout time.Duration
	// Budget is how long the step is expected to take at most, shorter than its timeout: a
	// step over its budget is recorded (a step_over_budget event) and, when the plan's
	// stop_when sets step_over_budget = true, aborts the run. Zero means none.
	Budget time.Duration
	// Parallel runs the instances of a for_each step concurrently: each instance starts as
	// soon as the instances of the services it depends on (in the action's order: its
	// dependencies, or for stop actions its dependents) have succeeded.
	Parallel bool
	// Params holds the action-specific attributes, already checked against the action's
	// ParamSpec: string, int64, bool, time.Duration, []string or map[string]string values.
	Params map[string]any
	Pos    Pos
	// ParamPos records where each parameter was written, for messages at run time.
	ParamPos map[string]Pos
	// AttrPos records where each fixed attribute (action, site, for_each, milestone,
	// timeout, budget, parallel) was written.
	AttrPos map[string]Pos
}

// String returns the string parameter name, or "".
func (s *Step) String(name string) string { v, _ := s.Params[name].(string); return v }

// Int returns the integer parameter name and whether it was set.
func (s *Step) Int(name string) (int64, bool) { v, ok := s.Params[name].(int64); return v, ok }

// Bool returns the boolean parameter name, or false.
func (s *Step) Bool(name string) bool { v, _ := s.Params[name].(bool); return v }

// Duration returns the duration parameter name, or zero.
func (s *Step) Duration(name string) time.Duration { v, _ := s.Params[name].(time.Duration); return v }

// Strings returns the list parameter name, or nil.
func (s *Step) Strings(name string) []string { v, _ := s.Params[name].([]string); return v }

// StringMap returns the map parameter name, or nil.
func (s *Step) StringMap(name string) map[string]string {
	v, _ := s.Params[name].(map[string]string)
	return v
}

// StepInstance is one execution unit of a step: the step itself, or one of its for_each
// services. Key is unique within a plan ("start-services[auth]").
type StepInstance struct {
	Step    *Step
	Service string
	Key     string
}

// Pos is a position in a source file, 1-based.
type Pos struct {
	File   string
	Line   int
	Column int
}

// DefaultProbeInterval is how often a probe polls when the plan does not say.
const DefaultProbeInterval = 200 * time.Millisecond

// Probe is a URL polled continuously through a drill, from before the disaster to the end:
// its record shows how long users could not be served, whatever the milestones say.
type Probe struct {
	Name string
	// URL may use {site} and {ingress} of Site; a GSLB address usually needs neither.
	URL          string
	Site         string
	Interval     time.Duration
	ExpectStatus int
	Pos          Pos
	AttrPos      map[string]Pos
}

// StopConditions are a plan's stop_when block: conditions evaluated throughout the run (by the
// runner, with its clock) whose breach aborts the run, which then rolls back. A zero field is
// a condition the plan does not set.
//
//	stop_when {
//	  probe_failures      = 5       # consecutive failed polls of any one plan probe...
//	  probe_grace         = "10m"   # ...counted from T0 + probe_grace (default: the plan's longest RTO objective)
//	  max_replication_lag = "10s"   # DR standby lag behind the primary, measured until T0
//	  step_over_budget    = true    # a step running past its budget aborts (else it is only recorded)
//	  rto_budget          = "2h"    # T0 to the restored milestone
//	}
type StopConditions struct {
	// ProbeFailures aborts the run when any plan probe fails this many polls in a row, counting
	// only polls from T0 + ProbeGrace on: the outage between T0 and the failover is expected,
	// a service still down after it is not.
	ProbeFailures int
	// ProbeGrace delays the probe count after T0. Zero means the longest RTO objective of
	// the plan's services (see EffectiveProbeGrace).
	ProbeGrace time.Duration
	// MaxReplicationLag aborts the run when a database the DR site replicates from the
	// primary lags more than this. Measured from the start of the run until T0: after the
	// disaster the primary is gone by design.
	MaxReplicationLag time.Duration
	// StepOverBudget aborts the run when a step runs past its budget.
	StepOverBudget bool
	// RTOBudget aborts the run when the restored milestone has not been reached this long
	// after T0.
	RTOBudget time.Duration
	Pos       Pos
	AttrPos   map[string]Pos
}

// EffectiveProbeGrace is the grace after T0 before probe failures count: ProbeGrace, or the
// longest RTO objective of the plan's services when it is zero.
func (p *Plan) EffectiveProbeGrace(cfg *Estate) time.Duration {
	if p.StopWhen != nil && p.StopWhen.ProbeGrace > 0 {
		return p.StopWhen.ProbeGrace
	}
	var grace time.Duration
	for _, n := range p.Services {
		if svc := cfg.Service(n); svc != nil {
			grace = max(grace, svc.RTO)
		}
	}
	return grace
}

// Sites returns the names of the sites the plan uses, without repeats: from, to, then the
// sites of its steps, rollback and cleanup steps and probes, in the order written.
func (p *Plan) Sites() []string {
	var out []string
	add := func(name string) {
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	add(p.From)
	add(p.To)
	for _, st := range slices.Concat(p.Steps, p.Rollback, p.Cleanup) {
		add(st.Site)
	}
	for _, pr := range p.Probes {
		add(pr.Site)
	}
	return out
}
