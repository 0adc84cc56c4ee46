package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// hookKey signs the webhooks of the estates notifyingEstate writes.
const hookKey = "hook-signing-key"

// webhookReceiver is a webhook receiver that checks each request's signature and hands over
// its payload.
func webhookReceiver(t *testing.T) (*httptest.Server, <-chan notify.Payload) {
	t.Helper()
	got := make(chan notify.Payload, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.VerifySignature([]byte(hookKey), r.Header.Get("X-Firedrill-Timestamp"), body, r.Header.Get("X-Firedrill-Signature")); err != nil {
			t.Errorf("webhook signature: %v", err)
		}
		var p notify.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("webhook body %s: %v", body, err)
		}
		got <- p
	}))
	t.Cleanup(hook.Close)
	return hook, got
}

// notifyingEstate writes, in a fresh directory, the example estate (its Nomad sites pointed
// at a closed port, so that pre-flight blocks every run) with a webhook to hookURL, and its
// site-loss plan; approval keeps the estate's default approval policy. It returns the
// estate's path.
func notifyingEstate(t *testing.T, hookURL string, approval bool) string {
	t.Helper()
	src, err := os.ReadFile("../../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	estate := string(src)
	if !approval {
		estate = withoutDefaultApproval(t, estate)
	}
	estate = strings.NewReplacer("http://127.0.0.1:14646", "http://127.0.0.1:1", "http://127.0.0.1:14647", "http://127.0.0.1:1",
		"http://127.0.0.1:14648", "http://127.0.0.1:1").Replace(estate)
	estate += "\nnotify \"ops\" {\n  kind    = \"webhook\"\n  url     = \"" + hookURL + "\"\n  key_env = \"HOOK_KEY\"\n}\n"
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "plans"), 0o755); err != nil {
		t.Fatal(err)
	}
	plan, err := os.ReadFile("../../examples/plans/site-loss.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"firedrill.hcl": []byte(estate), "plans/site-loss.hcl": plan} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "firedrill.hcl")
}

// notifyEnv is the environment of a serve over dsn that signs webhooks with hookKey.
func notifyEnv(dsn string) []string {
	return append(os.Environ(), "FIREDRILL_DATABASE_URL="+dsn, "HOOK_KEY="+hookKey, "NOMAD_TOKEN_SANGAM=t", "NOMAD_TOKEN_YATAP=t", "NOMAD_TOKEN_BUSAN=t")
}

// A run that serve's worker executes ends with a signed webhook to the estate's notify block.
// Its sites are unreachable, so pre-flight blocks it: the notification still says so.
func TestServeNotifiesWhenARunEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	hook, got := webhookReceiver(t)
	estatePath := notifyingEstate(t, hook.URL, false)
	dir := filepath.Dir(estatePath)

	dsn := storetest.NewDatabase(t)
	env := notifyEnv(dsn)
	serve := exec.CommandContext(ctx, binPath, "serve", "--migrate", "--listen", "127.0.0.1:0", "--config", estatePath, "--poll", "100ms")
	serve.Env = env
	stderr, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	sc := bufio.NewScanner(stderr)
	var addr string
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), "firedrill serving on "); ok {
			addr, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	token := sreToken(t, st, "alice")

	submit := exec.CommandContext(ctx, binPath, "submit", filepath.Join(dir, "plans/site-loss.hcl"), "--json")
	submit.Env = append(env, "FIREDRILL_ADDR="+addr, "FIREDRILL_TOKEN="+token)
	out, err := submit.CombinedOutput()
	if err != nil {
		t.Fatalf("submit: %v\n%s", err, out)
	}
	overdue := map[string]bool{}
	for {
		select {
		case p := <-got:
			if p.Event == notify.EventServiceOverdue {
				overdue[p.Service] = true
				continue
			}
			if p.Event != notify.EventRunEnded || p.State != "blocked" || !strings.Contains(p.Reason, "sangam") {
				t.Errorf("notification = %+v; want run_ended, blocked, naming the unreachable site", p)
			}
			// Never drilled, every service is overdue, and serve says so.
			if !overdue["auth"] || !overdue["payments"] || !overdue["remittance"] {
				t.Errorf("overdue notifications for %v; want auth, payments and remittance", overdue)
			}
			return
		case <-ctx.Done():
			t.Fatal("no run_ended notification arrived")
		}
	}
}

// notificationsOf reads the notifications queued for a run, with their payloads.
func notificationsOf(t *testing.T, ctx context.Context, st *store.Store, runID string) []notify.Payload {
	t.Helper()
	ns, err := st.NotificationList(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]notify.Payload, 0, len(ns))
	for _, n := range ns {
		var p notify.Payload
		if err := json.Unmarshal(n.Payload, &p); err != nil {
			t.Fatalf("notification %s: %v", n.ID, err)
		}
		if string(p.Event) != n.Event || n.Channel != "ops" {
			t.Errorf("notification %+v: want its payload's event on channel ops", n)
		}
		out = append(out, p)
	}
	return out
}

// A run submitted to serve that must wait for approval is announced in the outbox the moment
// the submission is answered, and delivered; the rejection that ends it is announced too.
func TestServeAnnouncesASubmittedRunAwaitingApproval(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	hook, got := webhookReceiver(t)
	estatePath := notifyingEstate(t, hook.URL, true)
	dsn := storetest.NewDatabase(t)
	env := notifyEnv(dsn)
	p := startServe(t, ctx, env, "--config", estatePath, "--poll", "100ms")
	addr := p.address(t)
	st := openWhenMigrated(t, ctx, dsn, p)

	ctl, err := control.New(control.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	boot, err := ctl.Bootstrap(ctx, &control.BootstrapParams{Name: "root", By: localPerson("test")})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := ctl.Authenticate(ctx, boot.Secret, drills.ViaCLI)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for name, role := range map[string]string{"alice": drills.RoleSRE, "kim": drills.RoleCompliance} {
		if _, err := ctl.UserCreate(ctx, admin, &control.UserCreateParams{Name: name, Roles: []string{role}}); err != nil {
			t.Fatal(err)
		}
		tok, err := ctl.TokenCreate(ctx, admin, &control.TokenCreateParams{User: name})
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = tok.Secret
	}

	runID := submitRun(t, ctx, env, filepath.Join(filepath.Dir(estatePath), "plans/site-loss.hcl"), estatePath, addr, tokens["alice"])
	queued := notificationsOf(t, ctx, st, runID)
	if len(queued) != 1 || queued[0].Event != notify.EventApprovalNeeded || queued[0].State != "awaiting_approval" ||
		queued[0].Fields["requested_by"] != "alice (via cli)" || !strings.HasPrefix(queued[0].Reason, "from sre and compliance by ") {
		t.Fatalf("outbox of the submitted run = %+v, want one approval_needed naming the roles and alice", queued)
	}
	for delivered := false; !delivered; {
		select {
		case p := <-got:
			delivered = p.Event == notify.EventApprovalNeeded && p.RunID == runID
		case <-ctx.Done():
			t.Fatal("the approval_needed notification was not delivered")
		}
	}

	reject := exec.CommandContext(ctx, binPath, "reject", runID, "--comment", "not this week")
	reject.Env = append(env, "FIREDRILL_ADDR="+addr, "FIREDRILL_TOKEN="+tokens["kim"])
	if out, err := reject.CombinedOutput(); err != nil {
		t.Fatalf("reject: %v\n%s", err, out)
	}
	queued = notificationsOf(t, ctx, st, runID)
	if len(queued) != 2 || queued[1].Event != notify.EventRunEnded || queued[1].State != "blocked" || queued[1].Reason != "rejected by kim: not this week" {
		t.Errorf("outbox after the rejection = %+v, want run_ended, blocked, naming kim", queued)
	}
}

// The scheduler hook serve installs announces a fired run awaiting approval with the event a
// submission announces: the same fields, plus the schedule and its fire time.
func TestServeSchedulerHookAnnouncesAFireAsASubmission(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kst := time.FixedZone("KST", 9*3600)
	clk := clocktest.New(time.Date(2027, 1, 1, 0, 0, 0, 0, kst))
	st := storetest.PostgresOn(t, clk)
	estate, src, err := loadEstate(scheduleEstate)
	if err != nil {
		t.Fatal(err)
	}
	// Hand-submitted runs wait for the roles weekly-ny's fires wait for.
	estate.DefaultApproval = drills.ApprovalPolicy{Roles: []string{drills.RoleSRE, drills.RoleCompliance}}
	n, err := notify.New(notify.Config{Store: st, Clock: clk, Channels: []notify.Channel{{Name: "ops", Kind: notify.ChannelWebhook,
		Webhook: notify.WebhookChannel{URL: "http://127.0.0.1:1/hook", Key: secret.Ref{Env: "HOOK_KEY"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{logger: slog.New(slog.DiscardHandler)}
	s, err := scheduler.New(scheduler.Config{
		Store: st, Estate: estate, EstateSource: src, EstateFile: scheduleEstate, LoadPlan: schedulePlanLoader(scheduleEstate),
		Clock: clk, Owner: "test", Tick: time.Hour, LeaseFor: 2 * time.Hour, MissedGrace: 90 * time.Minute,
		OnFire: a.approvalNeeded(n),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	// weekly-ny fires on Sunday 2027-01-03 at 02:30 in New York, 16:30 KST.
	for now := clk.Now(); !now.After(time.Date(2027, 1, 3, 18, 0, 0, 0, kst)); now = now.Add(time.Hour) {
		clk.Set(now)
		if err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	fired, err := st.RunList(ctx, &store.RunListParams{ScheduleName: "weekly-ny"})
	if err != nil || len(fired.Runs) != 1 || fired.Runs[0].State != drills.RunAwaitingApproval {
		t.Fatalf("runs of weekly-ny = %+v, %v; want one awaiting approval", fired, err)
	}
	fire := notificationsOf(t, ctx, st, fired.Runs[0].ID)
	if len(fire) != 1 || fire[0].Event != notify.EventApprovalNeeded || fire[0].Fields["schedule"] != "weekly-ny" ||
		fire[0].Fields["fire_time"] != "2027-01-03T07:30:00Z" || fire[0].Fields["requested_by"] != "schedule weekly-ny" ||
		!strings.HasPrefix(fire[0].Reason, "from sre and compliance by ") {
		t.Fatalf("outbox of the fired run = %+v", fire)
	}

	ctl, err := control.New(control.Config{Store: st, Clock: clk, Notifier: n,
		Estate: &control.Estate{Path: scheduleEstate, Estate: estate, Source: src}})
	if err != nil {
		t.Fatal(err)
	}
	boot, err := ctl.Bootstrap(ctx, &control.BootstrapParams{Name: "root", By: localPerson("test")})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := ctl.Authenticate(ctx, boot.Secret, drills.ViaAPI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.UserCreate(ctx, admin, &control.UserCreateParams{Name: "alice", Roles: []string{drills.RoleSRE}}); err != nil {
		t.Fatal(err)
	}
	tok, err := ctl.TokenCreate(ctx, admin, &control.TokenCreateParams{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := ctl.Authenticate(ctx, tok.Secret, drills.ViaAPI)
	if err != nil {
		t.Fatal(err)
	}
	planSrc, err := os.ReadFile(filepath.Join(filepath.Dir(scheduleEstate), "plans/failover.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := ctl.RunSubmit(ctx, alice, &control.RunSubmitParams{PlanFile: "plans/failover.hcl", PlanSource: string(planSrc)})
	if err != nil {
		t.Fatal(err)
	}
	submitted := notificationsOf(t, ctx, st, run.ID)
	if len(submitted) != 1 || submitted[0].Event != notify.EventApprovalNeeded {
		t.Fatalf("outbox of the submitted run = %+v", submitted)
	}
	var fireKeys, submitKeys []string
	for k := range fire[0].Fields {
		if k != "schedule" && k != "fire_time" {
			fireKeys = append(fireKeys, k)
		}
	}
	for k := range submitted[0].Fields {
		submitKeys = append(submitKeys, k)
	}
	slices.Sort(fireKeys)
	slices.Sort(submitKeys)
	if !slices.Equal(fireKeys, submitKeys) {
		t.Errorf("fields of a fire's approval_needed %v, of a submission's %v; want the same besides the schedule's", fireKeys, submitKeys)
	}
}
