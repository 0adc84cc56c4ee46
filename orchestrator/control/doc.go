// Package control holds every operation a person takes on firedrill (submit a run, approve,
// reject, abort, freeze, decide a step, pause a schedule, manage users, roles and tokens) and
// the views front ends read (runs with their evidence, approvals waiting, schedules, the
// calendar, services due).
//
// Each operation takes the authenticated Caller and a params struct, is authorized against
// the one role x operation table (Permissions), and is recorded with the caller's actor. The
// CLI (through the JSON API) and the web console are its only front ends; neither touches the
// store for an operation. control never executes a run: the engine's workers do.
//
// Errors are *Error values with a Category and a message safe to show to the caller; the
// internal cause stays wrapped for errors.As and the log.
package control
