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

// Action names.
const (
	ActionNomadStopJob     = "nomad.stop_job"
	ActionNomadRunJob      = "nomad.run_job"
	ActionNomadWaitHealthy = "nomad.wait_healthy"
	ActionHTTPWaitHealthy  = "http.wait_healthy"

	ActionNomadDrainSite           = "nomad.drain_site"
	ActionNomadUndrainSite         = "nomad.undrain_site"
	ActionNomadScale               = "nomad.scale"
	ActionPostgresPromote          = "postgres.promote"
	ActionPostgresCheckReplication = "postgres.check_replication"
	ActionHTTPCall                 = "http.call"
	ActionCommand                  = "command"
	ActionManual                   = "manual"
	ActionWait                     = "wait"
)

// actionSpecs lists every action the plan language accepts, by name.
var actionSpecs = map[string]ActionSpec{
	ActionNomadStopJob: {
		Name:     ActionNomadStopJob,
		Doc:      "Deregister (stop) each service's Nomad job on the site.",
		Site:     SiteRequired,
		Services: ServicesRequired,
		Order:    DependentsFirst,
		Params: map[string]ParamSpec{
			"purge": {Type: ParamBool, Doc: "Also purge the job from the site's state. Defaults to false."},
		},
		DefaultTimeout: time.Minute,
		Idempotent:     true,
	},
	ActionNomadRunJob: {
		Name:     ActionNomadRunJob,
		Doc:      "Start each service's Nomad job on the site: register the jobspec file when given, otherwise re-register the job the site already knows (a pilot-light job) with Stop cleared.",
		Site:     SiteRequired,
		Services: ServicesRequired,
		Order:    DependenciesFirst,
		Params: map[string]ParamSpec{
			"jobspec": {Type: ParamString, Doc: "Path of a JSON jobspec, relative to the plan file; {service} is replaced by the service name."},
			"count":   {Type: ParamInt, Doc: "Count for every task group. Defaults to the job's own count, or 1 where that is 0."},
		},
		DefaultTimeout: time.Minute,
		Idempotent:     true,
	},
	ActionNomadWaitHealthy: {
		Name:           ActionNomadWaitHealthy,
		Doc:            "Wait until each service's job has all allocations running and healthy and its latest deployment is successful.",
		Site:           SiteRequired,
		Services:       ServicesOptional,
		Order:          DependenciesFirst,
		Params:         map[string]ParamSpec{},
		DefaultTimeout: 5 * time.Minute,
		Idempotent:     true,
	},
	ActionHTTPWaitHealthy: {
		Name:     ActionHTTPWaitHealthy,
		Doc:      "Poll every HTTP check of each service on the site until all pass; records the moment each service first passed.",
		Site:     SiteRequired,
		Services: ServicesOptional,
		Order:    DependenciesFirst,
		Params: map[string]ParamSpec{
			"interval": {Type: ParamDuration, Doc: "Polling interval, overriding each check's own."},
		},
		DefaultTimeout: 5 * time.Minute,
		Idempotent:     true,
	},
}

// LookupAction returns the spec of the named action.
func LookupAction(name string) (ActionSpec, bool) {
	if s, ok := actionSpecs[name]; ok {
		return s, true
	}
	s, ok := failoverActionSpecs[name]
	return s, ok
}

// ActionNames returns every known action name, sorted.
func ActionNames() []string {
	names := make([]string, 0, len(actionSpecs)+len(failoverActionSpecs))
	for n := range actionSpecs {
		names = append(names, n)
	}
	for n := range failoverActionSpecs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
