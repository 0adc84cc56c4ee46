// Package store owns firedrill's persistent state: the estate snapshot, plans, runs with their
// fenced leases, step results, measurements and the append-only run timeline; schedules and
// their fires; people, their roles (with every grant recorded) and API tokens (hashes only);
// and the append-only log of control operations. It is the only
// package that talks to the database (PostgreSQL in production, embedded SQLite for a single
// node) and the only one that imports gorm; callers see plain record types and the sentinel
// errors below, never a gorm or driver error.
//
// Every write for a run is fenced by the run's lease epoch (see RunClaim): a replica whose lease
// was taken over gets ErrLeaseLost and must stop. Every write of a run's state follows the run
// state machine of package drills (ErrInvalidTransition). Who acted is a drills.Actor stored in
// columns, never a string to parse. The store checks integrity (states, deadlines, duplicates,
// the last admin); who may do what is decided before it is called (orchestrator/control).
// Operations that callers compose have ...Tx twins that run inside InTx. Migrations are applied
// only on request (MigrateUp); Open never changes the schema.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/firedrill/firedrill/internal/clock"
)

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrNotFound: the requested row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrLeaseLost: the run's lease epoch moved on (another replica claimed it); stop at once.
	ErrLeaseLost = errors.New("run lease lost")
	// ErrRunTerminal: the run has ended; it can be neither claimed nor written to.
	ErrRunTerminal = errors.New("run is terminal")
	// ErrSchemaOutdated: migrations are pending; run `firedrill migrate up`.
	ErrSchemaOutdated = errors.New("database schema is outdated")
	// ErrSchemaNewer: the database carries migrations this binary does not know (a newer
	// firedrill migrated it); this binary must not work on it.
	ErrSchemaNewer = errors.New("database schema is newer than this firedrill")
	// ErrDuplicate: a row with the same natural key exists (same step attempt, same measured
	// service in a run).
	ErrDuplicate = errors.New("already exists")
	// ErrStepFinished: the step attempt already has its outcome recorded.
	ErrStepFinished = errors.New("step already finished")
)

// Dialect names the SQL database behind a Store.
type Dialect string

// Dialects.
const (
	DialectPostgres Dialect = "postgres"
	DialectSQLite   Dialect = "sqlite"
)

// Defaults applied by Open to zero Config fields.
const (
	DefaultMaxOpenConns     = 10
	DefaultStatementTimeout = 30 * time.Second
	// DefaultSQLiteBusyTimeout is how long an SQLite connection waits for a lock held by
	// another process before failing.
	DefaultSQLiteBusyTimeout = 5 * time.Second
)

// Config configures Open.
type Config struct {
	// DatabaseURL selects the database. postgres:// or postgresql:// → PostgreSQL;
	// sqlite:PATH, file:PATH or a path ending in .db → SQLite. Required.
	DatabaseURL string
	// MaxOpenConns bounds the connection pool. Defaults to 10. SQLite always uses a single
	// connection (one writer), whatever is set here.
	MaxOpenConns int
	// StatementTimeout is PostgreSQL's server-side statement_timeout for every connection.
	// Defaults to 30s. Ignored by SQLite.
	StatementTimeout time.Duration
	// Logger receives the store's diagnostics. Defaults to a logger that discards.
	Logger *slog.Logger
	// Clock stamps times the caller did not give. Defaults to the wall clock.
	Clock clock.Clock
	// FindingDue is how long after a run ends the findings it reveals are due (the default
	// retest deadline; a person may change a finding's date). Defaults to 90 days
	// (DefaultFindingDue).
	FindingDue time.Duration
	// OnCallError is called for each statement the database failed (refused, or could not
	// be reached), e.g. to count them. Optional.
	OnCallError func()
	// Version and Commit identify the firedrill build (internal/version); every run this
	// store inserts records them. Empty means unknown.
	Version, Commit string
}

// Store is the database behind firedrill. It is safe for concurrent use.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	dialect Dialect
	clock   clock.Clock
	logger  *slog.Logger
	// schemaOKUntil (UnixNano) is until when Health trusts the schema it last found current.
	schemaOKUntil atomic.Int64
	// version and commit are stamped on every run inserted.
	version, commit string
	// findingDue is Config.FindingDue, defaulted.
	findingDue time.Duration
	lastPassed lastPassedCache
	// chainer appends the pending audit rows (PostgreSQL; see auditchain.go).
	chainer *auditChainer
	// snapshotPause, set by tests only, runs between RunSnapshotGet's read of the run row and
	// its other reads on PostgreSQL, which are then sent as a second round trip.
	snapshotPause func()
}

// Open connects to the database cfg names and pings it. It does not migrate: call MigrateUp
// (or check with SchemaCheck). Error messages never contain the URL's password.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("open store: DatabaseURL is required")
	}
	if cfg.MaxOpenConns < 0 {
		return nil, fmt.Errorf("open store: MaxOpenConns must not be negative, got %d", cfg.MaxOpenConns)
	}
	if cfg.StatementTimeout < 0 {
		return nil, fmt.Errorf("open store: StatementTimeout must not be negative, got %s", cfg.StatementTimeout)
	}
	if cfg.FindingDue < 0 {
		return nil, fmt.Errorf("open store: FindingDue must not be negative, got %s", cfg.FindingDue)
	}
	if cfg.FindingDue == 0 {
		cfg.FindingDue = DefaultFindingDue
	}
	if cfg.MaxOpenConns == 0 {
		cfg.MaxOpenConns = DefaultMaxOpenConns
	}
	if cfg.StatementTimeout == 0 {
		cfg.StatementTimeout = DefaultStatementTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	dialect, err := dialectOf(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", RedactURL(cfg.DatabaseURL), err)
	}
	s := &Store{dialect: dialect, clock: cfg.Clock, logger: cfg.Logger.With("component", "store"), version: cfg.Version, commit: cfg.Commit, findingDue: cfg.FindingDue}
	if err := s.open(ctx, cfg); err != nil {
		return nil, redactErr(fmt.Errorf("open store %s: %w", RedactURL(cfg.DatabaseURL), err), cfg.DatabaseURL)
	}
	if dialect == DialectPostgres {
		s.startAuditChainer()
	}
	s.logger.Debug("store opened", "dialect", string(dialect), "database_url", RedactURL(cfg.DatabaseURL))
	return s, nil
}

func (s *Store) open(ctx context.Context, cfg Config) error {
	gcfg := &gorm.Config{
		NowFunc:                func() time.Time { return utcMS(s.clock.Now()) },
		Logger:                 logger.Discard,
		TranslateError:         true,
		SkipDefaultTransaction: true,
	}
	var dialector gorm.Dialector
	switch s.dialect {
	case DialectPostgres:
		pcfg, err := pgx.ParseConfig(cfg.DatabaseURL)
		if err != nil {
			return err
		}
		if pcfg.RuntimeParams == nil {
			pcfg.RuntimeParams = map[string]string{}
		}
		pcfg.RuntimeParams["statement_timeout"] = fmt.Sprint(cfg.StatementTimeout.Milliseconds())
		pcfg.RuntimeParams["timezone"] = "UTC"
		s.sqlDB = stdlib.OpenDB(*pcfg)
		s.sqlDB.SetMaxOpenConns(cfg.MaxOpenConns)
		s.sqlDB.SetMaxIdleConns(cfg.MaxOpenConns)
		dialector = postgres.New(postgres.Config{Conn: s.sqlDB})
	case DialectSQLite:
		dsn, err := sqliteDSN(cfg.DatabaseURL)
		if err != nil {
			return err
		}
		s.sqlDB, err = sql.Open(sqlite.DriverName, dsn)
		if err != nil {
			return err
		}
		// One connection: SQLite has a single writer, and a second pooled connection would
		// only wait on the file lock (or deadlock against an open transaction).
		s.sqlDB.SetMaxOpenConns(1)
		s.sqlDB.SetMaxIdleConns(1)
		s.sqlDB.SetConnMaxLifetime(0)
		s.sqlDB.SetConnMaxIdleTime(0)
		dialector = &sqlite.Dialector{Conn: s.sqlDB}
	}
	db, err := gorm.Open(dialector, gcfg)
	if err != nil {
		_ = s.sqlDB.Close()
		return err
	}
	s.db = db
	if cfg.OnCallError != nil {
		if err := countCallErrors(db, cfg.OnCallError); err != nil {
			_ = s.sqlDB.Close()
			return err
		}
	}
	if err := s.sqlDB.PingContext(ctx); err != nil {
		_ = s.sqlDB.Close()
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Close stops the audit chainer, chains what is still pending (bounded by
// auditChainerDrainTimeout) and closes the connection pool.
func (s *Store) Close() error {
	s.stopAuditChainer()
	return s.sqlDB.Close()
}

// Dialect reports which database the store talks to.
func (s *Store) Dialect() Dialect { return s.dialect }

func dialectOf(u string) (Dialect, error) {
	lower := strings.ToLower(u)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return DialectPostgres, nil
	case strings.HasPrefix(lower, "sqlite:"), strings.HasPrefix(lower, "file:"), strings.HasSuffix(lower, ".db"):
		return DialectSQLite, nil
	}
	return "", errors.New("unsupported database URL: want postgres://, postgresql://, sqlite:PATH, file:PATH or a path ending in .db")
}

// sqliteDSN turns sqlite:PATH, file:PATH[?query] or PATH.db into a go-sqlite DSN with the
// pragmas firedrill relies on: foreign keys enforced, WAL so readers do not block the writer,
// a busy timeout for other processes, and IMMEDIATE transactions so a writer never has to
// upgrade a read lock.
func sqliteDSN(u string) (string, error) {
	path, query := u, ""
	switch {
	case strings.HasPrefix(strings.ToLower(u), "sqlite://"):
		path = u[len("sqlite://"):]
	case strings.HasPrefix(strings.ToLower(u), "sqlite:"):
		path = u[len("sqlite:"):]
	case strings.HasPrefix(strings.ToLower(u), "file:"):
		path = u[len("file:"):]
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	if path == "" {
		return "", errors.New("sqlite database URL has no path")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("sqlite database URL query: %w", err)
	}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", DefaultSQLiteBusyTimeout.Milliseconds()))
	q.Add("_pragma", "synchronous(NORMAL)")
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	// In a file: URI "#" starts a fragment and "%" an escape: escape both, so that a path
	// holding them (a test's temporary directory "TestX/sub#01") names the file it says.
	path = strings.NewReplacer("%", "%25", "#", "%23").Replace(path)
	return "file:" + path + "?" + q.Encode(), nil
}

var (
	passwordParam = regexp.MustCompile(`(?i)(password=)[^&\s]*`)
	// userinfoPassword finds scheme://user:PASSWORD@ in strings url.Parse rejects.
	userinfoPassword = regexp.MustCompile(`(://[^:/@\s]*:)([^@\s]*)@`)
)

// redactUnparsed masks what looks like a password in a string that is not a valid URL.
func redactUnparsed(u string) string {
	u = userinfoPassword.ReplaceAllString(u, "${1}***@")
	return passwordParam.ReplaceAllString(u, "${1}***")
}

// RedactURL returns u with any password replaced by ***, as user:***@host, so that it can be
// logged or shown. Strings that are not URLs are returned with password=... values masked.
func RedactURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Scheme == "" {
		return redactUnparsed(u)
	}
	var b strings.Builder
	b.WriteString(parsed.Scheme)
	b.WriteString(":")
	if parsed.Opaque != "" {
		b.WriteString(parsed.Opaque)
	} else {
		if parsed.Host != "" || parsed.User != nil {
			b.WriteString("//")
		}
		if parsed.User != nil {
			b.WriteString(parsed.User.Username())
			if _, ok := parsed.User.Password(); ok {
				b.WriteString(":***")
			}
			b.WriteString("@")
		}
		b.WriteString(parsed.Host)
		b.WriteString(parsed.EscapedPath())
	}
	if parsed.RawQuery != "" {
		q := parsed.Query()
		for k := range q {
			if strings.EqualFold(k, "password") {
				q[k] = []string{"***"}
			}
		}
		b.WriteString("?")
		b.WriteString(strings.ReplaceAll(q.Encode(), "%2A%2A%2A", "***"))
	}
	return b.String()
}

// redactErr guarantees that no password from dsn survives in err's message, whatever a driver
// chose to put there. The chain is kept for errors.Is/As.
func redactErr(err error, dsn string) error {
	if err == nil {
		return nil
	}
	var secrets []string
	for _, m := range userinfoPassword.FindAllStringSubmatch(dsn, -1) {
		secrets = append(secrets, m[2])
	}
	for _, m := range passwordParam.FindAllString(dsn, -1) {
		secrets = append(secrets, m[len("password="):])
	}
	if parsed, perr := url.Parse(dsn); perr == nil {
		if parsed.User != nil {
			if pw, ok := parsed.User.Password(); ok && pw != "" {
				secrets = append(secrets, pw, url.UserPassword("", pw).String()[1:])
			}
		}
		for k, v := range parsed.Query() {
			if strings.EqualFold(k, "password") {
				secrets = append(secrets, v...)
			}
		}
	}
	msg := err.Error()
	clean := msg
	for _, sec := range secrets {
		if sec != "" {
			clean = strings.ReplaceAll(clean, sec, "***")
		}
	}
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// utcMS is how every time is stored: UTC, truncated to milliseconds.
func utcMS(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func utcMSPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := utcMS(*t)
	return &v
}

// now is the store's clock reading in storage form; at, when set, wins.
func (s *Store) now(at time.Time) time.Time {
	if at.IsZero() {
		return utcMS(s.clock.Now())
	}
	return utcMS(at)
}

// translate maps gorm and driver errors to the package's sentinels.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("%w: referenced row: %w", ErrNotFound, err)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%w: %w", ErrDuplicate, err)
	}
	return err
}

// pageLimit is how many rows a list reads: def when the caller asked for none (or fewer than
// one), never more than most.
func pageLimit(asked, def, most int) int {
	switch {
	case asked <= 0:
		return def
	case asked > most:
		return most
	}
	return asked
}
