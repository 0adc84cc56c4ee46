// Package pgpairtest gives tests the real PostgreSQL primary and streaming standby that
// scripts/pg-standby-pair.sh keeps on this machine (ports 5433 and 5434). There is one pair, so
// every test of any package that uses it takes Lock first; Reset rebuilds the standby from the
// primary after a test promoted it or cut its replication. Only tests import this package.
package pgpairtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// Env names and defaults of the pair's connection strings.
const (
	EnvPrimary     = "FIREDRILL_TEST_PG_PRIMARY"
	EnvStandby     = "FIREDRILL_TEST_PG_STANDBY"
	DefaultPrimary = "postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable"
	DefaultStandby = "postgres://postgres@127.0.0.1:5434/postgres?sslmode=disable"
)

// PrimaryDSN is the primary's connection string.
func PrimaryDSN() string { return envOr(EnvPrimary, DefaultPrimary) }

// StandbyDSN is the standby's connection string.
func StandbyDSN() string { return envOr(EnvStandby, DefaultStandby) }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Lock serialises the tests of every package that use the pair, until t ends.
func Lock(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "firedrill-pg-standby-pair.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

// Reset starts the primary if it is stopped and rebuilds the standby from it.
func Reset(t testing.TB) {
	t.Helper()
	script := Script(t)
	if out, err := exec.Command(script, "reset").CombinedOutput(); err != nil {
		t.Fatalf("%s reset: %v\n%s", script, err, out)
	}
}

// Script is the path of scripts/pg-standby-pair.sh, found from the working directory up.
func Script(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		candidate := filepath.Join(dir, "scripts", "pg-standby-pair.sh")
		if _, err := os.Stat(candidate); err == nil {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("scripts/pg-standby-pair.sh not found above the working directory")
		}
		dir = parent
	}
}

// KillPrimary stops the primary the way a fire does: no shutdown checkpoint, no goodbye.
func KillPrimary(t testing.TB) {
	t.Helper()
	out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", Version(t), "drprimary", "stop", "-m", "immediate").CombinedOutput()
	if err != nil {
		t.Fatalf("stop the primary: %v\n%s", err, out)
	}
}

// Version is the installed PostgreSQL major version, as the pair script picks it.
func Version(t testing.TB) string {
	t.Helper()
	entries, err := os.ReadDir("/usr/lib/postgresql")
	if err != nil {
		t.Fatal(err)
	}
	best := 0
	for _, e := range entries {
		if v, err := strconv.Atoi(e.Name()); err == nil && v > best {
			best = v
		}
	}
	return strconv.Itoa(best)
}
