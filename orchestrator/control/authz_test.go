package control_test

import (
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

func TestPermissionsNameKnownRoles(t *testing.T) {
	t.Parallel()
	for op, roles := range control.Permissions {
		if len(roles) == 0 {
			t.Errorf("operation %s: no role may take it", op)
		}
		for _, r := range roles {
			if !drills.IsRole(r) {
				t.Errorf("operation %s: unknown role %q", op, r)
			}
		}
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	alice := drills.Actor{Kind: drills.ActorUser, Name: "alice", Via: drills.ViaAPI}
	for _, op := range control.Operations() {
		for _, role := range drills.Roles {
			err := control.Authorize(&control.Caller{Actor: alice, Roles: []string{role}}, op)
			want := control.Allowed(op, []string{role})
			if (err == nil) != want {
				t.Errorf("Authorize(%s, %s) = %v, want allowed=%v", role, op, err, want)
			}
			if err != nil && control.CategoryOf(err) != control.CategoryForbidden {
				t.Errorf("Authorize(%s, %s) category = %s, want forbidden", role, op, control.CategoryOf(err))
			}
		}
		if err := control.Authorize(nil, op); control.CategoryOf(err) != control.CategoryUnauthenticated {
			t.Errorf("Authorize(nil, %s) = %v, want unauthenticated", op, err)
		}
		// Roles count only for a person firedrill authenticated.
		for _, a := range []drills.Actor{
			{Kind: drills.ActorLocal, Name: "ops", Via: drills.ViaCLI},
			{Kind: drills.ActorSchedule, Name: "nightly"},
			{Kind: drills.ActorSystem, Name: "freeze"},
		} {
			if err := control.Authorize(&control.Caller{Actor: a, Roles: drills.Roles}, op); control.CategoryOf(err) != control.CategoryUnauthenticated {
				t.Errorf("Authorize(%s with every role, %s) = %v, want unauthenticated", a, op, err)
			}
		}
	}
}

// A scope names a role the table grants its operation, and narrows a caller who holds that
// role alone among the operation's.
func TestScopes(t *testing.T) {
	t.Parallel()
	for op, sc := range control.Scopes {
		if !control.Allowed(op, []string{sc.Role}) || sc.Reaches == "" {
			t.Errorf("scope of %s: %+v names a role the table does not grant it, or reaches nothing", op, sc)
		}
	}
	who := func(roles ...string) *control.Caller {
		return &control.Caller{Actor: drills.Actor{Kind: drills.ActorUser, Name: "kim", Via: drills.ViaAPI}, Roles: roles}
	}
	for _, tt := range []struct {
		caller *control.Caller
		want   bool
	}{
		{who(drills.RoleAuditor), true},
		{who(drills.RoleAuditor, drills.RoleSRE), true}, // sre reads runs, not reports
		{who(drills.RoleAuditor, drills.RoleCompliance), false},
		{who(drills.RoleViewer), false},
		{who(), false},
		{nil, false},
	} {
		if got := control.Scoped(control.OpReportRead, tt.caller); got != tt.want {
			t.Errorf("Scoped(report.read, %v) = %t, want %t", tt.caller, got, tt.want)
		}
	}
	if control.Scoped(control.OpRunRead, who(drills.RoleAuditor, drills.RoleSRE)) || !control.Scoped(control.OpRunRead, who(drills.RoleAuditor)) {
		t.Error("run.read: an auditor who is also an SRE is narrowed, or an auditor alone is not")
	}
	if control.Scoped(control.OpFindingRead, who(drills.RoleAuditor)) {
		t.Error("an operation without a scope narrows an auditor")
	}
}
