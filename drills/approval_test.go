package drills_test

import (
	"slices"
	"testing"

	"github.com/firedrill/firedrill/drills"
)

func TestMatchApprovers(t *testing.T) {
	t.Parallel()
	sre := func(n string) drills.Approver { return drills.Approver{Name: n, Roles: []string{"sre"}} }
	comp := func(n string) drills.Approver { return drills.Approver{Name: n, Roles: []string{"compliance"}} }
	both := func(n string) drills.Approver { return drills.Approver{Name: n, Roles: []string{"sre", "compliance"}} }
	tests := []struct {
		name      string
		roles     []string
		approvers []drills.Approver
		requester string
		want      bool
		missing   []string
	}{
		{name: "no policy", want: true},
		{name: "one of each", roles: []string{"sre", "compliance"}, approvers: []drills.Approver{sre("alice"), comp("kim")}, want: true},
		{name: "one person with both roles is one person", roles: []string{"sre", "compliance"}, approvers: []drills.Approver{both("alice")}, missing: []string{"compliance"}},
		{name: "the requester cannot approve", roles: []string{"sre", "compliance"}, approvers: []drills.Approver{sre("alice"), comp("kim")}, requester: "alice", missing: []string{"sre"}},
		{name: "the same person twice counts once", roles: []string{"sre", "sre"}, approvers: []drills.Approver{sre("alice"), sre("alice")}, missing: []string{"sre"}},
		// Greedy would give alice's approval to sre and leave compliance uncovered.
		{name: "order does not matter", roles: []string{"sre", "compliance"}, approvers: []drills.Approver{both("alice"), sre("bob")}, want: true},
		{name: "nobody yet", roles: []string{"sre"}, missing: []string{"sre"}},
	}
	for _, tt := range tests {
		ok, missing := drills.MatchApprovers(tt.roles, tt.approvers, tt.requester)
		if ok != tt.want || !slices.Equal(missing, tt.missing) {
			t.Errorf("%s: MatchApprovers = %v, %v; want %v, %v", tt.name, ok, missing, tt.want, tt.missing)
		}
	}
}
