package orchestrator_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
	if _, err := st.StepDecide(ctx, &store.StepDecideParams{RunID: run.ID, StepKey: "cut-replication", Decision: store.DecisionDone, By: drills.Actor{Kind: drills.ActorUser, Name: "test", Via: drills.ViaAPI}}); err != nil {
		t.Fatal(err)
	}
	out := <-done
	if out == nil || out.State != drills.RunSucceeded {
		t.Fatalf("outcome = %+v, want succeeded", out)
	}

	// The truth: what the old primary holds against what the promoted standby holds.
	primarySeq, primaryAt := canaryHead(t, ctx, primary, run.ID)
	drSeq, drAt := canaryHead(t, ctx, standby, run.ID)
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
	for _, m := range ms {
		if m.Service != "payments" && m.RPOActual != nil {
			t.Errorf("%s has no canary but an RPO %v", m.Service, *m.RPOActual)
		}
	}
}
