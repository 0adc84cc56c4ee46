package drills

import (
	"fmt"
	"time"
)

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
		Effect:         EffectStop,
		Aliases:        []string{"deregister_job", "kill_job", "halt_job"},
	},
	{
		Name:     ActionNomadRunJob,
		Doc:      "Start each service's Nomad job on the site: register the jobspec file when given, otherwise re-register the job the site already knows (a pilot-light job) with Stop cleared.",
		Site:     SiteRequired,
		Services: ServicesRequired,
		Order:    DependenciesFirst,
		Params: map[string]ParamSpec{
			"jobspec": {Type: ParamString, Doc: "Path of a JSON jobspec, relative to the plan file; {service} is replaced by the service name."},
			"count":   {Type: ParamInt, Range: true, Min: 1, Max: maxCount, Doc: "Count for every task group. Defaults to the job's own count, or 1 where that is 0."},
		},
		DefaultTimeout: time.Minute,
		Idempotent:     true,
		Effect:         EffectStart,
		Aliases:        []string{"start_job", "register_job", "deploy_job", "submit_job"},
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
		Aliases:        []string{"wait_job", "wait_ready", "wait_running"},
	},
	{
		Name:     ActionNomadDrainSite,
		Doc:      "Take every node of the site's datacenter out of service: drain it (its allocations stop) or only mark it ineligible. The whole-site loss that a data-centre fire is.",
		Site:     SiteRequired,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"mode":               {Type: ParamString, OneOf: []string{"drain", "ineligible"}, Doc: `"drain" (default: stop every allocation now) or "ineligible" (place nothing new, keep what runs).`},
			"deadline":           {Type: ParamDuration, Doc: "How long allocations may take to migrate before they are stopped. Defaults to 0: at once, as in a fire."},
			"ignore_system_jobs": {Type: ParamBool, Doc: "Leave system jobs running. Defaults to false."},
		},
		DefaultTimeout: 5 * time.Minute,
		Idempotent:     true,
		Effect:         EffectStop,
		Aliases:        []string{"drain", "drain_nodes", "fail_site", "lose_site", "kill_site"},
	},
	{
		Name:           ActionNomadUndrainSite,
		Doc:            "Return every node of the site's datacenter to service: cancel drains and mark the nodes eligible. The usual rollback of nomad.drain_site.",
		Site:           SiteRequired,
		Services:       ServicesNone,
		Params:         map[string]ParamSpec{},
		DefaultTimeout: 5 * time.Minute,
		Idempotent:     true,
		Effect:         EffectStart,
		Aliases:        []string{"undrain", "undrain_nodes", "restore_site", "enable_site", "return_site"},
	},
	{
		Name:     ActionNomadScale,
		Doc:      "Set the count of each service's task group(s) on the site, e.g. to grow a warm-standby job to full size.",
		Site:     SiteRequired,
		Services: ServicesRequired,
		Order:    DependenciesFirst,
		Params: map[string]ParamSpec{
			"count": {Type: ParamInt, Required: true, Range: true, Min: 0, Max: maxCount, Doc: "The wanted count."},
			"group": {Type: ParamString, Doc: "The task group to scale. Defaults to every group of the job."},
		},
		DefaultTimeout: time.Minute,
		Idempotent:     true,
		Effect:         EffectStart,
		Aliases:        []string{"scale_job", "set_count"},
	},
}

// maxCount bounds the count parameters: far above any real task group, low enough to catch a
// typo that would ask a DR site for a million allocations.
const maxCount = 10000

// drainCombine refuses the parameters that only a real drain uses when mode = "ineligible":
// they would be silently ignored.
func drainCombine(params map[string]any) []ParamProblem {
	if params["mode"] != "ineligible" {
		return nil
	}
	var out []ParamProblem
	for _, p := range []string{"deadline", "ignore_system_jobs"} {
		if _, set := params[p]; set {
			out = append(out, ParamProblem{Param: p, Msg: fmt.Sprintf("%s: only a drain uses it, and mode = \"ineligible\" stops nothing: remove %s or use mode = \"drain\"", p, p)})
		}
	}
	return out
}
