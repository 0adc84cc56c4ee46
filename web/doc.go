// Package web serves firedrill's HTTP front end: /healthz and the JSON API under /api/v1,
// described by the OpenAPI 3 document embedded from openapi.json and served at
// /api/v1/openapi.json; beside them, the console's routes (web/console) when Config.Console is
// set.
//
// web only translates. A handler authenticates the bearer token through control, decodes and
// validates the request (a JSON body of bounded size with no unknown fields, typed query
// parameters), calls the one control method of its route, which authorizes the caller against
// control.Permissions, and writes the view as JSON. Failures become statuses in one function
// (statusOf) and bodies of one shape ({"error": {"code", "message", "field"}}).
//
// web must not touch the store, decide who may do what, or hold any rule of its own about
// runs, approvals or users: those belong to orchestrator/control. It never logs or echoes a
// token, and a 5xx reply says only "internal error" while the cause goes to the log.
package web
