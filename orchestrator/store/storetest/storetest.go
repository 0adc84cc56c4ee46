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
	dsn := newDatabase(t, callerPackage())
	return open(t, dsn)
}

// SQLite returns a migrated store on a SQLite file in t.TempDir().
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return open(t, "sqlite:"+filepath.Join(t.TempDir(), "firedrill.db"))
}

// Each runs fn as the parallel subtests "postgres" and "sqlite", each with its own fresh store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	pkg := callerPackage()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, open(t, newDatabase(t, pkg)))
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, SQLite(t))
	})
}

func open(t testing.TB, dsn string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
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
