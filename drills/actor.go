package drills

import (
	"fmt"
	"slices"
	"strings"
)

// Roles people hold. An approval policy names roles; the authorization table of
// orchestrator/control says what each role may do.
const (
	RoleAdmin      = "admin"
	RoleSRE        = "sre"
	RoleCompliance = "compliance"
	// RoleAuditor reads runs, evidence and reports, and changes nothing.
	RoleAuditor = "auditor"
	// RoleViewer reads runs, schedules and the calendar, and changes nothing.
	RoleViewer = "viewer"
)

// Roles lists every role, sorted.
var Roles = []string{RoleAdmin, RoleAuditor, RoleCompliance, RoleSRE, RoleViewer}

// IsRole reports whether r names a role.
func IsRole(r string) bool { return slices.Contains(Roles, r) }

// ActorKind says what kind of party acted.
type ActorKind string

// Actor kinds.
const (
	// ActorUser is an authenticated person (an API token, a console session).
	ActorUser ActorKind = "user"
	// ActorLocal is a person at a firedrill host working on an embedded database without a
	// server (firedrill run, demo): not authenticated; Name is the operating-system user.
	ActorLocal ActorKind = "local"
	// ActorSchedule is a schedule of the estate; Name is the schedule's name.
	ActorSchedule ActorKind = "schedule"
	// ActorSystem is firedrill itself (housekeeping, a freeze's abort, the demo).
	ActorSystem ActorKind = "system"
	// ActorStopCondition is a stop condition of a plan; Name is the condition.
	ActorStopCondition ActorKind = "stop_condition"
)

// ActorKinds lists every actor kind.
var ActorKinds = []ActorKind{ActorUser, ActorLocal, ActorSchedule, ActorSystem, ActorStopCondition}

// Via is the channel a person acted through.
type Via string

// Channels.
const (
	ViaCLI Via = "cli"
	ViaAPI Via = "api"
	ViaWeb Via = "web"
	// ViaConsole is the server-rendered console, signed in with a session (a password or
	// the bank's identity provider), not a token.
	ViaConsole Via = "console"
)

// Actor is who or what acted, as stored with every operation and run. It is a typed value,
// never parsed out of a string.
type Actor struct {
	Kind ActorKind `json:"kind"`
	// Name is the user, schedule, condition or component.
	Name string `json:"name"`
	// Via is the channel of a person (user or local); empty for the others.
	Via Via `json:"via,omitempty"`
	// TokenID identifies the API token a user authenticated with; empty otherwise.
	TokenID string `json:"token_id,omitempty"`
}

// IsPerson reports whether a person acted (authenticated or local).
func (a Actor) IsPerson() bool { return a.Kind == ActorUser || a.Kind == ActorLocal }

// Authenticated reports whether the actor is a person firedrill authenticated.
func (a Actor) Authenticated() bool { return a.Kind == ActorUser }

// IsZero reports whether no actor is set.
func (a Actor) IsZero() bool { return a == Actor{} }

// Validate checks that the actor is well formed.
func (a Actor) Validate() error {
	if !slices.Contains(ActorKinds, a.Kind) {
		return fmt.Errorf("actor kind %q is not one of %v", a.Kind, ActorKinds)
	}
	if strings.TrimSpace(a.Name) == "" {
		return fmt.Errorf("actor of kind %s: name is required", a.Kind)
	}
	switch a.Via {
	case "":
	case ViaCLI, ViaAPI, ViaWeb, ViaConsole:
		if !a.IsPerson() {
			return fmt.Errorf("actor %s %s: only a person acts via %s", a.Kind, a.Name, a.Via)
		}
	default:
		return fmt.Errorf("actor %s %s: via %q is not one of cli, api, web, console", a.Kind, a.Name, a.Via)
	}
	if a.TokenID != "" && a.Kind != ActorUser {
		return fmt.Errorf("actor %s %s: only an authenticated user has a token", a.Kind, a.Name)
	}
	return nil
}

// String says who acted, for people to read: "alice (via cli)", "schedule semiannual",
// "local user bob (unauthenticated)".
func (a Actor) String() string {
	switch a.Kind {
	case ActorUser:
		if a.Via != "" {
			return a.Name + " (via " + string(a.Via) + ")"
		}
		return a.Name
	case ActorLocal:
		return "local user " + a.Name + " (unauthenticated)"
	case ActorSchedule:
		return "schedule " + a.Name
	case ActorStopCondition:
		return "stop condition " + a.Name
	case ActorSystem:
		return a.Name
	}
	return string(a.Kind) + " " + a.Name
}
