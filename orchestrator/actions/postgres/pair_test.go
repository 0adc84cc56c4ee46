package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/firedrill/firedrill/internal/pgpairtest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/postgres"
	"github.com/firedrill/firedrill/orchestrator/secret"
)

// The real pair of scripts/pg-standby-pair.sh.
const (
	defaultPrimaryDSN = "postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable"
	defaultStandbyDSN = "postgres://postgres@127.0.0.1:5434/postgres?sslmode=disable"
	// testPassword is put into every DSN the actions get (trust auth ignores it): it must
	// never show in an error or in evidence.
	testPassword = "s3cr3t-pw-firedrill"
	// waitFor bounds every poll of the tests; the pair normally answers in milliseconds.
	waitFor = 60 * time.Second
)

// fixture is the estate of the pair tests: sangam holds the primary, yatap the standby, busan
// points at the primary too (a "standby" that is not in recovery).
type fixture struct {
	primaryDSN string
	standbyDSN string
	pg         *postgres.Postgres
	cfg        *drills.Estate
	plan       *drills.Plan
}

func withPassword(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse test DSN: %v", err)
	}
	u.User = url.UserPassword(u.User.Username(), testPassword)
	return u.String()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newFixture(t *testing.T, env map[string]string) *fixture {
	t.Helper()
	site := func(name string, role drills.SiteRole) *drills.Site {
		return &drills.Site{Name: name, Role: role, Databases: []*drills.Database{
			{Name: "ledger", DSNEnv: "LEDGER_" + strings.ToUpper(name) + "_DSN"},
		}}
	}
	pg, err := postgres.New(postgres.Config{
		Secrets:      &secret.Resolver{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }},
		CallTimeout:  5 * time.Second,
		RetryBackoff: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{
		pg: pg,
		cfg: &drills.Estate{Sites: []*drills.Site{
			site("sangam", drills.SiteRolePrimary), site("yatap", drills.SiteRoleDR), site("busan", drills.SiteRoleBackup),
		}},
		plan: &drills.Plan{Name: "sangam-site-loss", From: "sangam", To: "yatap"},
	}
}

func newPairFixture(t *testing.T) *fixture {
	t.Helper()
	primary := envOr("FIREDRILL_TEST_PG_PRIMARY", defaultPrimaryDSN)
	standby := envOr("FIREDRILL_TEST_PG_STANDBY", defaultStandbyDSN)
	f := newFixture(t, map[string]string{
		"LEDGER_SANGAM_DSN": withPassword(t, primary),
		"LEDGER_YATAP_DSN":  withPassword(t, standby),
		"LEDGER_BUSAN_DSN":  withPassword(t, primary),
	})
	f.primaryDSN, f.standbyDSN = primary, standby
	return f
}

// request builds the request of a step instance on site.
func (f *fixture) request(action, site string, params map[string]any) *actions.Request {
	step := &drills.Step{Name: "step", Action: action, Site: site, Params: params}
	return &actions.Request{
		RunID:    "run-1",
		Config:   f.cfg,
		Plan:     f.plan,
		Instance: drills.StepInstance{Step: step, Key: step.Name},
		Site:     f.cfg.Site(site),
	}
}

func (f *fixture) action(t *testing.T, name string) actions.Action {
	t.Helper()
	for _, a := range f.pg.Actions() {
		if a.Spec().Name == name {
			return a
		}
	}
	t.Fatalf("no action %s", name)
	return nil
}

func (f *fixture) run(t *testing.T, name, site string, params map[string]any) (map[string]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	res, err := f.action(t, name).Run(ctx, f.request(name, site, params))
	var ev map[string]any
	if res != nil {
		ev = res.Evidence
	}
	assertNoSecret(t, name+" error", err)
	assertNoSecret(t, name+" evidence", ev)
	return ev, err
}

func (f *fixture) canary(t *testing.T, runID, table string, interval time.Duration) *postgres.Canary {
	t.Helper()
	c, err := f.pg.NewCanary(&actions.CanaryRequest{
		RunID: runID,
		Service: &drills.Service{Name: "payments", Canary: &drills.Canary{
			Database: "ledger", Table: table, Interval: interval,
		}},
		Primary: f.cfg.Site("sangam"),
		DR:      f.cfg.Site("yatap"),
	})
	if err != nil {
		t.Fatalf("NewCanary: %v", err)
	}
	return c.(*postgres.Canary)
}

// assertNoSecret fails when v (an error or JSON-encodable evidence) shows the test password.
func assertNoSecret(t *testing.T, what string, v any) {
	t.Helper()
	var s string
	switch v := v.(type) {
	case nil:
		return
	case error:
		s = v.Error()
	default:
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s is not JSON-encodable: %v", what, err)
		}
		s = string(b)
	}
	if strings.Contains(s, testPassword) {
		t.Errorf("%s leaks the DSN's password: %s", what, s)
	}
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the test pair: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.WithoutCancel(t.Context())) })
	return conn
}

func exec1(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryLSN(t *testing.T, conn *pgx.Conn, sql string) uint64 {
	t.Helper()
	var s string
	if err := conn.QueryRow(t.Context(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	hi, lo, _ := strings.Cut(s, "/")
	h, _ := strconv.ParseUint(hi, 16, 32)
	l, _ := strconv.ParseUint(lo, 16, 32)
	return h<<32 | l
}

// poll calls cond every few milliseconds until it holds, failing the test after waitFor.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", waitFor, what)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("waiting for %s: %v", what, t.Context().Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitReplayed waits until the standby has replayed everything the primary has written.
func waitReplayed(t *testing.T, primary, standby *pgx.Conn) {
	t.Helper()
	target := queryLSN(t, primary, "SELECT pg_current_wal_lsn()::text")
	poll(t, "the standby to replay the primary's WAL", func() bool {
		return queryLSN(t, standby, "SELECT pg_last_wal_replay_lsn()::text") >= target
	})
}

func waitStreaming(t *testing.T, standby *pgx.Conn) {
	t.Helper()
	poll(t, "the standby's WAL receiver to stream", func() bool {
		var n int
		if err := standby.QueryRow(t.Context(), "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	})
}

// cutReplication stops the standby's streaming and waits until it has replayed all it got.
func cutReplication(t *testing.T, standby *pgx.Conn) {
	t.Helper()
	exec1(t, standby, "ALTER SYSTEM SET primary_conninfo = ''")
	exec1(t, standby, "SELECT pg_reload_conf()")
	poll(t, "the standby's WAL receiver to stop", func() bool {
		var n int
		if err := standby.QueryRow(t.Context(), "SELECT count(*) FROM pg_stat_wal_receiver").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	poll(t, "the standby to replay what it received", func() bool {
		return queryLSN(t, standby, "SELECT pg_last_wal_replay_lsn()::text") >= queryLSN(t, standby, "SELECT pg_last_wal_receive_lsn()::text")
	})
}

// lastCanaryRow reads the run's last canary row on conn (Seq 0 when there is none).
func lastCanaryRow(t *testing.T, conn *pgx.Conn, table, runID string) actions.CanaryMark {
	t.Helper()
	var m actions.CanaryMark
	err := conn.QueryRow(t.Context(), "SELECT seq, written_at FROM "+pgx.Identifier{table}.Sanitize()+
		" WHERE run_id = $1 AND service = 'payments' ORDER BY seq DESC LIMIT 1", runID).Scan(&m.Seq, &m.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return actions.CanaryMark{}
	}
	if err != nil {
		t.Fatalf("read canary rows: %v", err)
	}
	m.At = m.At.UTC()
	return m
}

func waitCanary(t *testing.T, c *postgres.Canary, seq int64) {
	t.Helper()
	poll(t, fmt.Sprintf("canary row %d", seq), func() bool { return c.Last().Seq >= seq })
}

func uniqueRunID(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

// TestStandbyPair runs the drills against the real primary and standby. They share one
// pair, so they run one after the other, each from a freshly reset pair.
func TestStandbyPair(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the PostgreSQL standby pair")
	}
	pgpairtest.Lock(t)
	t.Cleanup(func() { pgpairtest.Reset(t) })

	t.Run("check_replication", func(t *testing.T) {
		pgpairtest.Reset(t)
		f := newPairFixture(t)
		primary, standby := connect(t, f.primaryDSN), connect(t, f.standbyDSN)
		exec1(t, primary, "CREATE TABLE IF NOT EXISTS firedrill_check_probe (x int)")
		exec1(t, primary, "INSERT INTO firedrill_check_probe VALUES (1)")
		waitStreaming(t, standby)
		waitReplayed(t, primary, standby)

		ev, err := f.run(t, postgres.ActionCheckReplication, "yatap", map[string]any{
			"database": "ledger", "max_lag": 30 * time.Second, "max_lag_bytes": int64(16 << 20),
		})
		if err != nil {
			t.Fatalf("check_replication of a healthy pair = %v; evidence %v", err, ev)
		}
		if ev["in_recovery"] != true || ev["wal_receiver_status"] != "streaming" || ev["lag_bytes"].(int64) >= 16<<20 {
			t.Errorf("check_replication evidence = %v, want in recovery, streaming, lag under 16MiB", ev)
		}
		for _, k := range []string{"replay_lsn", "receive_lsn", "primary_current_lsn", "lag_ms", "measured_at"} {
			if ev[k] == nil {
				t.Errorf("check_replication evidence lacks %s: %v", k, ev)
			}
		}

		// Pause replay, write on the primary, wait until the standby received it: lag.
		exec1(t, standby, "SELECT pg_wal_replay_pause()")
		poll(t, "replay to pause", func() bool {
			var state string
			if err := standby.QueryRow(t.Context(), "SELECT pg_get_wal_replay_pause_state()").Scan(&state); err != nil {
				t.Fatal(err)
			}
			return state == "paused"
		})
		exec1(t, primary, "INSERT INTO firedrill_check_probe SELECT generate_series(1, 1000)")
		written := queryLSN(t, primary, "SELECT pg_current_wal_lsn()::text")
		poll(t, "the standby to receive the new WAL", func() bool {
			return queryLSN(t, standby, "SELECT pg_last_wal_receive_lsn()::text") >= written
		})
		ev, err = f.run(t, postgres.ActionCheckReplication, "yatap", map[string]any{
			"database": "ledger", "max_lag": time.Microsecond, "max_lag_bytes": int64(1),
		})
		if !errors.Is(err, postgres.ErrLagExceeded) {
			t.Fatalf("check_replication with replay paused = %v, want ErrLagExceeded; evidence %v", err, ev)
		}
		lagBytes := ev["lag_bytes"].(int64)
		if lagBytes <= 0 {
			t.Errorf("lag_bytes = %d with replay paused, want > 0", lagBytes)
		}
		for _, want := range []string{fmt.Sprintf("replay lag is %d bytes, over max_lag_bytes 1", lagBytes), "over max_lag 1µs", "ledger", "yatap"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("check_replication error %q does not say %q", err, want)
			}
		}

		// A "standby" that is a primary.
		f.plan.From = "sangam"
		ev, err = f.run(t, postgres.ActionCheckReplication, "busan", map[string]any{"database": "ledger"})
		if !errors.Is(err, postgres.ErrNotStandby) || ev["in_recovery"] != false {
			t.Errorf("check_replication of a primary = %v (evidence %v), want ErrNotStandby", err, ev)
		}
	})

	t.Run("promote", func(t *testing.T) {
		pgpairtest.Reset(t)
		f := newPairFixture(t)
		ev, err := f.run(t, postgres.ActionPromote, "yatap", map[string]any{"database": "ledger"})
		if err != nil {
			t.Fatalf("promote = %v; evidence %v", err, ev)
		}
		t.Logf("promote evidence: %v", ev)
		started, promoted, writable := ev["promote_started_at"].(time.Time), ev["promoted_at"].(time.Time), ev["writable_at"].(time.Time)
		if promoted.Before(started) || writable.Before(promoted) {
			t.Errorf("promote times out of order: started %v, promoted %v, writable %v", started, promoted, writable)
		}
		if ms := ev["promote_ms"].(int64); ms < 0 || ms != writable.Sub(started).Milliseconds() {
			t.Errorf("promote_ms = %d, want writable_at - promote_started_at = %v", ms, writable.Sub(started))
		}
		if before, after := ev["timeline_before"].(int32), ev["timeline_after"].(int64); after <= int64(before) {
			t.Errorf("timeline after promotion = %d, before %d: want a new timeline", after, before)
		}
		if ev["in_recovery_before"] != true || ev["replay_lsn_before"] == nil || ev["lsn_after"] == nil {
			t.Errorf("promote evidence = %v", ev)
		}

		// A client can write on the promoted database.
		standby := connect(t, f.standbyDSN)
		exec1(t, standby, "CREATE TABLE firedrill_after_promote (x int)")
		exec1(t, standby, "INSERT INTO firedrill_after_promote VALUES (1)")

		ev, err = f.run(t, postgres.ActionPromote, "yatap", map[string]any{"database": "ledger"})
		if !errors.Is(err, postgres.ErrAlreadyPrimary) || !strings.Contains(err.Error(), "already primary") {
			t.Fatalf("promote of a primary = %v, want already primary", err)
		}
		if ev["in_recovery_before"] != false || ev["promote_started_at"] != nil {
			t.Errorf("refused promote evidence = %v, want not in recovery and no promotion", ev)
		}
	})

	t.Run("known loss", func(t *testing.T) {
		pgpairtest.Reset(t)
		f := newPairFixture(t)
		standby := connect(t, f.standbyDSN)
		const table, lostWanted = "firedrill_canary", 5
		runID := uniqueRunID("known-loss")
		c := f.canary(t, runID, table, 20*time.Millisecond)
		if err := c.Start(t.Context()); err != nil {
			t.Fatalf("canary Start = %v", err)
		}
		t.Cleanup(func() { _, _ = c.Stop() })
		waitCanary(t, c, 3)
		poll(t, "the standby to see canary rows", func() bool { return lastCanaryRow(t, standby, table, runID).Seq >= 3 })

		cutReplication(t, standby)
		atCut := lastCanaryRow(t, standby, table, runID) // what the DR copy will hold
		waitCanary(t, c, atCut.Seq+lostWanted)
		pgpairtest.KillPrimary(t)
		poll(t, "a failed canary write", func() bool { return c.WriteErrors() >= 1 })
		mark, err := c.Stop()
		if err != nil {
			t.Fatalf("canary Stop = %v", err)
		}
		if mark.Seq < atCut.Seq+lostWanted {
			t.Fatalf("canary Stop = seq %d, want at least %d", mark.Seq, atCut.Seq+lostWanted)
		}

		if ev, err := f.run(t, postgres.ActionPromote, "yatap", map[string]any{"database": "ledger"}); err != nil {
			t.Fatalf("promote = %v; evidence %v", err, ev)
		}
		truth := lastCanaryRow(t, connect(t, f.standbyDSN), table, runID)
		if truth != atCut {
			t.Fatalf("promoted DR copy ends at %+v, want the row seen at the cut %+v", truth, atCut)
		}

		m, err := c.Measure(t.Context())
		if err != nil {
			t.Fatalf("Measure = %v", err)
		}
		assertNoSecret(t, "measurement", m)
		t.Logf("known loss: lost %d rows, RPO %v; evidence %v", m.LostRows, m.RPO, m.Evidence)
		if m.LastPrimary.Seq != mark.Seq || !m.LastPrimary.At.Equal(mark.At) {
			t.Errorf("LastPrimary = %+v, want the stop mark %+v", m.LastPrimary, mark)
		}
		if m.LastDR.Seq != atCut.Seq || !m.LastDR.At.Equal(atCut.At) {
			t.Errorf("LastDR = %+v, want %+v", m.LastDR, atCut)
		}
		if want := mark.Seq - atCut.Seq; m.LostRows != want {
			t.Errorf("LostRows = %d, want %d (rows acknowledged after the cut)", m.LostRows, want)
		}
		if want := mark.At.Sub(atCut.At); m.RPO != want || m.RPO <= 0 {
			t.Errorf("RPO = %v, want %v > 0", m.RPO, want)
		}
		if m.Resolution != 20*time.Millisecond || m.Service != "payments" {
			t.Errorf("measurement = %+v, want resolution 20ms for payments", m)
		}
		if ev := m.Evidence; ev["dr_in_recovery"] != false || ev["dr_rows"] != atCut.Seq || ev["write_errors"].(int64) < 1 || ev["lost_rows"] != m.LostRows {
			t.Errorf("measurement evidence = %v", ev)
		}
	})

	t.Run("no loss", func(t *testing.T) {
		pgpairtest.Reset(t)
		f := newPairFixture(t)
		primary, standby := connect(t, f.primaryDSN), connect(t, f.standbyDSN)
		runID := uniqueRunID("no-loss")
		c := f.canary(t, runID, "firedrill_canary", 20*time.Millisecond)
		if err := c.Start(t.Context()); err != nil {
			t.Fatalf("canary Start = %v", err)
		}
		waitCanary(t, c, 5)
		mark, err := c.Stop()
		if err != nil {
			t.Fatalf("canary Stop = %v", err)
		}
		if again, err := c.Stop(); err != nil || again != mark {
			t.Errorf("second Stop = %+v, %v; want %+v", again, err, mark)
		}
		waitReplayed(t, primary, standby)
		m, err := c.Measure(t.Context())
		if err != nil {
			t.Fatalf("Measure = %v", err)
		}
		assertNoSecret(t, "measurement", m)
		if m.LostRows != 0 || m.RPO != 0 || m.LastDR.Seq != mark.Seq || !m.LastDR.At.Equal(mark.At) {
			t.Errorf("Measure = %+v, want nothing lost at %+v", m, mark)
		}
		if m.Evidence["dr_in_recovery"] != true {
			t.Errorf("evidence = %v, want the standby read in recovery", m.Evidence)
		}
	})

	t.Run("table never replicated", func(t *testing.T) {
		pgpairtest.Reset(t)
		f := newPairFixture(t)
		primary, standby := connect(t, f.primaryDSN), connect(t, f.standbyDSN)
		cutReplication(t, standby)
		ev, err := f.run(t, postgres.ActionCheckReplication, "yatap", map[string]any{"database": "ledger"})
		if !errors.Is(err, postgres.ErrNotStreaming) || ev["wal_receiver_status"] != "none" {
			t.Errorf("check_replication with replication cut = %v (evidence %v), want ErrNotStreaming", err, ev)
		}
		ev, err = f.run(t, postgres.ActionCheckReplication, "yatap", map[string]any{"database": "ledger", "require_streaming": false})
		if err != nil {
			t.Errorf("check_replication with replication cut, require_streaming = false: %v (evidence %v)", err, ev)
		}
		table := fmt.Sprintf("firedrill_canary_fresh_%d", time.Now().UnixNano())
		t.Cleanup(func() {
			_, _ = primary.Exec(context.WithoutCancel(t.Context()), "DROP TABLE IF EXISTS "+pgx.Identifier{table}.Sanitize())
		})
		runID := uniqueRunID("fresh")
		c := f.canary(t, runID, table, 20*time.Millisecond)
		if err := c.Start(t.Context()); err != nil {
			t.Fatalf("canary Start = %v", err)
		}
		waitCanary(t, c, 3)
		mark, err := c.Stop()
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Measure(t.Context())
		if err != nil {
			t.Fatalf("Measure = %v", err)
		}
		var firstAt time.Time
		if err := primary.QueryRow(t.Context(), "SELECT written_at FROM "+pgx.Identifier{table}.Sanitize()+" WHERE run_id = $1 AND seq = 1", runID).Scan(&firstAt); err != nil {
			t.Fatal(err)
		}
		if m.LastDR.Seq != 0 || m.LostRows != mark.Seq || m.RPO != mark.At.Sub(firstAt) {
			t.Errorf("Measure = %+v, want every one of %d rows lost, RPO %v", m, mark.Seq, mark.At.Sub(firstAt))
		}
		if m.Evidence["dr_table_missing"] != true || m.Evidence["rpo_lower_bound"] != true {
			t.Errorf("evidence = %v, want the missing table and a lower bound noted", m.Evidence)
		}
	})
}

// TestRefused points the sites at a port where nothing listens: every entry point fails
// quickly, naming the site and database, never the DSN.
func TestRefused(t *testing.T) {
	t.Parallel()
	refused := "postgres://postgres:" + testPassword + "@127.0.0.1:1/postgres?sslmode=disable"
	f := newFixture(t, map[string]string{
		"LEDGER_SANGAM_DSN": refused, "LEDGER_YATAP_DSN": refused, "LEDGER_BUSAN_DSN": refused,
	})
	for _, name := range []string{postgres.ActionPromote, postgres.ActionCheckReplication, postgres.ActionFence, postgres.ActionUnfence} {
		_, err := f.run(t, name, "yatap", map[string]any{"database": "ledger"})
		if !errors.Is(err, postgres.ErrUnreachable) {
			t.Errorf("%s = %v, want ErrUnreachable", name, err)
			continue
		}
		for _, want := range []string{"database ledger on site yatap", "127.0.0.1:1", "attempt 4 of 4"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s error %q does not say %q", name, err, want)
			}
		}
	}

	c := f.canary(t, "run-refused", "firedrill_canary", 0)
	err := c.Start(t.Context())
	assertNoSecret(t, "canary Start", err)
	if !errors.Is(err, postgres.ErrUnreachable) || !strings.Contains(err.Error(), "site sangam") {
		t.Errorf("canary Start = %v, want unreachable sangam", err)
	}
	if _, err := c.Stop(); err == nil {
		t.Error("Stop of a canary that never started = nil error")
	}
	if _, err := c.Measure(t.Context()); err == nil {
		t.Error("Measure of a canary that never started = nil error")
	}
}

// TestBadInput covers the failures that need no database.
func TestBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"LEDGER_SANGAM_DSN": "postgres://postgres:" + testPassword + "@[::1/postgres",
	})
	tests := []struct {
		action, site string
		params       map[string]any
		want         string
	}{
		{postgres.ActionPromote, "sangam", map[string]any{"database": "ledger"}, "cannot parse the connection string from env:LEDGER_SANGAM_DSN"},
		{postgres.ActionPromote, "yatap", map[string]any{"database": "ledger"}, "env:LEDGER_YATAP_DSN: secret is not set"},
		{postgres.ActionPromote, "yatap", map[string]any{"database": "nope"}, `site yatap has no postgres database "nope"`},
		{postgres.ActionCheckReplication, "sangam", map[string]any{"database": "ledger"}, "the step's site is the plan's from site"},
	}
	for _, tt := range tests {
		_, err := f.run(t, tt.action, tt.site, tt.params)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s on %s %v = %v, want %q", tt.action, tt.site, tt.params, err, tt.want)
		}
	}
	_, err := f.pg.NewCanary(&actions.CanaryRequest{
		RunID:   "r",
		Service: &drills.Service{Name: "payments", Canary: &drills.Canary{Database: "ledger", Table: "x; drop"}},
		Primary: f.cfg.Site("sangam"), DR: f.cfg.Site("yatap"),
	})
	if err == nil || !strings.Contains(err.Error(), "not an identifier") {
		t.Errorf("NewCanary with a bad table = %v", err)
	}
}

func TestSpecs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var names []string
	for _, a := range f.pg.Actions() {
		s := a.Spec()
		names = append(names, s.Name)
		if p, ok := s.Params["database"]; !ok || !p.Required || s.Site != drills.SiteRequired || s.Services != drills.ServicesNone {
			t.Errorf("spec %s = %+v, want a required database and site, no services", s.Name, s)
		}
		if want := s.Name != postgres.ActionPromote; s.Idempotent != want {
			t.Errorf("spec %s idempotent = %v, want %v", s.Name, s.Idempotent, want)
		}
	}
	if !slices.Equal(names, []string{postgres.ActionPromote, postgres.ActionCheckReplication, postgres.ActionFence, postgres.ActionUnfence}) {
		t.Errorf("Actions() = %v", names)
	}
	var _ actions.CanaryFactory = f.pg
}
