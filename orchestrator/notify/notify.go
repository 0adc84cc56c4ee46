package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxAttempts    = 8
	DefaultBackoff        = 5 * time.Second
	DefaultMaxBackoff     = 10 * time.Minute
	DefaultHTTPTimeout    = 10 * time.Second
	DefaultSMTPTimeout    = 30 * time.Second
	DefaultPollInterval   = time.Second
	DefaultBatchSize      = 16
	DefaultEnqueueTimeout = 5 * time.Second
)

// ChannelKind says how a channel delivers.
type ChannelKind string

// Channel kinds.
const (
	ChannelWebhook ChannelKind = "webhook"
	ChannelSlack   ChannelKind = "slack"
	ChannelEmail   ChannelKind = "email"
)

// Channel is one destination. Only the section matching Kind is read; the others must be zero.
type Channel struct {
	// Name identifies the channel in the notifications table and in logs, so it should stay
	// stable across restarts (pending rows name it). Defaults to Kind; must be unique.
	Name string
	Kind ChannelKind
	// Events restricts the channel to these kinds. Empty: every kind.
	Events  []Kind
	Webhook WebhookChannel
	Slack   SlackChannel
	Email   EmailChannel
}

// WebhookChannel is a receiver of signed JSON POSTs (see the package doc for the scheme).
type WebhookChannel struct {
	// URL is the http or https endpoint. It is not treated as a secret: put credentials in
	// Key, not in the URL.
	URL string
	// Key references the HMAC-SHA256 signing key shared with the receiver. Required.
	Key secret.Ref
}

// SlackChannel is a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat...).
type SlackChannel struct {
	// URL references the incoming-webhook URL, which is itself a credential. Required.
	URL secret.Ref
}

// EmailChannel sends plain-text mail through an SMTP relay.
type EmailChannel struct {
	// Addr is the relay's host:port, e.g. "smtp.example.com:587". Required.
	Addr string
	// From is the sender address, optionally with a display name. Required.
	From string
	// To lists the recipients. At least one.
	To []string
	// Username enables AUTH PLAIN with Password. Empty: no authentication.
	Username string
	// Password references the SMTP password; required with Username.
	Password secret.Ref
	// StartTLS upgrades the connection before authenticating and sending, and fails if the
	// relay does not offer it (never falls back to plain text). net/smtp refuses AUTH PLAIN
	// without TLS except to localhost.
	StartTLS bool
}

// Store is the part of *store.Store the notifier needs.
type Store interface {
	NotificationEnqueue(ctx context.Context, p *store.NotificationEnqueueParams) (*store.Notification, error)
	NotificationClaimDue(ctx context.Context, now time.Time, limit int) ([]*store.Notification, error)
	NotificationResult(ctx context.Context, p *store.NotificationResultParams) error
}

var _ Store = (*store.Store)(nil)

// Config configures New.
type Config struct {
	// Channels are the destinations. None: Notify records nothing.
	Channels []Channel
	// MaxAttempts is how many sends are tried before a notification is marked failed.
	// Defaults to 8.
	MaxAttempts int
	// Backoff is the wait after the first failed attempt; it doubles after each further one.
	// Defaults to 5s.
	Backoff time.Duration
	// MaxBackoff caps the wait between attempts. Defaults to 10m.
	MaxBackoff time.Duration
	// HTTPTimeout bounds one webhook or Slack request. Defaults to 10s; must stay below
	// store.NotificationClaimLease so that a slow send cannot outlive its claim.
	HTTPTimeout time.Duration
	// SMTPTimeout bounds one email delivery (connect to QUIT). Defaults to 30s; must stay
	// below store.NotificationClaimLease.
	SMTPTimeout time.Duration
	// PollInterval is how often the sender loop looks for due notifications when idle
	// (Notify wakes it at once). Defaults to 1s.
	PollInterval time.Duration
	// BatchSize is how many notifications one poll claims and sends concurrently.
	// Defaults to 16.
	BatchSize int
	// EnqueueTimeout bounds Notify's writes and the recording of a send's result.
	// Defaults to 5s.
	EnqueueTimeout time.Duration
	// HTTPClient sends webhook and Slack requests. Defaults to a client without a timeout of
	// its own (HTTPTimeout applies per request).
	HTTPClient *http.Client
	// Clock times retries and stamps events and signatures. Defaults to the wall clock.
	Clock clock.Clock
	// Metrics counts failed sends by channel. Optional (nil records nothing).
	Metrics *metrics.Metrics
	// Logger receives one line per send outcome. Defaults to a logger that discards.
	Logger *slog.Logger
	// Secrets resolves the channels' secret references. Defaults to the process environment
	// and files.
	Secrets *secret.Resolver
	// Store holds the outbox. Required.
	Store Store
}

// Notifier records notifications and, once started, delivers them. It is safe for concurrent
// use.
type Notifier struct {
	cfg      Config
	clock    clock.Clock
	logger   *slog.Logger
	channels []*channel
	byName   map[string]*channel
	wake     chan struct{}

	mu      sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc
	done    chan struct{}
}

type channel struct {
	Channel
	events map[Kind]bool // nil: all
	send   func(ctx context.Context, p *Payload) error
}

func (c *channel) wants(k Kind) bool { return c.events == nil || c.events[k] }

// New validates cfg (on a copy, with defaults applied) and returns a Notifier that is not yet
// sending: call Start. Secrets are resolved at send time, not here.
func New(cfg Config) (*Notifier, error) {
	if cfg.Store == nil {
		return nil, errors.New("notify: Store is required")
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"Backoff", cfg.Backoff}, {"MaxBackoff", cfg.MaxBackoff}, {"HTTPTimeout", cfg.HTTPTimeout},
		{"SMTPTimeout", cfg.SMTPTimeout}, {"PollInterval", cfg.PollInterval}, {"EnqueueTimeout", cfg.EnqueueTimeout},
	} {
		if f.v < 0 {
			return nil, fmt.Errorf("notify: %s must not be negative, got %s", f.name, f.v)
		}
	}
	if cfg.MaxAttempts < 0 {
		return nil, fmt.Errorf("notify: MaxAttempts must not be negative, got %d", cfg.MaxAttempts)
	}
	if cfg.BatchSize < 0 {
		return nil, fmt.Errorf("notify: BatchSize must not be negative, got %d", cfg.BatchSize)
	}
	setDefault(&cfg.MaxAttempts, DefaultMaxAttempts)
	setDefault(&cfg.Backoff, DefaultBackoff)
	setDefault(&cfg.MaxBackoff, DefaultMaxBackoff)
	setDefault(&cfg.HTTPTimeout, DefaultHTTPTimeout)
	setDefault(&cfg.SMTPTimeout, DefaultSMTPTimeout)
	setDefault(&cfg.PollInterval, DefaultPollInterval)
	setDefault(&cfg.BatchSize, DefaultBatchSize)
	setDefault(&cfg.EnqueueTimeout, DefaultEnqueueTimeout)
	if cfg.MaxBackoff < cfg.Backoff {
		return nil, fmt.Errorf("notify: MaxBackoff (%s) must not be below Backoff (%s)", cfg.MaxBackoff, cfg.Backoff)
	}
	if cfg.HTTPTimeout >= store.NotificationClaimLease {
		return nil, fmt.Errorf("notify: HTTPTimeout (%s) must be below the claim lease (%s)", cfg.HTTPTimeout, store.NotificationClaimLease)
	}
	if cfg.SMTPTimeout >= store.NotificationClaimLease {
		return nil, fmt.Errorf("notify: SMTPTimeout (%s) must be below the claim lease (%s)", cfg.SMTPTimeout, store.NotificationClaimLease)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Secrets == nil {
		cfg.Secrets = &secret.Resolver{}
	}
	cfg.Channels = append([]Channel(nil), cfg.Channels...)
	n := &Notifier{
		cfg:    cfg,
		clock:  cfg.Clock,
		logger: cfg.Logger.With("component", "notify"),
		byName: map[string]*channel{},
		wake:   make(chan struct{}, 1),
	}
	for i, c := range cfg.Channels {
		ch, err := n.channelOf(c)
		if err != nil {
			name := c.Name
			if name == "" {
				name = string(c.Kind)
			}
			return nil, fmt.Errorf("notify: channels[%d] (%q): %w", i, name, err)
		}
		if n.byName[ch.Name] != nil {
			return nil, fmt.Errorf("notify: channels[%d].Name: %q is used twice; give each channel its own name", i, ch.Name)
		}
		n.byName[ch.Name] = ch
		n.channels = append(n.channels, ch)
	}
	return n, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func (n *Notifier) channelOf(c Channel) (*channel, error) {
	if c.Name == "" {
		c.Name = string(c.Kind)
	}
	c.Events = append([]Kind(nil), c.Events...)
	ch := &channel{Channel: c}
	for i, k := range c.Events {
		if !k.valid() {
			return nil, fmt.Errorf("unknown event %q in Events[%d] (want one of %v)", k, i, Kinds())
		}
		if ch.events == nil {
			ch.events = map[Kind]bool{}
		}
		ch.events[k] = true
	}
	zeroOthers := func(webhook, slack, email bool) error {
		switch {
		case !webhook && !isZeroWebhook(c.Webhook):
			return fmt.Errorf("section Webhook is set on a %s channel", c.Kind)
		case !slack && c.Slack != (SlackChannel{}):
			return fmt.Errorf("section Slack is set on a %s channel", c.Kind)
		case !email && !isZeroEmail(c.Email):
			return fmt.Errorf("section Email is set on a %s channel", c.Kind)
		}
		return nil
	}
	switch c.Kind {
	case ChannelWebhook:
		if err := zeroOthers(true, false, false); err != nil {
			return nil, err
		}
		u, err := url.Parse(c.Webhook.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("Webhook.URL: want an absolute http or https URL")
		}
		if u.User != nil {
			return nil, errors.New("Webhook.URL: must not carry credentials (user:password@); the request is signed with Webhook.Key")
		}
		if c.Webhook.Key.IsZero() {
			return nil, errors.New("Webhook.Key: a reference to the HMAC signing key (env or file) is required")
		}
		ch.send = n.webhookSender(&ch.Channel)
	case ChannelSlack:
		if err := zeroOthers(false, true, false); err != nil {
			return nil, err
		}
		if c.Slack.URL.IsZero() {
			return nil, errors.New("Slack.URL: a reference to the incoming-webhook URL (env or file) is required")
		}
		ch.send = n.slackSender(&ch.Channel)
	case ChannelEmail:
		if err := zeroOthers(false, false, true); err != nil {
			return nil, err
		}
		e := c.Email
		if host, port, err := net.SplitHostPort(e.Addr); err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("Email.Addr: want host:port, got %q", e.Addr)
		} else if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("Email.Addr: port %q is not a number in 1-65535", port)
		}
		if _, err := mail.ParseAddress(e.From); err != nil {
			return nil, fmt.Errorf("Email.From: %q is not an address: %w", e.From, err)
		}
		if len(e.To) == 0 {
			return nil, errors.New("Email.To: at least one recipient is required")
		}
		for i, to := range e.To {
			if _, err := mail.ParseAddress(to); err != nil {
				return nil, fmt.Errorf("Email.To[%d]: %q is not an address: %w", i, to, err)
			}
		}
		if e.Username != "" && e.Password.IsZero() {
			return nil, errors.New("Email.Password: a reference (env or file) is required with Email.Username")
		}
		if e.Username == "" && !e.Password.IsZero() {
			return nil, errors.New("Email.Username: required with Email.Password")
		}
		ch.Email.To = append([]string(nil), e.To...)
		ch.send = n.emailSender(&ch.Channel)
	case "":
		return nil, errors.New("Kind: required (webhook, slack or email)")
	default:
		return nil, fmt.Errorf("Kind: unknown %q (want webhook, slack or email)", c.Kind)
	}
	return ch, nil
}

func isZeroWebhook(w WebhookChannel) bool { return w.URL == "" && w.Key.IsZero() }

func isZeroEmail(e EmailChannel) bool {
	return e.Addr == "" && e.From == "" && len(e.To) == 0 && e.Username == "" && e.Password.IsZero() && !e.StartTLS
}

// Notify records the event for every channel that wants it and returns without sending
// anything (the sender loop does that). It never blocks a drill for long: the writes are
// bounded by EnqueueTimeout and survive ctx's cancellation, so a run ending in an abort is
// still reported. A failure to record is logged and returned; callers running a drill should
// carry on regardless.
func (n *Notifier) Notify(ctx context.Context, ev Event) error {
	if !ev.Kind.valid() {
		err := fmt.Errorf("notify: unknown event %q", ev.Kind)
		n.logger.Error("notification dropped", "event", string(ev.Kind), "run_id", ev.RunID, "error", err)
		return err
	}
	now := n.clock.Now()
	at := ev.At
	if at.IsZero() {
		at = now
	}
	raw, err := json.Marshal(payloadOf(ev, at))
	if err != nil {
		err = fmt.Errorf("notify %s of run %s: encode fields: %w", ev.Kind, ev.RunID, err)
		n.logger.Error("notification dropped", "event", string(ev.Kind), "run_id", ev.RunID, "error", err)
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.EnqueueTimeout)
	defer cancel()
	var errs []error
	queued := 0
	for _, ch := range n.channels {
		if !ch.wants(ev.Kind) {
			continue
		}
		_, err := n.cfg.Store.NotificationEnqueue(ctx, &store.NotificationEnqueueParams{
			RunID: ev.RunID, Event: string(ev.Kind), Channel: ch.Name, Payload: json.RawMessage(raw), At: now,
		})
		if err != nil {
			n.logger.Error("notification not recorded", "event", string(ev.Kind), "run_id", ev.RunID, "channel", ch.Name, "error", err)
			errs = append(errs, err)
			continue
		}
		queued++
	}
	if queued > 0 {
		select {
		case n.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("notify %s of run %s: %w", ev.Kind, ev.RunID, errors.Join(errs...))
	}
	return nil
}

// Start runs the sender loop until ctx ends or Stop is called. It returns at once; an error
// only if the notifier was already started or stopped.
func (n *Notifier) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.stopped:
		return errors.New("notify: start: the notifier was stopped")
	case n.started:
		return errors.New("notify: start: already started")
	}
	n.started = true
	ctx, n.cancel = context.WithCancel(ctx)
	n.done = make(chan struct{})
	go n.loop(ctx, n.done)
	return nil
}

// Stop ends the sender loop and waits for it; sends in flight are cancelled and their rows,
// still claimed, come due again after the claim lease. Stop is idempotent.
func (n *Notifier) Stop() {
	n.mu.Lock()
	n.stopped = true
	cancel, done := n.cancel, n.done
	n.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (n *Notifier) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		full := n.sendDue(ctx)
		if ctx.Err() != nil {
			return
		}
		if full {
			continue // there may be more due right now
		}
		t := n.clock.NewTimer(n.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-n.wake:
			t.Stop()
		case <-t.C():
		}
	}
}

// sendDue claims one batch of due notifications, sends them concurrently and records each
// outcome. It reports whether the batch was full.
func (n *Notifier) sendDue(ctx context.Context) bool {
	due, err := n.cfg.Store.NotificationClaimDue(ctx, n.clock.Now(), n.cfg.BatchSize)
	if err != nil {
		if ctx.Err() == nil {
			n.logger.Error("claim due notifications", "error", err)
		}
		return false
	}
	var wg sync.WaitGroup
	for _, no := range due {
		wg.Go(func() { n.deliver(ctx, no) })
	}
	wg.Wait()
	return len(due) == n.cfg.BatchSize
}

func (n *Notifier) deliver(ctx context.Context, no *store.Notification) {
	attempt := no.Attempts + 1
	log := n.logger.With("notification_id", no.ID, "event", no.Event, "channel", no.Channel, "attempt", attempt)
	if no.RunID != "" {
		log = log.With("run_id", no.RunID)
	}
	var err error
	permanent := false
	ch := n.byName[no.Channel]
	var p Payload
	switch {
	case ch == nil:
		err, permanent = fmt.Errorf("channel %q is not configured", no.Channel), true
	case json.Unmarshal(no.Payload, &p) != nil:
		err, permanent = errors.New("stored payload is not a notification payload"), true
	default:
		p.ID = no.ID
		timeout := n.cfg.HTTPTimeout
		if ch.Kind == ChannelEmail {
			timeout = n.cfg.SMTPTimeout
		}
		sctx, cancel := context.WithTimeout(ctx, timeout)
		err = ch.send(sctx, &p)
		cancel()
		if err != nil && ctx.Err() != nil {
			// Shutting down: leave the row claimed; it comes due again after the lease.
			log.Debug("notification send interrupted by shutdown")
			return
		}
	}

	now := n.clock.Now()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.EnqueueTimeout)
	defer cancel()
	if err == nil {
		if rerr := n.cfg.Store.NotificationResult(rctx, &store.NotificationResultParams{ID: no.ID, SentAt: &now}); rerr != nil {
			log.Error("notification sent, result not recorded", "error", rerr)
			return
		}
		log.Info("notification sent")
		return
	}
	msg := err.Error()
	final := permanent || attempt >= n.cfg.MaxAttempts
	channel := no.Channel
	if ch == nil {
		channel = "unconfigured" // a stale row's name is not a channel this estate has
	}
	n.cfg.Metrics.NotificationFailed(channel, final)
	if final {
		if rerr := n.cfg.Store.NotificationResult(rctx, &store.NotificationResultParams{ID: no.ID, Error: msg}); rerr != nil {
			log.Error("notification failed, result not recorded", "error", msg, "record_error", rerr)
			return
		}
		log.Error("notification failed for good", "error", msg, "max_attempts", n.cfg.MaxAttempts)
		return
	}
	next := now.Add(n.backoff(attempt))
	if rerr := n.cfg.Store.NotificationResult(rctx, &store.NotificationResultParams{ID: no.ID, Error: msg, NextAttempt: &next}); rerr != nil {
		log.Error("notification failed, result not recorded", "error", msg, "record_error", rerr)
		return
	}
	log.Warn("notification failed, will retry", "error", msg, "next_attempt_at", next.UTC())
}

// backoff is the wait after the given failed attempt (1-based): Backoff, doubling, capped.
func (n *Notifier) backoff(attempt int) time.Duration {
	d := n.cfg.Backoff
	for i := 1; i < attempt && d < n.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, n.cfg.MaxBackoff)
}
