package orchestrator_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/pgpairtest"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// canaryHead is the last canary row of a run in a database: its seq and time.
func canaryHead(t *testing.T, ctx context.Context, dsn, runID string) (int64, time.Time) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var seq int64
	var at time.Time
	err = conn.QueryRow(ctx, `SELECT seq, written_at FROM firedrill_canary WHERE run_id = $1 AND service = 'payments' ORDER BY seq DESC LIMIT 1`, runID).Scan(&seq, &at)
	if err != nil {
		t.Fatalf("read canary head: %v", err)
	}
	return seq, at
}

// canaryRows counts the run's canary rows in a database (0 when the table is missing).
func canaryRows(t *testing.T, ctx context.Context, dsn, runID string) int64 {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int64
	err = conn.QueryRow(ctx, `SELECT count(*) FROM firedrill_canary WHERE run_id = $1`, runID).Scan(&n)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" {
		return 0
	}
	if err != nil {
		t.Fatalf("count canary rows: %v", err)
	}
	return n
}

// writeError tries a write in a new session: "" when it committed, else the SQLSTATE.
func writeError(t *testing.T, ctx context.Context, dsn string) string {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE TEMPORARY TABLE firedrill_write_test (x int)")
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pgErr):
		return pgErr.Code
	}
	t.Fatalf("write: %v", err)
	return ""
}

func decide(t *testing.T, ctx context.Context, st *store.Store, runID, step string) {
	t.Helper()
	if _, err := st.StepDecide(ctx, &store.StepDecideParams{RunID: runID, StepKey: step, Decision: store.DecisionDone, By: drills.Actor{Kind: drills.ActorUser, Name: "test", Via: drills.ViaAPI}}); err != nil {
		t.Fatal(err)
	}
}

func exec(t *testing.T, ctx context.Context, dsn string, sqls ...string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, q := range sqls {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// pollUntil calls cond until it holds or the context ends.
func pollUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// A real drill against the real PostgreSQL pair: replication is cut while the canary writes,
// Sangam is lost, the Yatap standby is promoted. The measured RPO and lost rows must be what
// the two databases show was lost.
func TestLedgerDrillMeasuresTheDataItLost(t *testing.T) {
	pgpairtest.Lock(t)
	pgpairtest.Reset(t)
	t.Cleanup(func() { pgpairtest.Reset(t) })
	primary, standby := pgpairtest.PrimaryDSN(), pgpairtest.StandbyDSN()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	st := storetest.Postgres(t)
	b := setupFiles(t, st, "../examples/with-ledger/firedrill.hcl", "testdata/ledger-cut.hcl",
		map[string]string{"LEDGER_SANGAM_DSN": primary, "LEDGER_YATAP_DSN": standby}, nil)
	run, err := b.runner.Submit(ctx, b.drill)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *orchestrator.Outcome, 1)
	go func() {
		out, err := b.runner.Execute(ctx, run.ID, b.drill)
		if err != nil {
			t.Errorf("Execute: %v", err)
		}
		done <- out
	}()

	waitStepRunning(t, st, run.ID, "cut-replication")
	exec(t, ctx, standby, "ALTER SYSTEM SET primary_conninfo = ''", "SELECT pg_reload_conf()")
	pollUntil(t, ctx, "the standby's WAL receiver to stop", func() bool {
		conn, err := pgx.Connect(ctx, standby)
		if err != nil {
			return false
		}
		defer conn.Close(ctx)
		var n int
		return conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_wal_receiver").Scan(&n) == nil && n == 0
	})
	cutSeq, _ := canaryHead(t, ctx, primary, run.ID)
	pollUntil(t, ctx, "five canary rows after the cut", func() bool {
		seq, _ := canaryHead(t, ctx, primary, run.ID)
		return seq >= cutSeq+5
	})
	decide(t, ctx, st, run.ID, "cut-replication")

	// The truth, read while the run waits after the promotion: what the old primary holds
	// against what the promoted standby holds.
	waitStepRunning(t, st, run.ID, "inspect")
	primarySeq, primaryAt := canaryHead(t, ctx, primary, run.ID)
	drSeq, drAt := canaryHead(t, ctx, standby, run.ID)
	decide(t, ctx, st, run.ID, "inspect")
	out := <-done
	if out == nil || out.State != drills.RunSucceeded {
		t.Fatalf("outcome = %+v, want succeeded", out)
	}
	// The canary's rows do not stay in the ledger: gone from both copies.
	for _, dsn := range []string{primary, standby} {
		if n := canaryRows(t, ctx, dsn, run.ID); n != 0 {
			t.Errorf("%d canary rows of the run left in the ledger after the run", n)
		}
	}
	if primarySeq-drSeq < 5 {
		t.Fatalf("primary at seq %d, DR at %d: the test did not lose the rows it meant to", primarySeq, drSeq)
	}
	ms, err := st.MeasurementList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var payments *store.Measurement
	for _, m := range ms {
		if m.Service == "payments" {
			payments = m
		}
		if !m.Restored || m.RTOActual == nil {
			t.Errorf("%s: restored %v, RTO %v; want measured", m.Service, m.Restored, m.RTOActual)
		}
	}
	if payments == nil || payments.RPOActual == nil || payments.RPOLostRows == nil || payments.RPOMet == nil {
		t.Fatalf("payments measurement = %+v; want RPO, lost rows and verdict", payments)
	}
	var ev struct {
		RPO struct {
			Detail struct {
				Cleanup struct {
					Sangam map[string]any `json:"sangam"`
					Yatap  map[string]any `json:"yatap"`
				} `json:"cleanup"`
			} `json:"detail"`
		} `json:"rpo"`
	}
	if err := json.Unmarshal(payments.Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	if c := ev.RPO.Detail.Cleanup; c.Sangam["deleted"] != float64(primarySeq) || c.Yatap["deleted"] != float64(drSeq) {
		t.Errorf("cleanup evidence = %v, want %d rows deleted on sangam and %d on yatap", c, primarySeq, drSeq)
	}
	if got, want := *payments.RPOLostRows, primarySeq-drSeq; got != want {
		t.Errorf("lost rows = %d, want %d (primary seq %d, DR seq %d)", got, want, primarySeq, drSeq)
	}
	want := primaryAt.Sub(drAt)
	if got := *payments.RPOActual; got < want-time.Millisecond || got > want+time.Millisecond {
		t.Errorf("RPO = %s, want %s (the time between the last row on each side)", got, want)
	}
	if !*payments.RPOMet || payments.RPOObjective != 5*time.Second {
		t.Errorf("RPO met = %v against %s; want met against 5s", *payments.RPOMet, payments.RPOObjective)
	}
	// The others' stores are not PostgreSQL: their HTTP canaries measure them.
	for _, m := range ms {
		if m.RPOActual == nil {
			t.Errorf("%s: RPO not measured (%s); every service of the example has a canary", m.Service, m.Reason)
		}
	}
}

// The example ledger drill against the real pair fences the old primary: after it, a write on
// Sangam's ledger is refused while the promoted Yatap one commits. A drill that fails after the
// fence rolls back and unfences it: writes on Sangam commit again. Neither leaves canary rows
// in a ledger it may write to.
func TestLedgerDrillFencesTheOldPrimary(t *testing.T) {
	pgpairtest.Lock(t)
	primary, standby := pgpairtest.PrimaryDSN(), pgpairtest.StandbyDSN()
	unfence := func() {
		exec(t, context.Background(), primary, "ALTER SYSTEM RESET default_transaction_read_only", "SELECT pg_reload_conf()")
	}
	t.Cleanup(func() { unfence(); pgpairtest.Reset(t) })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env := map[string]string{"LEDGER_SANGAM_DSN": primary, "LEDGER_YATAP_DSN": standby}

	t.Run("failure before T0", func(t *testing.T) {
		pgpairtest.Reset(t)
		st := storetest.Postgres(t)
		b := setupFiles(t, st, "../examples/with-ledger/firedrill.hcl", "testdata/ledger-fails-early.hcl", env, nil)
		run, out := b.run(t, ctx)
		if out.State != drills.RunFailed {
			t.Fatalf("outcome = %s (%s), want failed", out.State, out.Reason)
		}
		if n := canaryRows(t, ctx, primary, run.ID); n != 0 {
			t.Errorf("%d canary rows of a failed run left in the primary's ledger", n)
		}
		// The standby gets the delete by replication.
		pollUntil(t, ctx, "the canary rows to leave the standby", func() bool { return canaryRows(t, ctx, standby, run.ID) == 0 })
	})

	t.Run("drill", func(t *testing.T) {
		// The pair is as the failed run left it: nothing was promoted.
		st := storetest.Postgres(t)
		b := setupFiles(t, st, "../examples/with-ledger/firedrill.hcl", "../examples/with-ledger/plans/site-loss.hcl", env, nil)
		run, out := b.run(t, ctx)
		if out.State != drills.RunSucceeded || !out.ObjectivesMet {
			t.Fatalf("outcome = %s (%s), objectives met %v; want a passed drill", out.State, out.Reason, out.ObjectivesMet)
		}
		if got := writeError(t, ctx, primary); got != "25006" {
			t.Errorf("a write on the old primary after the drill = %q, want refused (25006 read_only_sql_transaction)", got)
		}
		if got := writeError(t, ctx, standby); got != "" {
			t.Errorf("a write on the promoted ledger after the drill = %q, want committed", got)
		}
		steps, err := st.StepResultList(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		var fenced map[string]any
		for _, s := range steps {
			if s.Key == "fence-old-ledger" {
				if err := json.Unmarshal(s.Evidence, &fenced); err != nil {
					t.Fatal(err)
				}
			}
		}
		if fenced["read_only_before"] != "off" || fenced["read_only_after"] != "on" || fenced["write_refused"] == nil {
			t.Errorf("fence evidence = %v, want off before, on after, a refused write", fenced)
		}
		// Gone from the ledger that is written to now; the fenced one is not written to.
		if n := canaryRows(t, ctx, standby, run.ID); n != 0 {
			t.Errorf("%d canary rows of the run left in the promoted ledger", n)
		}
	})

	t.Run("rollback", func(t *testing.T) {
		unfence()
		pgpairtest.Reset(t)
		st := storetest.Postgres(t)
		b := setupFiles(t, st, "../examples/with-ledger/firedrill.hcl", "testdata/ledger-fence-fails.hcl", env, nil)
		run, out := b.run(t, ctx)
		if out.State != drills.RunRolledBack {
			t.Fatalf("outcome = %s (%s), want rolled_back", out.State, out.Reason)
		}
		if got := writeError(t, ctx, primary); got != "" {
			t.Errorf("a write on the old primary after the rollback = %q, want committed", got)
		}
		for _, dsn := range []string{primary, standby} {
			if n := canaryRows(t, ctx, dsn, run.ID); n != 0 {
				t.Errorf("%d canary rows of the run left in a ledger after the rollback", n)
			}
		}
	})
}

// httpMarker is the last canary marker of a run's service visible through a site's toy service.
func httpMarker(t *testing.T, ctx context.Context, b *bundle, site, service, runID string) int64 {
	t.Helper()
	u := b.sim.Site(site).IngressAddress() + "/" + service + "/canary?" + url.Values{"run_id": {runID}, "service": {service}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct{ Seq int64 }
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m.Seq
}

// TestAbortMidDrillRemovesCanaryRowsAndMarkers: an operator aborts the example ledger drill
// after its disaster, while a step runs. Every canary had written by then, the PostgreSQL
// one (payments' ledger, on the real pair) and the HTTP ones (auth and remittance, through the
// simulated services); after the abort and its rollback none of the run's rows is left in
// either ledger and none of its markers on either site.
func TestAbortMidDrillRemovesCanaryRowsAndMarkers(t *testing.T) {
	pgpairtest.Lock(t)
	t.Cleanup(func() { pgpairtest.Reset(t) })
	primary, standby := pgpairtest.PrimaryDSN(), pgpairtest.StandbyDSN()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env := map[string]string{"LEDGER_SANGAM_DSN": primary, "LEDGER_YATAP_DSN": standby}
	st := storetest.Postgres(t)
	b := setupFiles(t, st, "../examples/with-ledger/firedrill.hcl", "testdata/ledger-abort.hcl", env, nil)
	run, done := b.runAsync(t, ctx)
	pollUntil(t, ctx, "step hold to start", func() bool {
		s := stepsByKey(t, st, run.ID)["hold"]
		return s != nil && s.State == drills.StepRunning
	})

	// What the abort must remove: rows on the ledger and its standby, markers on both sites.
	if n := canaryRows(t, ctx, primary, run.ID); n == 0 {
		t.Fatal("the PostgreSQL canary wrote no row before the abort: nothing to remove")
	}
	pollUntil(t, ctx, "the canary rows to reach the standby", func() bool { return canaryRows(t, ctx, standby, run.ID) > 0 })
	for _, svc := range []string{"auth", "remittance"} {
		for _, site := range []string{"sangam", "yatap"} {
			if seq := httpMarker(t, ctx, b, site, svc, run.ID); seq == 0 {
				t.Fatalf("%s shows no canary marker of %s before the abort: nothing to remove", site, svc)
			}
		}
	}

	if _, err := st.RunAbortRequest(ctx, &store.RunAbortRequestParams{
		RunID: run.ID, By: drills.Actor{Kind: drills.ActorUser, Name: "alice", Via: drills.ViaAPI}, Reason: "stop the drill",
	}); err != nil {
		t.Fatal(err)
	}
	var out *orchestrator.Outcome
	select {
	case out = <-done:
	case <-ctx.Done():
		t.Fatal("the run did not end after the abort")
	}
	// Aborted after T0, the run rolls back.
	if out == nil || out.State != drills.RunRolledBack || !strings.Contains(out.Reason, "aborted by alice") {
		t.Fatalf("outcome = %+v, want rolled back after alice's abort", out)
	}
	if n := canaryRows(t, ctx, primary, run.ID); n != 0 {
		t.Errorf("%d canary rows of the aborted run left in the primary's ledger", n)
	}
	// The standby gets the primary's delete by replication.
	pollUntil(t, ctx, "the canary rows to leave the standby", func() bool { return canaryRows(t, ctx, standby, run.ID) == 0 })
	for _, svc := range []string{"auth", "remittance"} {
		for _, site := range []string{"sangam", "yatap"} {
			if seq := httpMarker(t, ctx, b, site, svc, run.ID); seq != 0 {
				t.Errorf("%s still shows canary marker %d of %s after the aborted run", site, seq, svc)
			}
		}
	}
}
