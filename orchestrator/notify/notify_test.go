package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// start is the fake clock's first reading (with sub-ms digits, to prove the store truncates).
var start = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// The secrets the channels use. None may appear in a payload, an error or a log line.
const (
	hookKey      = "k3y-hmac-s3cret-0451"
	smtpPassword = "pa55-smtp-s3cret-8812"
	slackToken   = "xoxb-leaky-token-7731"
)

func secrets(extra map[string]string) *secret.Resolver {
	env := map[string]string{"HOOK_KEY": hookKey, "SMTP_PASSWORD": smtpPassword}
	for k, v := range extra {
		env[k] = v
	}
	return &secret.Resolver{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		ReadFile:  func(string) ([]byte, error) { return nil, errors.New("no files in tests") },
	}
}

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type bundle struct {
	n    *notify.Notifier
	s    *store.Store
	clk  *clocktest.Clock
	logs *syncBuffer
}

// setup builds a notifier over s with a fake clock; the sender loop is not started.
func setup(t *testing.T, s *store.Store, cfg notify.Config) *bundle {
	t.Helper()
	b := &bundle{s: s, clk: clocktest.New(start), logs: &syncBuffer{}}
	cfg.Store = s
	cfg.Clock = b.clk
	cfg.Logger = slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Secrets == nil {
		cfg.Secrets = secrets(nil)
	}
	n, err := notify.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	b.n = n
	t.Cleanup(n.Stop)
	return b
}

// start starts the sender loop and waits until it is idle (its poll timer armed), so that
// the next timer it arms follows whatever the test does next.
func (b *bundle) start(t *testing.T) {
	t.Helper()
	armed := b.clk.TimerArmed()
	if err := b.n.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	wait(t, armed, "the sender loop to go idle")
}

func (b *bundle) notify(t *testing.T, ev notify.Event) {
	t.Helper()
	if err := b.n.Notify(context.Background(), ev); err != nil {
		t.Fatalf("Notify(%s): %v", ev.Kind, err)
	}
}

func (b *bundle) list(t *testing.T, runID string) []*store.Notification {
	t.Helper()
	list, err := b.s.NotificationList(context.Background(), runID)
	if err != nil {
		t.Fatalf("NotificationList(%q): %v", runID, err)
	}
	return list
}

// only returns the single notification of runID.
func (b *bundle) only(t *testing.T, runID string) *store.Notification {
	t.Helper()
	list := b.list(t, runID)
	if len(list) != 1 {
		t.Fatalf("NotificationList(%q) has %d notifications, want 1", runID, len(list))
	}
	return list[0]
}

// wait receives from ch, failing the test if nothing comes in a generous while.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// hit is one request to a receiver, held until the test answers it.
type hit struct {
	header http.Header
	body   []byte
	reply  chan int
}

type receiver struct {
	URL  string
	hits chan *hit
}

// newReceiver is an HTTP endpoint that hands each request to the test and answers with the
// status code the test sends on hit.reply (or hangs until the client gives up).
func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{hits: make(chan *hit)}
	closing := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		h := &hit{header: req.Header.Clone(), body: body, reply: make(chan int, 1)}
		select {
		case r.hits <- h:
		case <-req.Context().Done():
			return
		case <-closing:
			return
		}
		select {
		case code := <-h.reply:
			w.WriteHeader(code)
		case <-req.Context().Done():
		case <-closing:
		}
	}))
	r.URL = srv.URL
	t.Cleanup(func() {
		close(closing)
		srv.Close()
	})
	return r
}

// answer takes the receiver's next request, answers it with code and waits until the sender
// loop has recorded the result (it arms its next poll timer only after that).
func (b *bundle) answer(t *testing.T, r *receiver, code int) *hit {
	t.Helper()
	h := wait(t, r.hits, "a request to the receiver")
	armed := b.clk.TimerArmed()
	h.reply <- code
	wait(t, armed, "the send's result to be recorded")
	return h
}

func runEnded(runID string) notify.Event {
	return notify.Event{
		Kind: notify.EventRunEnded, RunID: runID, Plan: "sangam-site-loss", State: "failed",
		Reason: "step verify failed", Fields: map[string]any{"step": "verify", "rto_actual_ms": 2460000},
		At: start.Add(-time.Minute),
	}
}

func webhookChannel(url string) notify.Channel {
	return notify.Channel{Name: "ops-webhook", Kind: notify.ChannelWebhook,
		Webhook: notify.WebhookChannel{URL: url, Key: secret.Ref{Env: "HOOK_KEY"}}}
}

func TestWebhookSigned(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newReceiver(t)
		b := setup(t, s, notify.Config{Channels: []notify.Channel{webhookChannel(r.URL + "/hooks/firedrill")}})
		b.start(t)
		b.notify(t, runEnded("run-1"))
		h := b.answer(t, r, http.StatusNoContent)

		n := b.only(t, "run-1")
		if n.State != store.NotificationSent || n.Attempts != 1 || n.Channel != "ops-webhook" || n.Event != "run_ended" {
			t.Errorf("stored = %+v, want sent after 1 attempt", n)
		}
		if n.SentAt == nil || !n.SentAt.Equal(start.Truncate(time.Millisecond)) {
			t.Errorf("SentAt = %v, want %v", n.SentAt, start)
		}
		if got := h.header.Get(notify.HeaderEvent); got != "run_ended" {
			t.Errorf("%s = %q, want run_ended", notify.HeaderEvent, got)
		}
		if got := h.header.Get(notify.HeaderDelivery); got != n.ID {
			t.Errorf("%s = %q, want the notification ID %q", notify.HeaderDelivery, got, n.ID)
		}
		if got := h.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type = %q", got)
		}
		ts, sig := h.header.Get(notify.HeaderTimestamp), h.header.Get(notify.HeaderSignature)
		if ts != strconv.FormatInt(start.Unix(), 10) {
			t.Errorf("%s = %q, want the clock's Unix seconds %d", notify.HeaderTimestamp, ts, start.Unix())
		}
		if err := notify.VerifySignature([]byte(hookKey), ts, h.body, sig); err != nil {
			t.Errorf("VerifySignature with the right key: %v", err)
		}
		if err := notify.VerifySignature([]byte("not-the-key"), ts, h.body, sig); !errors.Is(err, notify.ErrBadSignature) {
			t.Errorf("VerifySignature with a wrong key = %v, want ErrBadSignature", err)
		}
		tampered := bytes.Replace(h.body, []byte("failed"), []byte("passed"), 1)
		if err := notify.VerifySignature([]byte(hookKey), ts, tampered, sig); !errors.Is(err, notify.ErrBadSignature) {
			t.Errorf("VerifySignature of a tampered body = %v, want ErrBadSignature", err)
		}
		if err := notify.VerifySignature([]byte(hookKey), ts+"0", h.body, sig); !errors.Is(err, notify.ErrBadSignature) {
			t.Errorf("VerifySignature with another timestamp = %v, want ErrBadSignature", err)
		}

		var keys map[string]json.RawMessage
		if err := json.Unmarshal(h.body, &keys); err != nil {
			t.Fatalf("body %s: %v", h.body, err)
		}
		var got []string
		for k := range keys {
			got = append(got, k)
		}
		slices.Sort(got)
		want := []string{"at", "event", "fields", "id", "plan", "reason", "run_id", "service", "state"}
		if !slices.Equal(got, want) {
			t.Errorf("body keys = %v, want %v", got, want)
		}
		var p notify.Payload
		if err := json.Unmarshal(h.body, &p); err != nil {
			t.Fatal(err)
		}
		if p.ID != n.ID || p.Event != notify.EventRunEnded || p.RunID != "run-1" || p.Plan != "sangam-site-loss" ||
			p.State != "failed" || p.Reason != "step verify failed" || p.Fields["step"] != "verify" ||
			!p.At.Equal(start.Add(-time.Minute).Truncate(time.Millisecond)) {
			t.Errorf("body = %+v", p)
		}
	})
}

func TestWebhookRetriedUntilDelivered(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newReceiver(t)
		b := setup(t, s, notify.Config{Channels: []notify.Channel{webhookChannel(r.URL)}})
		b.start(t)
		b.notify(t, runEnded("run-1"))

		first := b.answer(t, r, http.StatusInternalServerError)
		n := b.only(t, "run-1")
		if n.State != store.NotificationPending || n.Attempts != 1 || !strings.Contains(n.LastError, "500") {
			t.Errorf("after one failure = %+v, want pending, 1 attempt, a 500 error", n)
		}
		if want := start.Add(notify.DefaultBackoff).Truncate(time.Millisecond); !n.NextAttemptAt.Equal(want) {
			t.Errorf("NextAttemptAt = %v, want %v (the first backoff)", n.NextAttemptAt, want)
		}

		b.clk.Advance(notify.DefaultBackoff)
		second := b.answer(t, r, http.StatusBadGateway)
		n = b.only(t, "run-1")
		if n.State != store.NotificationPending || n.Attempts != 2 || !strings.Contains(n.LastError, "502") {
			t.Errorf("after two failures = %+v, want pending, 2 attempts, a 502 error", n)
		}
		if want := b.clk.Now().Add(2 * notify.DefaultBackoff).Truncate(time.Millisecond); !n.NextAttemptAt.Equal(want) {
			t.Errorf("NextAttemptAt = %v, want %v (the backoff doubled)", n.NextAttemptAt, want)
		}

		b.clk.Advance(2 * notify.DefaultBackoff)
		third := b.answer(t, r, http.StatusOK)
		n = b.only(t, "run-1")
		if n.State != store.NotificationSent || n.Attempts != 3 {
			t.Errorf("after delivery = %+v, want sent on attempt 3", n)
		}
		for i, h := range []*hit{first, second, third} {
			if got := h.header.Get(notify.HeaderDelivery); got != n.ID {
				t.Errorf("attempt %d: %s = %q, want %q on every retry", i+1, notify.HeaderDelivery, got, n.ID)
			}
			if err := notify.VerifySignature([]byte(hookKey), h.header.Get(notify.HeaderTimestamp), h.body, h.header.Get(notify.HeaderSignature)); err != nil {
				t.Errorf("attempt %d: signature: %v", i+1, err)
			}
		}
		if first.header.Get(notify.HeaderTimestamp) == third.header.Get(notify.HeaderTimestamp) {
			t.Error("a retry reused the first attempt's timestamp; each attempt is signed afresh")
		}
	})
}

func TestWebhookGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	m := metrics.New()
	b := setup(t, storetest.SQLite(t), notify.Config{
		Channels:    []notify.Channel{webhookChannel(r.URL)},
		MaxAttempts: 4, Backoff: time.Second, MaxBackoff: 2 * time.Second, Metrics: m,
	})
	b.start(t)
	b.notify(t, runEnded("run-1"))

	waits := []time.Duration{time.Second, 2 * time.Second, 2 * time.Second} // doubling, capped
	for i, d := range waits {
		b.answer(t, r, http.StatusServiceUnavailable)
		n := b.only(t, "run-1")
		if want := b.clk.Now().Add(d).Truncate(time.Millisecond); n.State != store.NotificationPending || n.Attempts != i+1 || !n.NextAttemptAt.Equal(want) {
			t.Fatalf("after attempt %d = %+v, want pending, next attempt at %v", i+1, n, want)
		}
		b.clk.Advance(d)
	}
	b.answer(t, r, http.StatusServiceUnavailable)
	n := b.only(t, "run-1")
	if n.State != store.NotificationFailed || n.Attempts != 4 || !strings.Contains(n.LastError, "503") || n.SentAt != nil {
		t.Errorf("after MaxAttempts = %+v, want failed after 4 attempts with the 503", n)
	}

	// Nothing more is sent, however long we wait.
	armed := b.clk.TimerArmed()
	b.clk.Advance(time.Hour)
	wait(t, armed, "the sender loop to poll again")
	select {
	case h := <-r.hits:
		t.Errorf("a failed notification was sent again: %s", h.body)
	default:
	}
	if !strings.Contains(b.logs.String(), "notification failed for good") {
		t.Errorf("logs lack the final failure:\n%s", b.logs)
	}
	if got := failureCounts(t, m); got["ops-webhook/false"] != 3 || got["ops-webhook/true"] != 1 || len(got) != 2 {
		t.Errorf("%s by channel/final = %v; want 3 retried and 1 final on ops-webhook", metrics.NameNotificationFailures, got)
	}
}

// failureCounts reads firedrill_notification_failures_total by "channel/final".
func failureCounts(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != metrics.NameNotificationFailures {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["channel"]+"/"+labels["final"]] = s.GetCounter().GetValue()
		}
	}
	return out
}

func TestNotifyDoesNotWaitForAHangingReceiver(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	b := setup(t, storetest.SQLite(t), notify.Config{
		Channels:    []notify.Channel{webhookChannel(r.URL)},
		HTTPTimeout: 50 * time.Second,
	})
	b.start(t)
	b.notify(t, notify.Event{Kind: notify.EventRunStarted, RunID: "run-1", Plan: "sangam-site-loss"})
	wait(t, r.hits, "the first request, which the receiver never answers")

	// The sender loop is stuck in that request; a drill's next Notify must not be.
	done := make(chan error, 1)
	go func() { done <- b.n.Notify(context.Background(), runEnded("run-1")) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Notify: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Notify blocked behind a hanging receiver")
	}

	// Stop cancels the hanging send instead of waiting out HTTPTimeout.
	stopped := make(chan struct{})
	go func() { b.n.Stop(); close(stopped) }()
	wait(t, stopped, "Stop to cancel the hanging send")
	b.n.Stop() // idempotent
	if err := b.n.Start(context.Background()); err == nil {
		t.Error("Start after Stop = nil error, want one")
	}
	list := b.list(t, "run-1")
	if len(list) != 2 {
		t.Fatalf("%d notifications, want 2", len(list))
	}
	for _, n := range list {
		if n.State != store.NotificationPending || n.Attempts != 0 {
			t.Errorf("%s after an interrupted send = %s after %d attempts, want pending and no attempt counted", n.Event, n.State, n.Attempts)
		}
	}
}

func TestEmail(t *testing.T) {
	t.Parallel()
	relay := newSMTPServer(t)
	b := setup(t, storetest.SQLite(t), notify.Config{Channels: []notify.Channel{{
		Name: "ops-mail", Kind: notify.ChannelEmail,
		Email: notify.EmailChannel{
			Addr: relay.Addr, From: "firedrill <drills@bank.example>",
			To:       []string{"sre@bank.example", "Compliance <compliance@bank.example>"},
			Username: "firedrill", Password: secret.Ref{Env: "SMTP_PASSWORD"},
		},
	}}})
	b.start(t)
	armed := b.clk.TimerArmed()
	ev := runEnded("run-1")
	ev.Reason = "step verify failed on 핵심업무 payments"
	b.notify(t, ev)
	msg := wait(t, relay.Messages, "the email")
	wait(t, armed, "the send's result to be recorded")

	n := b.only(t, "run-1")
	if n.State != store.NotificationSent || n.Attempts != 1 {
		t.Errorf("stored = %+v, want sent", n)
	}
	if msg.From != "drills@bank.example" || !slices.Equal(msg.To, []string{"sre@bank.example", "compliance@bank.example"}) {
		t.Errorf("envelope = from %q to %q", msg.From, msg.To)
	}
	if want := "\x00firedrill\x00" + smtpPassword; msg.Auth != want {
		t.Errorf("AUTH PLAIN = %q, want user firedrill with the resolved password", msg.Auth)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg.Data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, msg.Data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	wantSubject := "[firedrill] run run-1 of sangam-site-loss ended failed: step verify failed on 핵심업무 payments"
	if subject != wantSubject {
		t.Errorf("Subject = %q, want %q", subject, wantSubject)
	}
	if got := m.Header.Get("From"); got != `"firedrill" <drills@bank.example>` {
		t.Errorf("From = %q", got)
	}
	if to, err := m.Header.AddressList("To"); err != nil || len(to) != 2 || to[1].Address != "compliance@bank.example" {
		t.Errorf("To = %q (%v)", m.Header.Get("To"), err)
	}
	if date, err := m.Header.Date(); err != nil || !date.Equal(start.Truncate(time.Second)) {
		t.Errorf("Date = %q (%v), want the clock's time", m.Header.Get("Date"), err)
	}
	if got, want := m.Header.Get("Message-ID"), "<"+n.ID+"@bank.example>"; got != want {
		t.Errorf("Message-ID = %q, want %q", got, want)
	}
	if got := m.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"run run-1 of sangam-site-loss ended failed: step verify failed on 핵심업무 payments",
		"plan: sangam-site-loss", "state: failed", "step: verify", "rto_actual_ms: 2460000",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

func TestSlack(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	b := setup(t, storetest.SQLite(t), notify.Config{
		Channels: []notify.Channel{{Name: "ops-slack", Kind: notify.ChannelSlack, Slack: notify.SlackChannel{URL: secret.Ref{Env: "SLACK_URL"}}}},
		Secrets:  secrets(map[string]string{"SLACK_URL": r.URL + "/services/T000/B000/" + slackToken}),
	})
	b.start(t)
	ev := runEnded("run-1")
	ev.Reason = "step verify failed: lag > 5s & rising"
	b.notify(t, ev)
	h := b.answer(t, r, http.StatusOK)
	var msg map[string]string
	if err := json.Unmarshal(h.body, &msg); err != nil || len(msg) != 1 {
		t.Fatalf("slack body = %s (%v), want {\"text\": ...}", h.body, err)
	}
	want := ":rotating_light: run run-1 of sangam-site-loss ended failed: step verify failed: lag &gt; 5s &amp; rising"
	if msg["text"] != want {
		t.Errorf("text = %q, want %q", msg["text"], want)
	}
	if h.header.Get(notify.HeaderSignature) != "" {
		t.Error("a Slack message carries a webhook signature")
	}
	if n := b.only(t, "run-1"); n.State != store.NotificationSent {
		t.Errorf("stored = %+v, want sent", n)
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    notify.Payload
		want string
	}{
		{notify.Payload{Event: notify.EventApprovalNeeded, RunID: "r1", Plan: "p", Reason: "needs sre and compliance"}, "run r1 of p needs approval: needs sre and compliance"},
		{notify.Payload{Event: notify.EventRunStarted, RunID: "r1", Plan: "p"}, "run r1 of p started"},
		{notify.Payload{Event: notify.EventStopCondition, RunID: "r1", Plan: "p", Reason: "lag 9s > 5s"}, "run r1 of p breached a stop condition: lag 9s > 5s"},
		{notify.Payload{Event: notify.EventRunEnded, RunID: "r1", Plan: "p", State: "succeeded"}, "run r1 of p ended succeeded"},
		{notify.Payload{Event: notify.EventServiceOverdue, Service: "auth", Reason: "last drill 2025-01-02"}, "service auth is overdue for a DR drill: last drill 2025-01-02"},
		{notify.Payload{Event: notify.EventRunStarted, RunID: "r1", Reason: "a\r\nBcc: x@evil"}, "run r1 started: a  Bcc: x@evil"},
	}
	for _, tt := range tests {
		if got := tt.p.Summary(); got != tt.want {
			t.Errorf("Summary(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestChannelEventFilter(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.SQLite(t), notify.Config{Channels: []notify.Channel{
		webhookChannel("https://hooks.bank.example/firedrill"),
		{Name: "pager", Kind: notify.ChannelSlack, Events: []notify.Kind{notify.EventStopCondition, notify.EventRunEnded},
			Slack: notify.SlackChannel{URL: secret.Ref{Env: "SLACK_URL"}}},
	}})
	for _, k := range []notify.Kind{notify.EventApprovalNeeded, notify.EventRunStarted, notify.EventStopCondition, notify.EventRunEnded} {
		b.notify(t, notify.Event{Kind: k, RunID: "run-1", Plan: "sangam-site-loss"})
	}
	b.notify(t, notify.Event{Kind: notify.EventServiceOverdue, Service: "auth"})

	got := map[string][]string{}
	for _, n := range b.list(t, "run-1") {
		got[n.Channel] = append(got[n.Channel], n.Event)
	}
	if want := []string{"approval_needed", "run_started", "stop_condition", "run_ended"}; !slices.Equal(got["ops-webhook"], want) {
		t.Errorf("ops-webhook got %v, want %v", got["ops-webhook"], want)
	}
	if want := []string{"stop_condition", "run_ended"}; !slices.Equal(got["pager"], want) {
		t.Errorf("pager (filtered) got %v, want %v", got["pager"], want)
	}
	overdue := b.list(t, "")
	if len(overdue) != 1 || overdue[0].Channel != "ops-webhook" || overdue[0].Event != "service_overdue" {
		t.Errorf("run-less notifications = %v, want service_overdue to ops-webhook only", overdue)
	}
}

// Secrets stay out of the stored payload, the recorded errors and the logs, even when a
// transport quotes them (net/http's errors quote the URL, which for Slack is the credential).
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	relay := newSMTPServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	_ = ln.Close() // nothing listens there any more: connection refused

	b := setup(t, storetest.SQLite(t), notify.Config{
		MaxAttempts: 1,
		Channels: []notify.Channel{
			webhookChannel(failing.URL),
			{Name: "no-key", Kind: notify.ChannelWebhook, Webhook: notify.WebhookChannel{URL: failing.URL, Key: secret.Ref{Env: "MISSING_KEY"}}},
			{Name: "slack", Kind: notify.ChannelSlack, Slack: notify.SlackChannel{URL: secret.Ref{Env: "SLACK_URL"}}},
			{Name: "mail", Kind: notify.ChannelEmail, Email: notify.EmailChannel{
				Addr: relay.Addr, From: "drills@bank.example", To: []string{"sre@bank.example"},
				Username: "firedrill", Password: secret.Ref{Env: "SMTP_PASSWORD"},
			}},
		},
		Secrets: secrets(map[string]string{"SLACK_URL": "http://" + deadAddr + "/services/T000/B000/" + slackToken}),
	})
	b.start(t)
	armed := b.clk.TimerArmed()
	b.notify(t, runEnded("run-1"))
	wait(t, relay.Messages, "the email")
	wait(t, armed, "every send's result to be recorded")
	b.n.Stop()

	byChannel := map[string]*store.Notification{}
	for _, n := range b.list(t, "run-1") {
		byChannel[n.Channel] = n
		for _, sec := range []string{hookKey, smtpPassword, slackToken} {
			if strings.Contains(string(n.Payload), sec) || strings.Contains(n.LastError, sec) {
				t.Errorf("%s: a secret leaked into the stored row: payload %s, last error %q", n.Channel, n.Payload, n.LastError)
			}
			if strings.Contains(b.logs.String(), sec) {
				t.Errorf("a secret leaked into the logs:\n%s", b.logs)
			}
		}
	}
	tests := []struct {
		channel, state, errHas string
	}{
		{"ops-webhook", store.NotificationFailed, "500"},
		{"no-key", store.NotificationFailed, "env:MISSING_KEY"},
		{"slack", store.NotificationFailed, "(webhook URL withheld): dial tcp"},
		{"mail", store.NotificationSent, ""},
	}
	for _, tt := range tests {
		n := byChannel[tt.channel]
		if n == nil {
			t.Errorf("no notification for %s", tt.channel)
			continue
		}
		if n.State != tt.state || !strings.Contains(n.LastError, tt.errHas) {
			t.Errorf("%s = %s, %q; want %s with an error mentioning %q", tt.channel, n.State, n.LastError, tt.state, tt.errHas)
		}
	}
}

type failingStore struct{ notify.Store }

func (failingStore) NotificationEnqueue(context.Context, *store.NotificationEnqueueParams) (*store.Notification, error) {
	return nil, errors.New("database is down")
}

func TestNotifyReportsStoreErrors(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	n, err := notify.New(notify.Config{
		Store:    failingStore{},
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		Channels: []notify.Channel{webhookChannel("https://hooks.bank.example/")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), runEnded("run-1")); err == nil || !strings.Contains(err.Error(), "database is down") {
		t.Errorf("Notify with a failing store = %v, want the store's error", err)
	}
	if !strings.Contains(logs.String(), "notification not recorded") {
		t.Errorf("the failure was not logged:\n%s", logs.String())
	}
	if err := n.Notify(context.Background(), notify.Event{Kind: "run_exploded"}); err == nil {
		t.Error("Notify(unknown kind) = nil error, want one")
	}
	if err := n.Notify(context.Background(), notify.Event{Kind: notify.EventRunStarted, Fields: map[string]any{"f": func() {}}}); err == nil {
		t.Error("Notify(unencodable fields) = nil error, want one")
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	var st notify.Store = (*store.Store)(nil)
	hook := webhookChannel("https://hooks.bank.example/")
	mailCh := notify.Channel{Kind: notify.ChannelEmail, Email: notify.EmailChannel{Addr: "smtp.bank.example:587", From: "drills@bank.example", To: []string{"sre@bank.example"}}}
	with := func(c notify.Channel, f func(*notify.Channel)) notify.Channel {
		c.Email.To = slices.Clone(c.Email.To)
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  notify.Config
		want string
	}{
		{"no store", notify.Config{}, "Store"},
		{"negative backoff", notify.Config{Store: st, Backoff: -time.Second}, "Backoff"},
		{"negative attempts", notify.Config{Store: st, MaxAttempts: -1}, "MaxAttempts"},
		{"cap below backoff", notify.Config{Store: st, Backoff: time.Minute, MaxBackoff: time.Second}, "MaxBackoff"},
		{"timeout beyond lease", notify.Config{Store: st, HTTPTimeout: 2 * time.Minute}, "HTTPTimeout"},
		{"no kind", notify.Config{Store: st, Channels: []notify.Channel{{Name: "x"}}}, "channels[0] (\"x\"): Kind"},
		{"bad kind", notify.Config{Store: st, Channels: []notify.Channel{{Kind: "pager"}}}, "Kind: unknown"},
		{"bad event", notify.Config{Store: st, Channels: []notify.Channel{with(hook, func(c *notify.Channel) { c.Events = []notify.Kind{"run_exploded"} })}}, "in Events[0]"},
		{"webhook url", notify.Config{Store: st, Channels: []notify.Channel{with(hook, func(c *notify.Channel) { c.Webhook.URL = "ftp://x" })}}, "Webhook.URL"},
		{"webhook url creds", notify.Config{Store: st, Channels: []notify.Channel{with(hook, func(c *notify.Channel) { c.Webhook.URL = "https://u:p@x/" })}}, "Webhook.URL"},
		{"webhook key", notify.Config{Store: st, Channels: []notify.Channel{with(hook, func(c *notify.Channel) { c.Webhook.Key = secret.Ref{} })}}, "Webhook.Key"},
		{"other section", notify.Config{Store: st, Channels: []notify.Channel{with(hook, func(c *notify.Channel) { c.Email.Addr = "x:25" })}}, "section Email is set"},
		{"slack url", notify.Config{Store: st, Channels: []notify.Channel{{Kind: notify.ChannelSlack}}}, "Slack.URL"},
		{"email addr", notify.Config{Store: st, Channels: []notify.Channel{with(mailCh, func(c *notify.Channel) { c.Email.Addr = "smtp.bank.example" })}}, "Email.Addr"},
		{"email port", notify.Config{Store: st, Channels: []notify.Channel{with(mailCh, func(c *notify.Channel) { c.Email.Addr = "smtp.bank.example:smtp" })}}, "Email.Addr"},
		{"email from", notify.Config{Store: st, Channels: []notify.Channel{with(mailCh, func(c *notify.Channel) { c.Email.From = "not an address" })}}, "Email.From"},
		{"email to", notify.Config{Store: st, Channels: []notify.Channel{with(mailCh, func(c *notify.Channel) { c.Email.To = nil })}}, "Email.To"},
		{"email to bad", notify.Config{Store: st, Channels: []notify.Channel{with(mailCh, func(c *notify.Channel) { c.Email.To = append(c.Email.To, "@@") })}}, "Email.To[1]"},
		{"email password", notify.Config{Store: st, Channels: []notify.Channel{with(mailCh, func(c *notify.Channel) { c.Email.Username = "u" })}}, "Email.Password"},
		{"duplicate name", notify.Config{Store: st, Channels: []notify.Channel{hook, hook}}, "channels[1].Name"},
	}
	for _, tt := range tests {
		_, err := notify.New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, want an error naming %q", tt.name, err, tt.want)
		}
	}
	if _, err := notify.New(notify.Config{Store: st, Channels: []notify.Channel{hook, mailCh}}); err != nil {
		t.Errorf("New(valid) = %v", err)
	}
}

func TestVerifySignatureRejectsMalformed(t *testing.T) {
	t.Parallel()
	key, body := []byte("k"), []byte(`{"event":"run_started"}`)
	good := notify.Sign(key, "1773480413", body)
	tests := []struct{ ts, sig string }{
		{"", good},
		{"1773480413", strings.TrimPrefix(good, "sha256=")},
		{"1773480413", "sha256=zz"},
		{"1773480413", "sha1=" + strings.TrimPrefix(good, "sha256=")},
		{"1773480413", good[:len(good)-2]},
	}
	for _, tt := range tests {
		if err := notify.VerifySignature(key, tt.ts, body, tt.sig); !errors.Is(err, notify.ErrBadSignature) {
			t.Errorf("VerifySignature(%q, %q) = %v, want ErrBadSignature", tt.ts, tt.sig, err)
		}
	}
	if err := notify.VerifySignature(nil, "1", body, good); err == nil {
		t.Error("VerifySignature(empty key) = nil, want an error")
	}
}
