package drills

import "time"

// The Nomad family: a site's Nomad region and datacenter, through the Nomad API. Stopping a
// job, starting one, scaling it and waiting for it; draining a whole site (the data-centre fire)
// and returning it to service.

// Nomad action names.
const (
	ActionNomadStopJob     = "nomad.stop_job"
	ActionNomadRunJob      = "nomad.run_job"
	ActionNomadWaitHealthy = "nomad.wait_healthy"
	ActionNomadDrainSite   = "nomad.drain_site"
	ActionNomadUndrainSite = "nomad.undrain_site"
	ActionNomadScale       = "nomad.scale"
)

// nomadActionSpecs are the specs of the Nomad family.
var nomadActionSpecs = []ActionSpec{
	{
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
	{
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
	{
		Name:           ActionNomadWaitHealthy,
		Doc:            "Wait until each service's job has all allocations running and healthy and its latest deployment is successful.",
		Site:           SiteRequired,
		Services:       ServicesOptional,
		Order:          DependenciesFirst,
		Params:         map[string]ParamSpec{},
		DefaultTimeout: 5 * time.Minute,
		Idempotent:     true,
	},
	{
		Name:     ActionNomadDrainSite,
		Doc:      "Take every node of the site's datacenter out of service: drain it (its allocations stop) or only mark it ineligible. The whole-site loss that a data-centre fire is.",
		Site:     SiteRequired,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"mode":               {Type: ParamString, Doc: `"drain" (default: stop every allocation now) or "ineligible" (place nothing new, keep what runs).`},
			"deadline":           {Type: ParamDuration, Doc: "How long allocations may take to migrate before they are stopped. Defaults to 0: at once, as in a fire."},
			"ignore_system_jobs": {Type: ParamBool, Doc: "Leave system jobs running. Defaults to false."},
		},
		DefaultTimeout: 5 * time.Minute,
		Idempotent:     true,
	},
	{
		Name:           ActionNomadUndrainSite,
		Doc:            "Return every node of the site's datacenter to service: cancel drains and mark the nodes eligible. The usual rollback of nomad.drain_site.",
		Site:           SiteRequired,
		Services:       ServicesNone,
		Params:         map[string]ParamSpec{},
		DefaultTimeout: 5 * time.Minute,
		Idempotent:     true,
	},
	{
		Name:     ActionNomadScale,
		Doc:      "Set the count of each service's task group(s) on the site, e.g. to grow a warm-standby job to full size.",
		Site:     SiteRequired,
		Services: ServicesRequired,
		Order:    DependenciesFirst,
		Params: map[string]ParamSpec{
			"count": {Type: ParamInt, Required: true, Doc: "The wanted count."},
			"group": {Type: ParamString, Doc: "The task group to scale. Defaults to every group of the job."},
		},
		DefaultTimeout: time.Minute,
		Idempotent:     true,
	},
}
