package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/secret"
)

// Defaults for Config.
const (
	DefaultCallTimeout    = 10 * time.Second
	DefaultPromoteTimeout = 60 * time.Second
	DefaultPollInterval   = 50 * time.Millisecond
	DefaultMaxAttempts    = 4
	DefaultRetryBackoff   = 200 * time.Millisecond
	// DefaultCanaryInterval applies when a service's canary block sets no interval.
	DefaultCanaryInterval = 200 * time.Millisecond
	// DefaultCanaryRetention is how old another run's canary rows must be before a canary
	// starting on the same table removes them (rows a run could not remove itself).
	DefaultCanaryRetention = 7 * 24 * time.Hour
)

// Errors callers branch on. They are wrapped with the site and database concerned.
var (
	// ErrAlreadyPrimary means postgres.promote found the database out of recovery and
	// refused to touch it.
	ErrAlreadyPrimary = errors.New("already primary")
	// ErrNotStandby means a database expected to be a standby is not in recovery.
	ErrNotStandby = errors.New("not a standby (not in recovery)")
	// ErrNotStreaming means a standby has no WAL receiver streaming from its primary.
	ErrNotStreaming = errors.New("standby is not streaming")
	// ErrLagExceeded means a standby's replication lag is over a limit of the step.
	ErrLagExceeded = errors.New("replication lag over the limit")
	// ErrUnreachable means a database could not be connected to, after the retries.
	ErrUnreachable = errors.New("database unreachable")
	// ErrFenceDoesNotHold means postgres.fence set the database read-only but a write still
	// commits (or a setting would let one), or postgres.unfence reset it but writes still fail.
	ErrFenceDoesNotHold = errors.New("fence does not hold")
)

// Config configures the actions and canaries. A zero field means its default.
type Config struct {
	// Secrets resolves the DSN references of the sites' databases. Defaults to the process
	// environment and files.
	Secrets *secret.Resolver
	// CallTimeout bounds one connection attempt or one statement. Defaults to 10s.
	CallTimeout time.Duration
	// PromoteTimeout bounds how long postgres.promote waits for pg_promote to finish and,
	// again, for the promoted database to commit a write. Whole seconds (pg_promote's unit),
	// at least 1s. Defaults to 60s.
	PromoteTimeout time.Duration
	// PollInterval paces the checks that wait for a promoted database to accept writes; it
	// is the resolution of the recorded writable_at. Defaults to 50ms.
	PollInterval time.Duration
	// MaxAttempts bounds how often a connection that failed transiently is tried. Defaults to 4.
	MaxAttempts int
	// RetryBackoff is the pause before the second connection attempt; it doubles each time.
	// Defaults to 200ms.
	RetryBackoff time.Duration
	// Clock stamps evidence and paces polls and retries. Defaults to the wall clock.
	Clock clock.Clock
	// CanaryRetention: a canary starting on a table first removes the rows of other runs older
	// than this (runs that could not remove their own). Defaults to 7 days; longer than any
	// drill, whose rows must outlive its measurement.
	CanaryRetention time.Duration
	// Metrics counts the connections to a site's database that failed for good. Optional
	// (nil records nothing).
	Metrics *metrics.Metrics
}

// Postgres holds the configuration shared by the actions and canaries. It keeps no
// connections between calls: a drill touches each database a handful of times.
type Postgres struct {
	cfg Config
}

// New applies the defaults to cfg and validates it.
func New(cfg Config) (*Postgres, error) {
	if cfg.Secrets == nil {
		cfg.Secrets = &secret.Resolver{}
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.PromoteTimeout == 0 {
		cfg.PromoteTimeout = DefaultPromoteTimeout
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.CanaryRetention == 0 {
		cfg.CanaryRetention = DefaultCanaryRetention
	}
	switch {
	case cfg.CallTimeout < 0:
		return nil, fmt.Errorf("postgres config: CallTimeout must be positive, got %s", cfg.CallTimeout)
	case cfg.PromoteTimeout < time.Second || cfg.PromoteTimeout%time.Second != 0:
		return nil, fmt.Errorf("postgres config: PromoteTimeout must be whole seconds, at least 1s, got %s", cfg.PromoteTimeout)
	case cfg.PollInterval < 0:
		return nil, fmt.Errorf("postgres config: PollInterval must be positive, got %s", cfg.PollInterval)
	case cfg.MaxAttempts < 1:
		return nil, fmt.Errorf("postgres config: MaxAttempts must be at least 1, got %d", cfg.MaxAttempts)
	case cfg.CanaryRetention < 0:
		return nil, fmt.Errorf("postgres config: CanaryRetention must be positive, got %s", cfg.CanaryRetention)
	case cfg.RetryBackoff < 0:
		return nil, fmt.Errorf("postgres config: RetryBackoff must be positive, got %s", cfg.RetryBackoff)
	}
	return &Postgres{cfg: cfg}, nil
}

// Actions returns every postgres.* action.
func (p *Postgres) Actions() []actions.Action {
	return []actions.Action{&Promote{p: p}, &CheckReplication{p: p}, &Fence{p: p}, &Unfence{p: p}}
}

// target is one site's database, resolved: its connection settings and what may be shown of it.
type target struct {
	site     string
	database string
	// addr is host:port, the only part of the DSN that messages and evidence show.
	addr string
	cfg  *pgx.ConnConfig
	// secrets are the strings that must never be shown (the DSN and its password).
	secrets []string
}

func (t *target) String() string {
	return fmt.Sprintf("database %s on site %s (%s)", t.database, t.site, t.addr)
}

// target resolves the named database of a site.
func (p *Postgres) target(site *drills.Site, name string) (*target, error) {
	switch {
	case site == nil:
		return nil, errors.New("no site given")
	case name == "":
		return nil, fmt.Errorf("site %s: no database given", site.Name)
	}
	db := site.Database(name)
	if db == nil {
		return nil, fmt.Errorf("site %s has no postgres database %q", site.Name, name)
	}
	ref := secret.Ref{Env: db.DSNEnv, File: db.DSNFile}
	if ref.IsZero() {
		return nil, fmt.Errorf("database %s on site %s: no dsn_env or dsn_file is configured", name, site.Name)
	}
	dsn, err := p.cfg.Secrets.Resolve(ref)
	if err != nil {
		return nil, fmt.Errorf("database %s on site %s: connection string: %w", name, site.Name, err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts passwords on a best-effort basis only: show none of its message.
		return nil, fmt.Errorf("database %s on site %s: cannot parse the connection string from %s", name, site.Name, ref)
	}
	t := &target{
		site:     site.Name,
		database: name,
		addr:     net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))),
		cfg:      cfg,
		secrets:  []string{dsn},
	}
	if cfg.Password != "" {
		t.secrets = append(t.secrets, cfg.Password)
	}
	return t, nil
}

// minSecretLen is the shortest secret scrubbed from messages: replacing a one-letter password
// everywhere would garble the message without protecting anything.
const minSecretLen = 4

// safe returns err with every secret of t removed from its message. errors.Is and errors.As
// still see the original chain (pgx's own errors never carry the password).
func (t *target) safe(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, s := range t.secrets {
		if len(s) >= minSecretLen {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	return &safeError{msg: msg, err: err}
}

// safeError carries a scrubbed message over the original error.
type safeError struct {
	msg string
	err error
}

func (e *safeError) Error() string { return e.msg }
func (e *safeError) Unwrap() error { return e.err }

// connect opens a connection to t, retrying transient faults with backoff.
func (p *Postgres) connect(ctx context.Context, t *target) (*pgx.Conn, error) {
	backoff := p.cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, p.cfg.CallTimeout)
		conn, err := pgx.ConnectConfig(callCtx, t.cfg)
		timedOut := callCtx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil {
			return conn, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect to %s: %w", t, errors.Join(ctx.Err(), t.safe(err)))
		}
		transient := timedOut || retryable(err)
		if !transient || attempt >= p.cfg.MaxAttempts {
			p.cfg.Metrics.PostgresCallFailed(t.site)
			if transient {
				return nil, fmt.Errorf("connect to %s (attempt %d of %d): %w: %w", t, attempt, p.cfg.MaxAttempts, ErrUnreachable, t.safe(err))
			}
			return nil, fmt.Errorf("connect to %s: %w", t, t.safe(err))
		}
		if serr := p.sleep(ctx, backoff); serr != nil {
			return nil, fmt.Errorf("connect to %s: %w", t, errors.Join(serr, t.safe(err)))
		}
		backoff *= 2
	}
}

// sleep waits d on the clock, or until ctx is done.
func (p *Postgres) sleep(ctx context.Context, d time.Duration) error {
	timer := p.cfg.Clock.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C():
		return nil
	}
}

// closeConn closes conn without letting a dead peer hold the caller up.
func (p *Postgres) closeConn(ctx context.Context, conn *pgx.Conn) {
	if conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// retryable reports whether a connection error is a transient fault worth another attempt.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P03", // cannot_connect_now: starting up, shutting down, in crash recovery
			"53300": // too_many_connections
			return true
		}
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		pgconn.Timeout(err) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF)
}

// sqlState returns the SQLSTATE of a server error, or "".
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// parseLSN parses a pg_lsn's text form ("16/B374D848").
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("invalid LSN %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid LSN %q", s)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid LSN %q", s)
	}
	return h<<32 | l, nil
}

// nullable returns *v, or nil for a SQL NULL, for evidence maps.
func nullable[T any](v *T) any {
	if v == nil {
		return nil
	}
	return *v
}

// utcTime returns t in UTC, or nil for a SQL NULL, for evidence maps.
func utcTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}
