package drills

import (
	"slices"
	"strings"
	"time"

	"github.com/agext/levenshtein"
)

// ParamType is the type of an action parameter in the plan language.
type ParamType string

// Parameter types. Durations are written as strings ("30s", "1h").
const (
	ParamString    ParamType = "string"
	ParamInt       ParamType = "number"
	ParamBool      ParamType = "bool"
	ParamDuration  ParamType = "duration"
	ParamStrings   ParamType = "list(string)"
	ParamStringMap ParamType = "map(string)"
)

// ParamSpec describes one parameter of an action, and the values it accepts: ParsePlan
// refuses any other, so a plan never fails mid-drill on a value it could have refused.
type ParamSpec struct {
	Type     ParamType
	Required bool
	Doc      string
	// OneOf lists the values a string parameter accepts; empty means any.
	OneOf []string
	// Min and Max bound a number parameter, when Range is set.
	Range    bool
	Min, Max int64
	// Positive refuses a zero duration.
	Positive bool
	// FoldCase compares a string with OneOf regardless of case (HTTP methods).
	FoldCase bool
}

// ParamProblem is a combination of parameters an action refuses: Param names the one to
// point at.
type ParamProblem struct {
	Param string
	Msg   string
}

// Effect says what an action does to what it acts on, so that "did you mean" never proposes
// the opposite of what was written (nomad.start_job is nomad.run_job, never nomad.stop_job).
type Effect int

// Effects.
const (
	EffectNeutral Effect = iota
	// EffectStart brings something up: run, scale, undrain.
	EffectStart
	// EffectStop takes something down: stop, drain.
	EffectStop
)

// ForEachOrder says in which order a for_each step visits its services.
type ForEachOrder int

// Orders.
const (
	// DependenciesFirst starts a service only after the services it depends on.
	DependenciesFirst ForEachOrder = iota
	// DependentsFirst stops a service before the services it depends on.
	DependentsFirst
)

// SiteRule says whether an action needs a site.
type SiteRule int

// Site rules.
const (
	SiteRequired SiteRule = iota
	SiteForbidden
	SiteOptional
)

// ServiceRule says whether an action acts on services.
type ServiceRule int

// Service rules.
const (
	// ServicesNone: the action does not take for_each.
	ServicesNone ServiceRule = iota
	// ServicesRequired: the action needs for_each.
	ServicesRequired
	// ServicesOptional: without for_each the action covers every service of the plan.
	ServicesOptional
)

// ActionSpec is what the plan language knows of an action: enough to validate a plan
// without running anything. The implementation lives in orchestrator/actions.
type ActionSpec struct {
	Name     string
	Doc      string
	Site     SiteRule
	Services ServiceRule
	Order    ForEachOrder
	Params   map[string]ParamSpec
	// DefaultTimeout applies when the step does not set one.
	DefaultTimeout time.Duration
	// Idempotent actions may be re-run after a crash; others are never repeated blindly.
	Idempotent bool
	// Effect is what the action does to what it acts on.
	Effect Effect
	// Aliases are other names people write for the action ("start_job" for nomad.run_job),
	// without the family: "did you mean" matches them too.
	Aliases []string
}

// combinations report, per action, the combinations of parameters (already type-checked)
// the action refuses. Kept beside the specs rather than in them, so that specs stay
// comparable values.
var combinations = map[string]func(params map[string]any) []ParamProblem{
	ActionNomadDrainSite: drainCombine,
	ActionHTTPCall:       callCombine,
}

// actionSpecs lists every action the plan language accepts, by name: one registry built from
// the families (actionspec_<family>.go), each holding its own specs.
var actionSpecs = registryOf(nomadActionSpecs, postgresActionSpecs, httpActionSpecs, localActionSpecs)

// registryOf indexes the families' specs by name. Two specs of one name are a programming
// error, caught when the package is initialised.
func registryOf(families ...[]ActionSpec) map[string]ActionSpec {
	m := map[string]ActionSpec{}
	for _, family := range families {
		for _, s := range family {
			if _, dup := m[s.Name]; dup {
				panic("drills: two action specs named " + s.Name)
			}
			m[s.Name] = s
		}
	}
	return m
}

// LookupAction returns the spec of the named action.
func LookupAction(name string) (ActionSpec, bool) {
	s, ok := actionSpecs[name]
	return s, ok
}

// ActionNames returns every known action name, sorted.
func ActionNames() []string {
	names := make([]string, 0, len(actionSpecs))
	for n := range actionSpecs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Words that say what a misspelt action name means to do, for SuggestAction.
var (
	startWords = []string{"start", "run", "up", "enable", "resume", "register", "deploy", "launch", "undrain", "restore", "promote", "scale", "submit", "return", "failback"}
	stopWords  = []string{"stop", "kill", "down", "disable", "halt", "drain", "deregister", "destroy", "remove", "fail", "lose", "shutdown", "purge"}
)

// effectOfName guesses the effect of an action name from its words ("nomad.start_job": start).
func effectOfName(name string) Effect {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == '.' || r == '_' || r == '-' })
	for _, w := range words {
		switch {
		case slices.Contains(startWords, w):
			return EffectStart
		case slices.Contains(stopWords, w):
			return EffectStop
		}
	}
	return EffectNeutral
}

// SuggestAction returns the known action a mistyped name most likely means, or "" when none
// is close. It matches each action's name and aliases, with and without the family, and never
// proposes an action of the opposite effect: nomad.start_job suggests nomad.run_job, never
// nomad.stop_job.
func SuggestAction(name string) string {
	want := effectOfName(name)
	best, bestDist := "", 0
	for _, spec := range actionSpecs {
		if want != EffectNeutral && spec.Effect != EffectNeutral && spec.Effect != want {
			continue
		}
		family, verb, hasFamily := strings.Cut(spec.Name, ".")
		forms := []string{spec.Name}
		if hasFamily {
			forms = append(forms, verb)
		}
		for _, a := range spec.Aliases {
			forms = append(forms, a)
			if hasFamily {
				forms = append(forms, family+"."+a)
			}
		}
		for _, f := range forms {
			d := levenshtein.Distance(strings.ToLower(name), f, nil)
			near := d < len(f) && (d <= 2 || (d <= 3 && d*3 <= len(f)))
			if near && (best == "" || d < bestDist || (d == bestDist && spec.Name < best)) {
				best, bestDist = spec.Name, d
			}
		}
	}
	return best
}
