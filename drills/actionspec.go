package drills

import (
	"slices"
	"time"
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

// ParamSpec describes one parameter of an action.
type ParamSpec struct {
	Type     ParamType
	Required bool
	Doc      string
}

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
