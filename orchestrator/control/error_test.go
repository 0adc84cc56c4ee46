package control_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// A request with a field at fault names it, with the name the API gives it (a body field, a
// query or a path parameter), and says what is wrong in words.
func TestRefusalsNameTheField(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	kim, _ := f.person("kim", drills.RoleCompliance)
	tests := []struct {
		name  string
		call  func() error
		cat   control.Category
		field string
		msg   string
	}{
		{"ScheduleGet without a name", func() error { _, err := f.ctl.ScheduleGet(ctx, kim, ""); return err },
			control.CategoryInvalid, "name", "name is required"},
		{"UserGet without a name", func() error { _, err := f.ctl.UserGet(ctx, f.admin, ""); return err },
			control.CategoryInvalid, "name", "name is required"},
		{"RoleGrant without a user", func() error {
			_, err := f.ctl.RoleGrant(ctx, f.admin, &control.RoleChangeParams{Role: drills.RoleSRE})
			return err
		}, control.CategoryInvalid, "name", "name is required"},
		{"CalendarGet of a schedule nobody declares", func() error {
			_, err := f.ctl.CalendarGet(ctx, kim, &control.CalendarParams{From: start, To: start, Schedule: "nope"})
			return err
		}, control.CategoryNotFound, "schedule", `no schedule "nope"`},
		{"SchedulePause without a reason", func() error {
			_, err := f.ctl.SchedulePause(ctx, kim, &control.SchedulePauseParams{Name: "nightly"})
			return err
		}, control.CategoryInvalid, "reason", "reason is required"},
	}
	for _, tt := range tests {
		e := wantCategory(t, tt.name, tt.call(), tt.cat)
		if e.Field != tt.field || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("%s = field %q, message %q; want field %q and a message with %q", tt.name, e.Field, e.Message, tt.field, tt.msg)
		}
	}
}

// A second decision by the same person on a run says so, not that "the run already exists".
func TestSecondApprovalDecisionSaysWhoDecided(t *testing.T) {
	t.Parallel()
	f := setup(t, withDefaultApproval)
	ctx := context.Background()
	alice, _ := f.person("alice", drills.RoleSRE)
	bob, _ := f.person("bob", drills.RoleSRE)
	run := f.submit(alice)
	if _, err := f.ctl.RunApprove(ctx, bob, &control.ApprovalDecideParams{RunID: run.ID}); err != nil {
		t.Fatal(err)
	}
	for what, decide := range map[string]func(context.Context, *control.Caller, *control.ApprovalDecideParams) (*control.ApprovalOutcome, error){
		"approving again": f.ctl.RunApprove, "rejecting after approving": f.ctl.RunReject,
	} {
		_, err := decide(ctx, bob, &control.ApprovalDecideParams{RunID: run.ID})
		e := wantCategory(t, what, err, control.CategoryConflict)
		if want := "bob already decided on run " + run.ID; !strings.Contains(e.Message, want) {
			t.Errorf("%s: message %q, want it to say %q", what, e.Message, want)
		}
	}
	ops := f.operations(&store.OperationListParams{Target: run.ID, Outcome: store.OutcomeFailed})
	if len(ops) != 2 || ops[0].Actor != bob.Actor || !strings.Contains(ops[0].Message, "already decided") {
		t.Errorf("recorded refusals = %+v; want bob's two, saying he already decided", ops)
	}
}

// When the database fails, every operation answers "internal error" and nothing of the cause
// (the SQL error, the database's name): the cause stays wrapped for the log.
func TestInternalErrorsSayNothingOfTheCause(t *testing.T) {
	t.Parallel()
	f := setup(t, withDefaultApproval)
	ctx := context.Background()
	alice, aliceTok := f.person("alice", drills.RoleSRE)
	kim, _ := f.person("kim", drills.RoleCompliance)
	run := f.submit(alice)
	closed, err := store.Open(ctx, store.Config{DatabaseURL: f.dsn, Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	ctl, err := control.New(control.Config{Store: closed, Clock: f.clk, Estate: &control.Estate{Path: estatePath, Estate: f.estate, Source: f.src}})
	if err != nil {
		t.Fatal(err)
	}
	dbName := f.dsn[strings.LastIndex(f.dsn, "/")+1:]
	if i := strings.IndexByte(dbName, '?'); i >= 0 {
		dbName = dbName[:i]
	}
	calls := map[string]func() error{
		"Authenticate": func() error { _, err := ctl.Authenticate(ctx, aliceTok, drills.ViaAPI); return err },
		"RunSubmit": func() error {
			_, err := ctl.RunSubmit(ctx, alice, &control.RunSubmitParams{PlanFile: planFile, PlanSource: f.planSrc})
			return err
		},
		"RunGet":     func() error { _, err := ctl.RunGet(ctx, alice, run.ID); return err },
		"RunListGet": func() error { _, err := ctl.RunListGet(ctx, alice, &control.RunListParams{}); return err },
		"RunApprove": func() error {
			_, err := ctl.RunApprove(ctx, kim, &control.ApprovalDecideParams{RunID: run.ID})
			return err
		},
		"RunAbort": func() error {
			_, err := ctl.RunAbort(ctx, alice, &control.RunAbortParams{RunID: run.ID, Reason: "x"})
			return err
		},
		"ApprovalsWaiting": func() error { _, err := ctl.ApprovalsWaiting(ctx, kim); return err },
		"FreezeOn":         func() error { _, err := ctl.FreezeOn(ctx, kim, &control.FreezeOnParams{Reason: "x"}); return err },
		"SchedulePause": func() error {
			_, err := ctl.SchedulePause(ctx, kim, &control.SchedulePauseParams{Name: "nightly", Reason: "x"})
			return err
		},
		"ScheduleGet": func() error { _, err := ctl.ScheduleGet(ctx, kim, "nightly"); return err },
		"UserCreate": func() error {
			_, err := ctl.UserCreate(ctx, f.admin, &control.UserCreateParams{Name: "zed", Roles: []string{"sre"}})
			return err
		},
		"TokenCreate": func() error {
			_, err := ctl.TokenCreate(ctx, f.admin, &control.TokenCreateParams{User: "alice"})
			return err
		},
	}
	for name, call := range calls {
		err := call()
		var e *control.Error
		if !errors.As(err, &e) || e.Category != control.CategoryInternal || e.Message != "internal error" || e.Err == nil {
			t.Errorf("%s over a closed database = %#v; want internal, \"internal error\", the cause wrapped", name, err)
			continue
		}
		if strings.Contains(e.Error(), "sql") || strings.Contains(e.Error(), dbName) {
			t.Errorf("%s: message %q tells of the cause", name, e.Error())
		}
	}
}
