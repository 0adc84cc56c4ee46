// Package schema holds the JSON Schema of report.json, embedded so that tests, the verifier's
// users and the API can serve the very schema the bundle is held to.
package schema

import _ "embed"

// ReportJSON is report/schema/report.schema.json.
//
//go:embed report.schema.json
var ReportJSON []byte
