package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/firedrill/firedrill/migrations"
)

// MigrationStatus is one migration of the store's dialect and whether it is applied.
type MigrationStatus struct {
	Version int64
	// Name is the migration's file name, e.g. 00001_initial.sql.
	Name    string
	Applied bool
	// AppliedAt is when it was applied (UTC); zero when pending or when reporting a result of
	// MigrateUp/MigrateDownTo (then it is the time of the call).
	AppliedAt time.Time
}

func (s *Store) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations.FS, string(s.dialect))
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	var dialect goose.Dialect
	switch s.dialect {
	case DialectPostgres:
		dialect = goose.DialectPostgres
		// Two replicas running `migrate up` at once must not both apply a migration.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case DialectSQLite:
		dialect = goose.DialectSQLite3
	}
	return goose.NewProvider(dialect, s.sqlDB, fsys, opts...)
}

func (s *Store) applied(results []*goose.MigrationResult, up bool) ([]MigrationStatus, error) {
	out := make([]MigrationStatus, 0, len(results))
	now := utcMS(s.clock.Now())
	for _, r := range results {
		if r.Error != nil {
			return out, r.Error
		}
		st := MigrationStatus{Version: r.Source.Version, Name: path.Base(r.Source.Path), Applied: up}
		if up {
			st.AppliedAt = now
		}
		out = append(out, st)
	}
	return out, nil
}

// MigrateUp applies every pending migration and returns those it applied (none when the
// schema is current).
func (s *Store) MigrateUp(ctx context.Context) ([]MigrationStatus, error) {
	p, err := s.provider()
	if err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
	}
	results, err := p.Up(ctx)
	applied, rerr := s.applied(results, true)
	if err == nil {
		err = rerr
	}
	if err != nil {
		return applied, fmt.Errorf("migrate up: %w", err)
	}
	for _, a := range applied {
		s.logger.InfoContext(ctx, "migration applied", "version", a.Version, "name", a.Name)
	}
	return applied, nil
}

// MigrateDownTo rolls back every applied migration newer than version (0 rolls back all) and
// returns those it rolled back, newest first.
func (s *Store) MigrateDownTo(ctx context.Context, version int64) ([]MigrationStatus, error) {
	p, err := s.provider()
	if err != nil {
		return nil, fmt.Errorf("migrate down to %d: %w", version, err)
	}
	results, err := p.DownTo(ctx, version)
	rolled, rerr := s.applied(results, false)
	if err == nil {
		err = rerr
	}
	if err != nil {
		return rolled, fmt.Errorf("migrate down to %d: %w", version, err)
	}
	for _, r := range rolled {
		s.logger.InfoContext(ctx, "migration rolled back", "version", r.Version, "name", r.Name)
	}
	return rolled, nil
}

// MigrateStatus lists every migration of the store's dialect, oldest first.
func (s *Store) MigrateStatus(ctx context.Context) ([]MigrationStatus, error) {
	p, err := s.provider()
	if err != nil {
		return nil, fmt.Errorf("migrate status: %w", err)
	}
	sts, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(sts))
	for _, st := range sts {
		m := MigrationStatus{
			Version: st.Source.Version,
			Name:    path.Base(st.Source.Path),
			Applied: st.State == goose.StateApplied,
		}
		if m.Applied {
			m.AppliedAt = utcMS(st.AppliedAt)
		}
		out = append(out, m)
	}
	return out, nil
}

// SchemaCheck returns ErrSchemaOutdated, naming the database's version, the binary's and the
// pending versions, when the database lacks migrations this binary carries, and ErrSchemaNewer
// when it carries a migration newer than any this binary knows (a newer firedrill migrated
// it). Serving commands call it at start instead of migrating. A current schema is recognised
// without goose's migration lock (HasPending and GetVersions take none), so a check never
// waits for, or blocks, a `migrate up` of another replica; only an outdated or unversioned
// database takes the lock to name what is pending.
func (s *Store) SchemaCheck(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return fmt.Errorf("schema check: %w", err)
	}
	if pending, err := p.HasPending(ctx); err == nil && !pending {
		current, known, err := s.schemaVersions(ctx, p)
		if err != nil {
			return fmt.Errorf("schema check: %w", err)
		}
		if current > known {
			return fmt.Errorf("%w: the database is at version %d, this firedrill knows versions up to %d; run a firedrill release that knows version %d",
				ErrSchemaNewer, current, known, current)
		}
		return nil
	}
	sts, err := s.MigrateStatus(ctx)
	if err != nil {
		return fmt.Errorf("schema check: %w", err)
	}
	var pending []string
	var current, known int64
	for _, st := range sts {
		known = max(known, st.Version)
		if st.Applied {
			current = max(current, st.Version)
		} else {
			pending = append(pending, strconv.FormatInt(st.Version, 10))
		}
	}
	if len(pending) > 0 {
		return fmt.Errorf("%w: the database is at version %d, this firedrill expects %d (pending migrations %s); run `firedrill migrate up`",
			ErrSchemaOutdated, current, known, strings.Join(pending, ", "))
	}
	return nil
}

// SchemaVersion returns the newest migration applied to the database (0 when none) and the
// newest this binary carries.
func (s *Store) SchemaVersion(ctx context.Context) (current, known int64, err error) {
	p, err := s.provider()
	if err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	current, known, err = s.schemaVersions(ctx, p)
	if err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	return current, known, nil
}

func (s *Store) schemaVersions(ctx context.Context, p *goose.Provider) (current, known int64, err error) {
	// The last version applied and the newest file, read without goose's lock (GetDBVersion
	// would take it, and wait for another replica's `migrate up`).
	current, known, err = p.GetVersions(ctx)
	if err != nil {
		return 0, known, err
	}
	return current, known, nil
}

// HealthSchemaTTL is how long Health trusts a schema it found current.
const HealthSchemaTTL = 30 * time.Second

// Health is a serving replica's health check: the database answers a SELECT 1, and the schema
// is what this binary expects (SchemaCheck, whose success is trusted for HealthSchemaTTL). It
// takes no lock: concurrent probes during a migration of another replica answer at once.
func (s *Store) Health(ctx context.Context) error {
	var one int
	if err := s.sqlDB.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("health: database: %w", err)
	}
	now := s.clock.Now()
	if now.UnixNano() < s.schemaOKUntil.Load() {
		return nil
	}
	if err := s.SchemaCheck(ctx); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	s.schemaOKUntil.Store(now.Add(HealthSchemaTTL).UnixNano())
	return nil
}
