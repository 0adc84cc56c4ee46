package drills

import "time"

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
	// Rollback steps return the estate to its normal state after an abort.
	Rollback []*Step
	// Probes are URLs polled for the whole run: what users saw during the failover.
	Probes []*Probe
	Pos    Pos
	// AttrPos records where each attribute of the plan block (from, to, services, ...) was
	// written, so that validation can point at it.
	AttrPos map[string]Pos
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
	// Params holds the action-specific attributes, already checked against the action's
	// ParamSpec: string, int64, bool, time.Duration, []string or map[string]string values.
	Params map[string]any
	Pos    Pos
	// ParamPos records where each parameter was written, for messages at run time.
	ParamPos map[string]Pos
	// AttrPos records where each fixed attribute (action, site, for_each, milestone,
	// timeout) was written.
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
