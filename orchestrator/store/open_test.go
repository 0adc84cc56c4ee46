package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"postgres://firedrill:s3cret@db.example:5432/firedrill?sslmode=require", "postgres://firedrill:***@db.example:5432/firedrill?sslmode=require"},
		{"postgresql://firedrill@db.example/firedrill", "postgresql://firedrill@db.example/firedrill"},
		{"postgres://db.example/firedrill?user=u&password=s3cret", "postgres://db.example/firedrill?password=***&user=u"},
		{"postgres://u:p%40ss@h/d", "postgres://u:***@h/d"},
		{"sqlite:/var/lib/firedrill/firedrill.db", "sqlite:/var/lib/firedrill/firedrill.db"},
		{"file:firedrill.db?_pragma=x", "file:firedrill.db?_pragma=x"},
		{"host=db password=s3cret user=u", "host=db password=*** user=u"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := store.RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  store.Config
		want string
	}{
		{"empty URL", store.Config{}, "DatabaseURL is required"},
		{"unknown scheme", store.Config{DatabaseURL: "mysql://u:s3cret@h/d"}, "unsupported database URL"},
		{"negative pool", store.Config{DatabaseURL: "sqlite:x.db", MaxOpenConns: -1}, "MaxOpenConns"},
		{"unreachable postgres", store.Config{DatabaseURL: "postgres://firedrill:s3cret@127.0.0.1:1/firedrill?sslmode=disable&connect_timeout=2"}, "firedrill:***@127.0.0.1:1"},
		{"bad postgres URL", store.Config{DatabaseURL: "postgres://firedrill:s3cret@127.0.0.1:notaport/x"}, "firedrill:***@"},
		{"missing sqlite dir", store.Config{DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "missing", "dir", "f.db")}, "open store"},
	}
	for _, tt := range tests {
		s, err := store.Open(context.Background(), tt.cfg)
		if err == nil {
			s.Close()
			t.Errorf("Open(%s) = nil error, want %q", tt.name, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%s) = %q, want it to contain %q", tt.name, err, tt.want)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%s) = %q: leaks the password", tt.name, err)
		}
	}
}

func TestOpenDialects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		url  string
		want store.Dialect
	}{
		{"sqlite:" + filepath.Join(dir, "a.db"), store.DialectSQLite},
		{"file:" + filepath.Join(dir, "b.sqlite"), store.DialectSQLite},
		{filepath.Join(dir, "c.db"), store.DialectSQLite},
		{storetest.NewDatabase(t), store.DialectPostgres},
		{strings.Replace(storetest.NewDatabase(t), "postgres://", "postgresql://", 1), store.DialectPostgres},
	}
	for _, tt := range tests {
		s, err := store.Open(context.Background(), store.Config{DatabaseURL: tt.url})
		if err != nil {
			t.Errorf("Open(%s): %v", store.RedactURL(tt.url), err)
			continue
		}
		if got := s.Dialect(); got != tt.want {
			t.Errorf("Open(%s).Dialect() = %s, want %s", store.RedactURL(tt.url), got, tt.want)
		}
		if err := s.SchemaCheck(context.Background()); !errors.Is(err, store.ErrSchemaOutdated) {
			t.Errorf("SchemaCheck(%s) on an empty database = %v, want ErrSchemaOutdated", store.RedactURL(tt.url), err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

// fixedClock always reads the same instant.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                       { return c.t }
func (c fixedClock) NewTimer(d time.Duration) clock.Timer { return clock.Real{}.NewTimer(d) }

func TestClockStampsDefaults(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 10, 15, 3, 4, 5, 678901234, kst)
	s, err := store.Open(context.Background(), store.Config{DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "f.db"), Clock: fixedClock{now}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	plan, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "p", Source: []byte("p")})
	if err != nil {
		t.Fatalf("PlanSave: %v", err)
	}
	run, err := s.RunInsert(ctx, &store.RunInsertParams{PlanID: plan.ID, PlanName: "p", RequestedBy: drills.Actor{Kind: drills.ActorSystem, Name: "test"}})
	if err != nil {
		t.Fatalf("RunInsert: %v", err)
	}
	epoch, err := s.RunClaim(ctx, &store.RunClaimParams{RunID: run.ID, Owner: "me", LeaseFor: 90 * time.Second})
	if err != nil {
		t.Fatalf("RunClaim: %v", err)
	}
	if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: run.ID, Epoch: epoch, State: drills.RunRunning}); err != nil {
		t.Fatalf("RunStateSet: %v", err)
	}
	got, err := s.RunGet(ctx, run.ID)
	if err != nil {
		t.Fatalf("RunGet: %v", err)
	}
	assertTime(t, "CreatedAt", &got.CreatedAt, now)
	assertTime(t, "StartedAt", got.StartedAt, now)
	assertTime(t, "UpdatedAt", &got.UpdatedAt, now)
	assertTime(t, "LeaseExpiresAt", got.LeaseExpiresAt, now.Add(90*time.Second))
	assertTime(t, "plan CreatedAt", &plan.CreatedAt, now)
}

func TestPostgresSessionSettings(t *testing.T) {
	t.Parallel()
	s, err := store.Open(context.Background(), store.Config{DatabaseURL: storetest.NewDatabase(t), StatementTimeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	var timeout, zone string
	if err := s.DBForTest().Raw("SHOW statement_timeout").Scan(&timeout).Error; err != nil {
		t.Fatalf("SHOW statement_timeout: %v", err)
	}
	if err := s.DBForTest().Raw("SHOW timezone").Scan(&zone).Error; err != nil {
		t.Fatalf("SHOW timezone: %v", err)
	}
	if timeout != "1500ms" || zone != "UTC" {
		t.Errorf("statement_timeout, timezone = %q, %q; want 1500ms, UTC", timeout, zone)
	}
}
