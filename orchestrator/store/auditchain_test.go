package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// pendingCount reads audit_pending on its own connection, outside any store.
func pendingCount(t *testing.T, url string) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM audit_pending").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// holdAuditHead takes the audit head's row lock on its own connection, as a chaining in
// progress would, so that no chainer can append until release is called.
func holdAuditHead(t *testing.T, url string) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			_ = tx.Rollback(ctx)
			_ = conn.Close(ctx)
		})
	}
	t.Cleanup(release)
	return release
}

// openMigrated opens a store on a fresh migrated database that the test closes itself.
func openMigrated(t *testing.T) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	url := storetest.NewDatabase(t)
	s, err := store.Open(ctx, store.Config{DatabaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	return s, url
}

// TestAuditChainerChainsWithoutBeingAsked: a store's own chainer appends what its writes queue;
// nothing calls AuditChain here.
func TestAuditChainerChainsWithoutBeingAsked(t *testing.T) {
	t.Parallel()
	s, url := openMigrated(t)
	defer s.Close()
	ctx := context.Background()
	for i := range 20 {
		if _, err := s.OperationRecord(ctx, &store.OperationRecordParams{Actor: person("alice"), Operation: "run.submit",
			Target: fmt.Sprint("run-", i), Outcome: store.OutcomeOK}); err != nil {
			t.Fatal(err)
		}
	}
	// A liveness bound, not a timing claim: the chainer looks at least once a second.
	deadline := time.Now().Add(30 * time.Second)
	for pendingCount(t, url) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d audit rows still pending 30 s after their commit", pendingCount(t, url))
		}
		time.Sleep(10 * time.Millisecond)
	}
	seq, _, err := s.AuditHead(ctx)
	if err != nil || seq != 20 {
		t.Errorf("audit head = %d, %v; want 20", seq, err)
	}
}

// TestAuditChainManyWriters: writers on two stores (two replicas) record facts concurrently,
// both stores' chainers running; the chain ends with every fact exactly once, gapless, and
// verifies.
func TestAuditChainManyWriters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, url := openMigrated(t)
	defer a.Close()
	b, err := store.Open(ctx, store.Config{DatabaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const writers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := s.OperationRecord(ctx, &store.OperationRecordParams{Actor: person(fmt.Sprint("w", w)), Operation: "run.submit",
					Target: fmt.Sprintf("run-%d-%d", w, i), Outcome: store.OutcomeOK}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// A run's events, written while the operations are.
	o := setup(t, a)
	if err := a.RunStateSet(ctx, &store.RunStateSetParams{RunID: o.run.ID, Epoch: o.epoch, State: drills.RunRunning, At: at(0)}); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		id, err := b.StepStart(ctx, &store.StepStartParams{RunID: o.run.ID, Epoch: o.epoch, Seq: i + 1, Key: fmt.Sprint("s", i), Action: "wait", At: at(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.StepFinish(ctx, &store.StepFinishParams{RunID: o.run.ID, Epoch: o.epoch, StepID: id, State: drills.StepSucceeded, At: at(time.Duration(i)*time.Second + time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep, err := b.AuditVerify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	events, err := a.RunEventList(ctx, o.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	// setup records operations of its own: count them from the log of operations.
	var ops int64
	if err := a.DBForTest().Raw("SELECT count(*) FROM operations").Scan(&ops).Error; err != nil {
		t.Fatal(err)
	}
	want := ops + int64(len(events))
	if rep.Problem != nil || rep.Rows != want || rep.HeadSeq != want {
		t.Errorf("AuditVerify = %+v (problem %+v), want %d rows up to head %d and no problem", rep, rep.Problem, want, want)
	}
	if ops < writers*each {
		t.Errorf("%d operations recorded, want at least %d", ops, writers*each)
	}
	if n := pendingCount(t, url); n != 0 {
		t.Errorf("%d rows pending after AuditVerify chained everything", n)
	}
}

// TestAuditPendingIsCheckedAgainstItsFact: while no chaining can run, a fact's audit copy is
// pending; the run's check counts it as pending, not missing, and still catches the fact
// altered behind it.
func TestAuditPendingIsCheckedAgainstItsFact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, url := openMigrated(t)
	defer s.Close()
	o := setup(t, s)
	if _, err := s.AuditChain(ctx); err != nil {
		t.Fatal(err)
	}
	release := holdAuditHead(t, url)
	if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: o.run.ID, Epoch: o.epoch, State: drills.RunRunning, At: at(0)}); err != nil {
		t.Fatal(err)
	}
	id, err := s.StepStart(ctx, &store.StepStartParams{RunID: o.run.ID, Epoch: o.epoch, Seq: 1, Key: "drain", Action: "wait", At: at(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.RunSnapshotGet(ctx, o.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Audit.Problem != nil || snap.Audit.Pending != 2 || snap.Audit.Rows+snap.Audit.Pending != int64(len(snap.Events)) {
		t.Fatalf("run check with two events pending = %+v (problem %+v), want 2 pending of %d and no problem", snap.Audit, snap.Audit.Problem, len(snap.Events))
	}
	tamper(t, s, "UPDATE run_events SET message = 'forged' WHERE run_id = '"+o.run.ID+"' AND kind = 'step_started'")
	snap, err = s.RunSnapshotGet(ctx, o.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p := snap.Audit.Problem; p == nil || !strings.Contains(p.Message, "its pending audit row differs") {
		t.Errorf("run check after the pending event was altered = %+v, want it named", p)
	}
	release()
	if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: o.run.ID, Epoch: o.epoch, StepID: id, State: drills.StepSucceeded, At: at(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	// Once chained, the altered event is caught by the chained row's comparison.
	rep, err := s.AuditVerify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem == nil || !strings.Contains(rep.Problem.Message, "was altered after it was recorded") || rep.Pending != 0 {
		t.Errorf("AuditVerify after chaining = %+v (problem %+v), want the altered event named and nothing pending", rep, rep.Problem)
	}
}

// TestAuditChainCloseLeavesNothingPending: a short-lived process (a CLI command) that records
// a fact and closes its store chains it on the way out, even when a chaining elsewhere held
// the head at that moment.
func TestAuditChainCloseLeavesNothingPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, url := openMigrated(t)
	release := holdAuditHead(t, url)
	if _, err := s.OperationRecord(ctx, &store.OperationRecordParams{Actor: person("alice"), Operation: "user.create",
		Target: "bob", Outcome: store.OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	if n := pendingCount(t, url); n != 1 {
		t.Fatalf("%d rows pending while the head is held, want 1", n)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		release()
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := pendingCount(t, url); n != 0 {
		t.Errorf("%d rows pending after Close, want 0", n)
	}
}
