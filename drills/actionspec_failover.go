package drills

import "time"

// failoverActionSpecs are the actions beyond the first Nomad and HTTP ones: whole-site loss,
// database promotion, webhooks, local commands, people and pauses.
var failoverActionSpecs = map[string]ActionSpec{
	ActionNomadDrainSite: {
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
	ActionNomadUndrainSite: {
		Name:           ActionNomadUndrainSite,
		Doc:            "Return every node of the site's datacenter to service: cancel drains and mark the nodes eligible. The usual rollback of nomad.drain_site.",
		Site:           SiteRequired,
		Services:       ServicesNone,
		Params:         map[string]ParamSpec{},
		DefaultTimeout: 5 * time.Minute,
		Idempotent:     true,
	},
	ActionNomadScale: {
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
	ActionPostgresPromote: {
		Name:     ActionPostgresPromote,
		Doc:      "Promote the site's streaming standby of a database with pg_promote and wait until it commits a write. A database that is not in recovery is refused (already primary) and left untouched.",
		Site:     SiteRequired,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"database": {Type: ParamString, Required: true, Doc: "Name of the site's postgres block to promote."},
		},
		DefaultTimeout: 3 * time.Minute,
		// A re-run cannot tell its own earlier promotion from someone else's: it refuses as
		// already primary, so an interrupted step needs an operator.
		Idempotent: false,
	},
	ActionPostgresCheckReplication: {
		Name:     ActionPostgresCheckReplication,
		Doc:      "Measure how far the site's standby of a database lags behind the same database on the plan's from site, in bytes and in time; fail when it is not a streaming standby or a limit is exceeded.",
		Site:     SiteRequired,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"database":          {Type: ParamString, Required: true, Doc: "Name of the postgres block, on both the step's site (the standby) and the plan's from site (the primary)."},
			"max_lag":           {Type: ParamDuration, Doc: "Largest acceptable replay lag in time. Unset: not checked."},
			"max_lag_bytes":     {Type: ParamInt, Doc: "Largest acceptable replay lag in bytes of WAL. Unset: not checked."},
			"require_streaming": {Type: ParamBool, Doc: "Fail when the standby has no WAL receiver streaming from its primary. Defaults to true."},
		},
		DefaultTimeout: time.Minute,
		Idempotent:     true,
	},
	ActionHTTPCall: {
		Name:     ActionHTTPCall,
		Doc:      "Call a URL once (a webhook: switch a GSLB or DNS record, page a team). {site} and {ingress} in the URL are filled from the step's site.",
		Site:     SiteOptional,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"url":              {Type: ParamString, Required: true, Doc: "The URL to call."},
			"method":           {Type: ParamString, Doc: "The HTTP method. Defaults to POST."},
			"body":             {Type: ParamString, Doc: "The request body."},
			"headers":          {Type: ParamStringMap, Doc: "Request headers, literal values."},
			"headers_from_env": {Type: ParamStringMap, Doc: "Request headers whose values are read from the named environment variables (secrets: never recorded)."},
			"expect_status":    {Type: ParamInt, Doc: "The status that means success. Defaults to any 2xx."},
		},
		DefaultTimeout: 30 * time.Second,
		Idempotent:     false,
	},
	ActionCommand: {
		Name:     ActionCommand,
		Doc:      "Run a local program with arguments, environment and a timeout; its output is captured (bounded) as evidence. A non-zero exit fails the step.",
		Site:     SiteOptional,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"command":          {Type: ParamString, Required: true, Doc: "The program: a path, or a name looked up in PATH. No shell is involved."},
			"args":             {Type: ParamStrings, Doc: "Its arguments."},
			"env":              {Type: ParamStringMap, Doc: "Extra environment variables."},
			"dir":              {Type: ParamString, Doc: "The working directory, relative to the plan file. Defaults to the plan's directory."},
			"max_output_bytes": {Type: ParamInt, Doc: "How much of stdout and of stderr is kept. Defaults to 65536."},
		},
		DefaultTimeout: 5 * time.Minute,
		Idempotent:     false,
	},
	ActionManual: {
		Name:     ActionManual,
		Doc:      "A step a person performs (\"call the VAN operator\"): the run waits until an authorised user marks it done or failed; who and when is recorded.",
		Site:     SiteOptional,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"instructions": {Type: ParamString, Required: true, Doc: "What the person must do, shown to them."},
		},
		DefaultTimeout: 24 * time.Hour,
		Idempotent:     false,
	},
	ActionWait: {
		Name:     ActionWait,
		Doc:      "Pause for a fixed time, for the rare plan that needs one (let caches expire, let DNS TTLs run out).",
		Site:     SiteForbidden,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"duration": {Type: ParamDuration, Required: true, Doc: "How long to wait."},
		},
		DefaultTimeout: 24 * time.Hour,
		Idempotent:     true,
	},
}
