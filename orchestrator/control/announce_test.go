package control_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// notifying gives the fixture's Control a notifier with one webhook channel whose outbox is
// outbox (the fixture's store, or another). The sender is never started: what an operation
// announced stays in the outbox for the test to read.
func (f *fixture) notifying(outbox *store.Store) {
	f.t.Helper()
	n, err := notify.New(notify.Config{
		Store: outbox, Clock: f.clk,
		Channels: []notify.Channel{{Name: "ops", Kind: notify.ChannelWebhook,
			Webhook: notify.WebhookChannel{URL: "http://127.0.0.1:1/hook", Key: secret.Ref{Env: "HOOK_KEY"}}}},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	ctl, err := control.New(control.Config{Store: f.st, Clock: f.clk, Notifier: n,
		Estate: &control.Estate{Path: estatePath, Estate: f.estate, Source: f.src}})
	if err != nil {
		f.t.Fatal(err)
	}
	f.ctl = ctl
}

// outbox returns the notifications queued for a run, with their payloads.
func (f *fixture) outbox(runID string) []notify.Payload {
	f.t.Helper()
	ns, err := f.st.NotificationList(context.Background(), runID)
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]notify.Payload, 0, len(ns))
	for _, n := range ns {
		var p notify.Payload
		if err := json.Unmarshal(n.Payload, &p); err != nil {
			f.t.Fatalf("notification %s payload %s: %v", n.ID, n.Payload, err)
		}
		if n.Event != string(p.Event) || n.Channel != "ops" || n.State != "pending" {
			f.t.Errorf("notification %+v: want event %s on channel ops, pending", n, p.Event)
		}
		out = append(out, p)
	}
	return out
}

func events(ps []notify.Payload) []notify.Kind {
	out := make([]notify.Kind, len(ps))
	for i, p := range ps {
		out[i] = p.Event
	}
	return out
}

// A run submitted through control that must wait for approval is announced as a fire's is:
// approval_needed, with the roles, the deadline and who asked. A rejection, an approval window
// that ended and an abort end such a run with no worker, so control announces run_ended; an
// approval that only moves the run on announces nothing.
func TestSubmittedRunAnnouncesApprovalNeeded(t *testing.T) {
	t.Parallel()
	f := setup(t, withDefaultApproval)
	f.notifying(f.st)
	ctx := context.Background()
	alice, _ := f.person("alice", drills.RoleSRE)
	bob, _ := f.person("bob", drills.RoleSRE)
	kim, _ := f.person("kim", drills.RoleCompliance)

	run := f.submit(alice)
	got := f.outbox(run.ID)
	if len(got) != 1 {
		t.Fatalf("outbox of the submitted run = %+v, want one approval_needed", got)
	}
	p := got[0]
	deadline := start.Add(drills.DefaultApprovalWithin)
	if p.Event != notify.EventApprovalNeeded || p.RunID != run.ID || p.Plan != "auth-failover" || p.State != "awaiting_approval" ||
		!p.At.Equal(run.CreatedAt) {
		t.Errorf("approval_needed = %+v", p)
	}
	wantReason := "from sre and compliance by " + deadline.Format(time.RFC3339) + "; requested by alice (via api)"
	if p.Reason != wantReason {
		t.Errorf("approval_needed reason = %q, want %q", p.Reason, wantReason)
	}
	if roles, _ := p.Fields["approval_roles"].([]any); len(roles) != 2 || roles[0] != "sre" || roles[1] != "compliance" ||
		p.Fields["deadline"] != deadline.Format(time.RFC3339) || p.Fields["requested_by"] != "alice (via api)" {
		t.Errorf("approval_needed fields = %v", p.Fields)
	}
	if _, ok := p.Fields["schedule"]; ok {
		t.Errorf("approval_needed of a submitted run names a schedule: %v", p.Fields)
	}

	// bob's approval leaves compliance missing: nothing new to say.
	if _, err := f.ctl.RunApprove(ctx, bob, &control.ApprovalDecideParams{RunID: run.ID}); err != nil {
		t.Fatal(err)
	}
	if got := f.outbox(run.ID); len(got) != 1 {
		t.Errorf("outbox after a partial approval = %v, want approval_needed only", events(got))
	}
	if _, err := f.ctl.RunReject(ctx, kim, &control.ApprovalDecideParams{RunID: run.ID, Comment: "audit week"}); err != nil {
		t.Fatal(err)
	}
	got = f.outbox(run.ID)
	if !slices.Equal(events(got), []notify.Kind{notify.EventApprovalNeeded, notify.EventRunEnded}) {
		t.Fatalf("outbox after the rejection = %v, want approval_needed then run_ended", events(got))
	}
	if e := got[1]; e.State != "blocked" || e.Reason != "rejected by kim: audit week" || e.Fields["executed"] != false {
		t.Errorf("run_ended of the rejected run = %+v", e)
	}

	// Approved by both: pending, for a worker, which announces what it does.
	approved := f.submit(alice)
	for _, c := range []*control.Caller{bob, kim} {
		if _, err := f.ctl.RunApprove(ctx, c, &control.ApprovalDecideParams{RunID: approved.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.outbox(approved.ID); !slices.Equal(events(got), []notify.Kind{notify.EventApprovalNeeded}) {
		t.Errorf("outbox of the approved run = %v, want approval_needed only", events(got))
	}

	aborted := f.submit(alice)
	if _, err := f.ctl.RunAbort(ctx, bob, &control.RunAbortParams{RunID: aborted.ID, Reason: "wrong plan"}); err != nil {
		t.Fatal(err)
	}
	if got := f.outbox(aborted.ID); len(got) != 2 || got[1].Event != notify.EventRunEnded || got[1].State != "aborted" ||
		!strings.Contains(got[1].Reason, "wrong plan") || got[1].Fields["aborted_by"] != "bob (via api)" {
		t.Errorf("outbox of the run aborted while awaiting approval = %+v", got)
	}

	// A freeze that aborts everything in flight ends the waiting run at once; the approved,
	// pending one ends with the worker that claims it, which announces it.
	frozen := f.submit(alice)
	if _, err := f.ctl.FreezeOn(ctx, kim, &control.FreezeOnParams{Reason: "incident", AbortRunning: true}); err != nil {
		t.Fatal(err)
	}
	if got := f.outbox(frozen.ID); len(got) != 2 || got[1].Event != notify.EventRunEnded || got[1].State != "aborted" {
		t.Errorf("outbox of the run a freeze aborted = %+v", got)
	}
	if got := f.outbox(approved.ID); len(got) != 1 {
		t.Errorf("outbox of the pending run after the freeze = %v; its worker announces its end", events(got))
	}
	if _, err := f.ctl.FreezeOff(ctx, kim); err != nil {
		t.Fatal(err)
	}

	// Past the deadline, an approval ends the run blocked instead.
	late := f.submit(alice)
	f.clk.Advance(drills.DefaultApprovalWithin + time.Minute)
	if _, err := f.ctl.RunApprove(ctx, bob, &control.ApprovalDecideParams{RunID: late.ID}); control.CategoryOf(err) != control.CategoryConflict {
		t.Fatalf("approving after the deadline = %v, want conflict", err)
	}
	if got := f.outbox(late.ID); len(got) != 2 || got[1].Event != notify.EventRunEnded || got[1].State != "blocked" ||
		!strings.Contains(got[1].Reason, "approval window ended") {
		t.Errorf("outbox of the run whose window ended = %+v", got)
	}
}

// A run that needs no approval is announced by its worker, not by control.
func TestSubmittedRunWithoutPolicyAnnouncesNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.notifying(f.st)
	alice, _ := f.person("alice", drills.RoleSRE)
	run := f.submit(alice)
	if run.State != drills.RunPending {
		t.Fatalf("run = %+v, want pending", run)
	}
	if got := f.outbox(run.ID); len(got) != 0 {
		t.Errorf("outbox of a pending run = %v, want nothing", events(got))
	}
}

// A notification that cannot be queued never fails the operation: the run is submitted and
// awaits approval all the same.
func TestSubmitStandsWhenTheNotificationCannotBeQueued(t *testing.T) {
	t.Parallel()
	f := setup(t, withDefaultApproval)
	ctx := context.Background()
	closed, err := store.Open(ctx, store.Config{DatabaseURL: f.dsn, Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	f.notifying(closed)
	alice, _ := f.person("alice", drills.RoleSRE)
	kim, _ := f.person("kim", drills.RoleCompliance)
	run := f.submit(alice)
	if run.State != drills.RunAwaitingApproval {
		t.Fatalf("run = %+v, want awaiting approval", run)
	}
	if got := f.outbox(run.ID); len(got) != 0 {
		t.Errorf("outbox = %v; the notifier's store was closed", events(got))
	}
	if out, err := f.ctl.RunReject(ctx, kim, &control.ApprovalDecideParams{RunID: run.ID}); err != nil || out.Run.State != drills.RunBlocked {
		t.Errorf("RunReject = %+v, %v; want the run blocked despite the notifier", out, err)
	}
}
