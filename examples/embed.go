// Package examples holds the ready-made estate and plans, embedded so that `firedrill demo`
// runs from any directory with nothing but the binary.
package examples

import "embed"

// FS holds firedrill.hcl and plans/*.hcl.
//
//go:embed firedrill.hcl plans/*.hcl
var FS embed.FS
