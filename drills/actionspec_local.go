package drills

import "time"

// The local family: actions that run where firedrill runs rather than on a site: a program,
// a person's step, a pause.

// Local action names.
const (
	ActionCommand = "command"
	ActionManual  = "manual"
	ActionWait    = "wait"
)

// localActionSpecs are the specs of the local family.
var localActionSpecs = []ActionSpec{
	{
		Name:     ActionCommand,
		Doc:      "Run a local program with arguments, environment and a timeout; its output is captured (bounded) as evidence. A non-zero exit fails the step.",
		Site:     SiteOptional,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"command":          {Type: ParamString, Required: true, Doc: "The program: a path, or a name looked up in PATH. No shell is involved."},
			"args":             {Type: ParamStrings, Doc: "Its arguments."},
			"env":              {Type: ParamStringMap, Doc: "Extra environment variables."},
			"dir":              {Type: ParamString, Doc: "The working directory, relative to the plan file. Defaults to the plan's directory."},
			"max_output_bytes": {Type: ParamInt, Range: true, Min: 1, Max: 64 << 20, Doc: "How much of stdout and of stderr is kept. Defaults to 65536."},
		},
		DefaultTimeout: 5 * time.Minute,
		Idempotent:     false,
		Aliases:        []string{"exec", "run", "shell", "script"},
	},
	{
		Name:     ActionManual,
		Doc:      "A step a person performs (\"call the VAN operator\"): the run waits until an authorised user marks it done or failed; who and when is recorded.",
		Site:     SiteOptional,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"instructions": {Type: ParamString, Required: true, Doc: "What the person must do, shown to them."},
		},
		DefaultTimeout: 24 * time.Hour,
		Idempotent:     false,
		Aliases:        []string{"human", "person", "operator"},
	},
	{
		Name:     ActionWait,
		Doc:      "Pause for a fixed time, for the rare plan that needs one (let caches expire, let DNS TTLs run out).",
		Site:     SiteForbidden,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"duration": {Type: ParamDuration, Required: true, Doc: "How long to wait."},
		},
		DefaultTimeout: 24 * time.Hour,
		Idempotent:     true,
		Aliases:        []string{"sleep", "pause", "delay"},
	},
}
