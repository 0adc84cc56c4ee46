package drills

import (
	"strings"
	"time"
)

// The HTTP family: waiting until a site's services pass their HTTP checks, and calling a URL
// once (a webhook that switches a GSLB or DNS record, pages a team).

// HTTP action names.
const (
	ActionHTTPWaitHealthy = "http.wait_healthy"
	ActionHTTPCall        = "http.call"
)

// httpActionSpecs are the specs of the HTTP family.
var httpActionSpecs = []ActionSpec{
	{
		Name:     ActionHTTPWaitHealthy,
		Doc:      "Poll every HTTP check of each service on the site until all pass; records the moment each service first passed.",
		Site:     SiteRequired,
		Services: ServicesOptional,
		Order:    DependenciesFirst,
		Params: map[string]ParamSpec{
			"interval": {Type: ParamDuration, Positive: true, Doc: "Polling interval, overriding each check's own."},
		},
		DefaultTimeout: 5 * time.Minute,
		Idempotent:     true,
		Aliases:        []string{"wait", "check", "wait_ready", "healthcheck"},
	},
	{
		Name:     ActionHTTPCall,
		Doc:      "Call a URL once (a webhook: switch a GSLB or DNS record, page a team). {site} and {ingress} in the URL are filled from the step's site.",
		Site:     SiteOptional,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"url":              {Type: ParamString, Required: true, Doc: "The URL to call."},
			"method":           {Type: ParamString, OneOf: []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}, FoldCase: true, Doc: "The HTTP method. Defaults to POST."},
			"body":             {Type: ParamString, Doc: "The request body."},
			"headers":          {Type: ParamStringMap, Doc: "Request headers, literal values."},
			"headers_from_env": {Type: ParamStringMap, Doc: "Request headers whose values are read from the named environment variables (secrets: never recorded)."},
			"expect_status":    {Type: ParamInt, Range: true, Min: 100, Max: 599, Doc: "The status that means success. Defaults to any 2xx."},
		},
		DefaultTimeout: 30 * time.Second,
		Idempotent:     false,
		Aliases:        []string{"webhook", "request", "post", "get"},
	},
}

// callCombine refuses a body on a method that sends none: the server would never see it.
func callCombine(params map[string]any) []ParamProblem {
	method, _ := params["method"].(string)
	if _, body := params["body"]; body && (strings.EqualFold(method, "GET") || strings.EqualFold(method, "HEAD")) {
		return []ParamProblem{{Param: "body", Msg: "body: a " + strings.ToUpper(method) + " request sends no body: remove body or use method = \"POST\""}}
	}
	return nil
}
