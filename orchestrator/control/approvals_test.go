package control_test

import (
	"context"
	"slices"
	"testing"

	"github.com/firedrill/firedrill/drills"
)

// What waits for approval says what its plan will touch: the services and the steps of the
// plan version the run was submitted with.
func TestApprovalsWaitingOutlineThePlan(t *testing.T) {
	t.Parallel()
	f := setup(t, withDefaultApproval)
	alice, _ := f.person("alice", drills.RoleSRE)
	bob, _ := f.person("bob", drills.RoleSRE)
	run := f.submit(alice)
	waiting, err := f.ctl.ApprovalsWaiting(context.Background(), bob)
	if err != nil || len(waiting) != 1 || waiting[0].Run.ID != run.ID {
		t.Fatalf("ApprovalsWaiting = %+v, %v", waiting, err)
	}
	o := waiting[0].Plan
	if o == nil {
		t.Fatal("no plan outline")
	}
	var steps []string
	for _, s := range o.Steps {
		steps = append(steps, s.Name)
	}
	if !slices.Equal(o.Services, []string{"auth"}) || !slices.Equal(steps, []string{"lose-sangam", "start", "verify"}) ||
		o.RollbackSteps != 0 || o.NoRollbackReason == "" {
		t.Errorf("outline = %+v (steps %v)", o, steps)
	}
}
