// Package storetest gives tests a real, migrated store: a fresh PostgreSQL database per call
// (dropped at cleanup) or a SQLite file in a temporary directory. It is for tests only;
// production code never imports it. PostgreSQL is never mocked and never skipped: if it is
// unreachable the test fails and says how to start it.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// EnvDatabaseURL names the variable holding the admin DSN used to create test databases.
const EnvDatabaseURL = "FIREDRILL_TEST_DATABASE_URL"

// DefaultAdminDSN is used when EnvDatabaseURL is unset: the local PostgreSQL that
// scripts/test.sh starts.
const DefaultAdminDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminDSN returns the DSN of a PostgreSQL database from which test databases are created.
func AdminDSN() string {
	if v := os.Getenv(EnvDatabaseURL); v != "" {
		return v
	}
	return DefaultAdminDSN
}

// NewDatabase creates an empty, unmigrated PostgreSQL database named after the calling package
// and returns its URL; the database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, callerPackage())
}

// Postgres returns a migrated store on a fresh PostgreSQL database, closed and dropped when
// the test ends.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	return open(t, newDatabase(t, callerPackage()), nil)
}

// PostgresOn is Postgres with the store on clk (a test's fake clock, which its control layer
// and runner share).
func PostgresOn(t testing.TB, clk clock.Clock) *store.Store {
	t.Helper()
	return open(t, newDatabase(t, callerPackage()), clk)
}

// SQLite returns a migrated store on a SQLite file in t.TempDir().
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return open(t, "sqlite:"+filepath.Join(t.TempDir(), "firedrill.db"), nil)
}

// Each runs fn as the parallel subtests "postgres" and "sqlite", each with its own fresh store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	pkg := callerPackage()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, open(t, newDatabase(t, pkg), nil))
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, SQLite(t))
	})
}

func open(t testing.TB, dsn string, clk clock.Clock) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, store.Config{DatabaseURL: dsn, Clock: clk})
	if err != nil {
		t.Fatalf("storetest: open %s: %v", store.RedactURL(dsn), err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: close store: %v", err)
		}
	})
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("storetest: migrate up %s: %v", store.RedactURL(dsn), err)
	}
	return s
}

func newDatabase(t testing.TB, pkg string) string {
	t.Helper()
	admin := AdminDSN()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("storetest: PostgreSQL is unreachable at %s (set %s, or run scripts/test.sh, which starts it): %v",
			store.RedactURL(admin), EnvDatabaseURL, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	name := databaseName(pkg)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("storetest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("storetest: drop database %s: connect: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("storetest: drop database %s: %v", name, err)
		}
	})

	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("storetest: parse %s: %v", store.RedactURL(admin), err)
	}
	u.Path = "/" + name
	return u.String()
}

var nonIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// databaseName is firedrill_test_<package>_<random>, within PostgreSQL's 63-byte limit.
func databaseName(pkg string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	base := nonIdent.ReplaceAllString(strings.ToLower(pkg), "_")
	base = strings.Trim(base, "_")
	if base == "" {
		base = "pkg"
	}
	const prefix, maxLen = "firedrill_test_", 63
	suffix := "_" + hex.EncodeToString(b[:])
	if room := maxLen - len(prefix) - len(suffix); len(base) > room {
		base = base[:room]
	}
	return prefix + base + suffix
}

// callerPackage names the package of the first caller outside storetest, e.g. "store" for
// github.com/firedrill/firedrill/orchestrator/store (its _test variant included).
func callerPackage() string {
	pcs := make([]uintptr, 16)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		fn := f.Function // e.g. github.com/x/y/orchestrator/store_test.TestFoo.func1
		if fn != "" && !strings.Contains(fn, "/storetest.") {
			if i := strings.LastIndex(fn, "/"); i >= 0 {
				fn = fn[i+1:]
			}
			if i := strings.Index(fn, "."); i >= 0 {
				fn = fn[:i]
			}
			return strings.TrimSuffix(fn, "_test")
		}
		if !more {
			return "pkg"
		}
	}
}

// The roles that scripts/create-roles.sh creates for tests and CI, as the README names them.
const (
	OwnerRole   = "firedrill_owner"
	RuntimeRole = "firedrill_runtime"
)

// Roles is a PostgreSQL database set up as in production: owned and migrated by OwnerRole,
// with RuntimeRole granted what serve needs (store.RuntimeRoleGrant).
type Roles struct {
	// Owner is a store connected as OwnerRole, Runtime one connected as RuntimeRole.
	Owner, Runtime *store.Store
	// OwnerURL, RuntimeURL and AdminURL connect to the database as the owner, the runtime
	// role and the superuser that created it.
	OwnerURL, RuntimeURL, AdminURL string
}

// NewRolesDatabase creates an empty, unmigrated database owned by OwnerRole (both roles are
// created, with LOGIN, when missing) and returns its URLs; dropped when the test ends.
func NewRolesDatabase(t testing.TB) *Roles {
	t.Helper()
	return newRolesDatabase(t, callerPackage())
}

func newRolesDatabase(t testing.TB, pkg string) *Roles {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adminURL := newDatabase(t, pkg)
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("storetest: connect %s: %v", store.RedactURL(adminURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, role := range []string{OwnerRole, RuntimeRole} {
		// Concurrent tests may race to create the role: either error means it exists.
		if _, err := conn.Exec(ctx, `DO $$ BEGIN CREATE ROLE `+pgx.Identifier{role}.Sanitize()+` LOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`); err != nil {
			t.Fatalf("storetest: create role %s: %v", role, err)
		}
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{db}.Sanitize()+" OWNER TO "+pgx.Identifier{OwnerRole}.Sanitize()); err != nil {
		t.Fatalf("storetest: database owner: %v", err)
	}
	// PostgreSQL 15 lets only the schema's owner create in public: the owner owns it.
	if _, err := conn.Exec(ctx, "ALTER SCHEMA public OWNER TO "+pgx.Identifier{OwnerRole}.Sanitize()); err != nil {
		t.Fatalf("storetest: schema owner: %v", err)
	}
	as := func(role string) string {
		v := *u
		v.User = url.User(role)
		return v.String()
	}
	return &Roles{OwnerURL: as(OwnerRole), RuntimeURL: as(RuntimeRole), AdminURL: adminURL}
}

// PostgresRoles is NewRolesDatabase migrated as the owner, with RuntimeRole granted, and a
// store open as each role. Closed and dropped when the test ends.
func PostgresRoles(t testing.TB) *Roles {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := newRolesDatabase(t, callerPackage())
	r.Owner = open(t, r.OwnerURL, nil)
	if err := r.Owner.RuntimeRoleGrant(ctx, RuntimeRole); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	rt, err := store.Open(ctx, store.Config{DatabaseURL: r.RuntimeURL})
	if err != nil {
		t.Fatalf("storetest: open %s: %v", store.RedactURL(r.RuntimeURL), err)
	}
	t.Cleanup(func() {
		if err := rt.Close(); err != nil {
			t.Errorf("storetest: close store: %v", err)
		}
	})
	r.Runtime = rt
	return r
}
