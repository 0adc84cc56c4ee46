// Package drills is firedrill's domain: the estate (sites and services), the plan language and
// its validation, the service dependency graph, the RTO/RPO arithmetic, and the regulator
// profile language with the compliance evaluation that judges an estate's drills against it.
//
// drills performs no I/O and imports nothing else of the project: it parses bytes that callers
// read, and computes with times that callers measured. Everything here is pure and deterministic,
// which is what lets plan validation run anywhere (CI, an editor, `firedrill plan validate`) and
// lets a report recompute a verdict from recorded facts alone.
package drills
