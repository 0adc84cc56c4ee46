package housekeeping_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/orchestrator/housekeeping"
	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

var start = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)

// openStore opens and migrates dsn with the fake clock, so leases and stamps follow it.
func openStore(t *testing.T, dsn string, clk *clocktest.Clock) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{DatabaseURL: dsn, Clock: clk})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	return s
}

// each runs fn on PostgreSQL and on SQLite, each store on its own fake clock.
func each(t *testing.T, fn func(t *testing.T, s *store.Store, clk *clocktest.Clock)) {
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		clk := clocktest.New(start)
		fn(t, openStore(t, storetest.NewDatabase(t), clk), clk)
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		clk := clocktest.New(start)
		fn(t, openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "firedrill.db"), clk), clk)
	})
}

func newHousekeeper(t *testing.T, cfg housekeeping.Config) *housekeeping.Housekeeper {
	t.Helper()
	h, err := housekeeping.New(cfg)
	if err != nil {
		t.Fatalf("housekeeping.New: %v", err)
	}
	t.Cleanup(h.Stop)
	return h
}

// passes advances the clock by d n times, each time until the housekeeper has taken its
// ticks. Once the (n+1)th tick of a loop is taken, its nth pass is over.
func passes(clk *clocktest.Clock, d time.Duration, n int) {
	for range n {
		clk.Advance(d)
		<-clk.TicksDelivered()
	}
}

// recorder is a Notifier that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	events []notify.Event
	got    chan notify.Event
}

func newRecorder() *recorder { return &recorder{got: make(chan notify.Event, 64)} }

func (r *recorder) Notify(_ context.Context, e notify.Event) error {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	r.got <- e
	return nil
}

// take receives n events, failing the test when none comes for long.
func (r *recorder) take(t *testing.T, n int) []notify.Event {
	t.Helper()
	var out []notify.Event
	for range n {
		select {
		case e := <-r.got:
			out = append(out, e)
		case <-time.After(30 * time.Second):
			t.Fatalf("got %d notifications, want %d", len(out), n)
		}
	}
	return out
}

func (r *recorder) none(t *testing.T, when string) {
	t.Helper()
	select {
	case e := <-r.got:
		t.Errorf("%s: unexpected notification %+v", when, e)
	default:
	}
}

func TestApprovalExpiryBlocksAnOverdueRun(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *store.Store, clk *clocktest.Clock) {
		ctx := context.Background()
		plan, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "p", Source: []byte("plan")})
		if err != nil {
			t.Fatal(err)
		}
		awaiting := func(deadline time.Time) *store.Run {
			t.Helper()
			r, err := s.RunInsert(ctx, &store.RunInsertParams{
				PlanID: plan.ID, PlanName: "p", RequestedBy: drills.Actor{Kind: drills.ActorUser, Name: "alice", Via: drills.ViaCLI}, State: drills.RunAwaitingApproval,
				ApprovalRoles: []string{drills.RoleSRE, drills.RoleCompliance}, ApprovalDeadline: &deadline,
			})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		overdue := awaiting(start.Add(30 * time.Second))
		later := awaiting(start.Add(time.Hour))

		rec := newRecorder()
		h := newHousekeeper(t, housekeeping.Config{Store: s, Clock: clk, Notifier: rec})
		if err := h.Start(ctx); err != nil {
			t.Fatalf("Start: %v", err)
		}
		// The first sweep, a minute in, sees the first window closed; the next tick proves it ran.
		passes(clk, housekeeping.DefaultApprovalSweepEvery, 2)

		// Nobody else announces the end of a run no worker ran.
		var ended []notify.Event
		for _, e := range rec.take(t, 1) {
			if e.Kind == notify.EventRunEnded {
				ended = append(ended, e)
			}
		}
		if len(ended) != 1 || ended[0].RunID != overdue.ID || ended[0].State != string(drills.RunBlocked) {
			t.Errorf("announcements = %+v; want the expired run's end, blocked", ended)
		}

		r, err := s.RunGet(ctx, overdue.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.State != drills.RunBlocked || !strings.Contains(r.StateReason, "approval window ended") {
			t.Errorf("run past its deadline is %s (%q); want blocked, saying the approval window ended", r.State, r.StateReason)
		}
		if r, _ := s.RunGet(ctx, later.ID); r.State != drills.RunAwaitingApproval {
			t.Errorf("run within its window is %s, want awaiting_approval", r.State)
		}
	})
}

func TestOverdueServiceIsAnnouncedOnceADay(t *testing.T) {
	t.Parallel()
	clk := clocktest.New(start)
	s := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "firedrill.db"), clk)
	estate := &drills.Estate{Services: []*drills.Service{
		{Name: "auth", DrillEvery: 365 * 24 * time.Hour},
		{Name: "payments", DrillEvery: 180 * 24 * time.Hour},
		{Name: "intranet"}, // no required frequency: never overdue
	}}
	rec := newRecorder()
	h := newHousekeeper(t, housekeeping.Config{Store: s, Clock: clk, Estate: estate, Notifier: rec})
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}

	seen := map[string]bool{}
	for _, e := range rec.take(t, 2) {
		if e.Kind != notify.EventServiceOverdue || e.Fields["never_drilled"] != true {
			t.Errorf("announcement = %+v; want service_overdue, never drilled", e)
		}
		seen[e.Service] = true
	}
	if !seen["auth"] || !seen["payments"] {
		t.Errorf("announced %v at start; want auth and payments", seen)
	}
	wantReason := map[string]string{"auth": "no passed drill within 365d", "payments": "no passed drill within 180d"}
	for _, e := range rec.events {
		if e.Reason != wantReason[e.Service] {
			t.Errorf("%s's reason = %q, want %q", e.Service, e.Reason, wantReason[e.Service])
		}
	}

	// Every hourly check for the rest of the day finds them overdue and stays quiet.
	passes(clk, housekeeping.DefaultOverdueCheckEvery, 14) // 11:00 .. 24:00, the last tick proving 23:00 ran
	_ = rec.take(t, 2)                                     // midnight: a new UTC day announces again
	passes(clk, housekeeping.DefaultOverdueCheckEvery, 1)  // 01:00 proves midnight's check is over
	rec.none(t, "after the new day's announcements")
	rec.mu.Lock()
	n := len(rec.events)
	rec.mu.Unlock()
	if n != 4 {
		t.Errorf("%d announcements over two days, want 4 (each overdue service once a day)", n)
	}
}

func TestASecondReplicaLeaseHolderIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clocktest.New(start)
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "firedrill.db")
	first := newHousekeeper(t, housekeeping.Config{Store: openStore(t, dsn, clk), Clock: clk, Owner: "first"})
	if err := first.Start(ctx); err != nil {
		t.Fatalf("first Start: %v", err)
	}
	secondStore := openStore(t, dsn, clk)
	refused := func(when string) {
		t.Helper()
		second := newHousekeeper(t, housekeeping.Config{Store: secondStore, Clock: clk, Owner: "second"})
		err := second.Start(ctx)
		if err == nil || !strings.Contains(err.Error(), "another firedrill serve (owner first)") || !strings.Contains(err.Error(), "use PostgreSQL for several") {
			t.Errorf("%s: second Start = %v; want a refusal naming the holder and pointing to PostgreSQL", when, err)
		}
	}
	refused("at once")
	// The first renews every third of the lease: long after the lease time, it still holds.
	passes(clk, housekeeping.DefaultReplicaLeaseFor/3, 7)
	refused("after renewals")

	first.Stop()
	first.Stop() // idempotent
	second := newHousekeeper(t, housekeeping.Config{Store: secondStore, Clock: clk, Owner: "second"})
	if err := second.Start(ctx); err != nil {
		t.Errorf("second Start after the first stopped = %v, want the lease", err)
	}
	if err := second.Start(ctx); err == nil {
		t.Error("a second Start of the same housekeeper succeeded")
	}
}

func TestPostgresNeedsNoReplicaLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clocktest.New(start)
	dsn := storetest.NewDatabase(t)
	for _, owner := range []string{"first", "second"} {
		h := newHousekeeper(t, housekeeping.Config{Store: openStore(t, dsn, clk), Clock: clk, Owner: owner})
		if err := h.Start(ctx); err != nil {
			t.Errorf("Start(%s) on PostgreSQL = %v; replicas share PostgreSQL", owner, err)
		}
	}
}

func TestNewChecksItsConfig(t *testing.T) {
	t.Parallel()
	s := storetest.SQLite(t)
	tests := []struct {
		name string
		cfg  housekeeping.Config
		want string
	}{
		{"no store", housekeeping.Config{}, "Store is required"},
		{"negative period", housekeeping.Config{Store: s, ApprovalSweepEvery: -time.Second}, "must not be negative"},
		{"tiny lease", housekeeping.Config{Store: s, ReplicaLeaseFor: time.Millisecond}, "ReplicaLeaseFor"},
	}
	for _, tt := range tests {
		if _, err := housekeeping.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%s) = %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}
