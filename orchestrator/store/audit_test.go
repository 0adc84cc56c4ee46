package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// tamper runs stmts as someone who can bypass the append-only triggers: a PostgreSQL
// superuser with triggers off for the transaction, or on SQLite a user who drops them.
func tamper(t *testing.T, s *store.Store, stmts ...string) {
	t.Helper()
	err := s.DBForTest().Transaction(func(tx *gorm.DB) error {
		if s.Dialect() == store.DialectPostgres {
			if err := tx.Exec("SET LOCAL session_replication_role = replica").Error; err != nil {
				return err
			}
		} else {
			for _, tr := range []string{"run_events_no_update", "run_events_no_delete", "operations_no_update",
				"operations_no_delete", "audit_log_no_update", "audit_log_no_delete"} {
				if err := tx.Exec("DROP TRIGGER IF EXISTS " + tr).Error; err != nil {
					return err
				}
			}
		}
		for _, stmt := range stmts {
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("tamper: %v", err)
	}
}

// auditedRun records a finished run and a few operations.
func auditedRun(t *testing.T, s *store.Store) *bundle {
	t.Helper()
	ctx := context.Background()
	b := setup(t, s)
	if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunRunning, At: at(0)}); err != nil {
		t.Fatal(err)
	}
	stepID, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Seq: 1, Key: "lose-sangam",
		Action: "nomad.drain_site", Site: "sangam", Idempotent: true, Timeout: time.Minute, At: at(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: b.run.ID, Epoch: b.epoch, StepID: stepID, State: drills.StepFailed,
		Error: "drain refused", At: at(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OperationRecord(ctx, &store.OperationRecordParams{Actor: person("alice"), Operation: "run.abort",
		Target: b.run.ID, Outcome: store.OutcomeOK, Message: "abort <requested> & noted", Detail: map[string]any{"reason": "VAN down", "n": 1.5}}); err != nil {
		t.Fatal(err)
	}
	if err := s.RunFinish(ctx, &store.RunFinishParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunRolledBack,
		Reason: "step lose-sangam failed", ObjectivesMet: ptr(false), At: at(3 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OperationRecord(ctx, &store.OperationRecordParams{Operation: "run.read", Outcome: store.OutcomeDenied, Message: "no token"}); err != nil {
		t.Fatal(err)
	}
	// The record as an auditor finds it: every fact chained (on PostgreSQL the chainer
	// appends them shortly after their commit).
	if _, err := s.AuditChain(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

func verify(t *testing.T, s *store.Store, runID string) *store.AuditReport {
	t.Helper()
	rep, err := s.AuditVerify(context.Background(), &store.AuditVerifyParams{RunID: runID})
	if err != nil {
		t.Fatalf("AuditVerify(%q): %v", runID, err)
	}
	return rep
}

func TestAuditChainHolds(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := auditedRun(t, s)
		evs := assertEventsGapless(t, s, b.run.ID)
		rep := verify(t, s, "")
		if rep.Problem != nil {
			t.Fatalf("AuditVerify(all) = %+v, want no problem", rep.Problem)
		}
		// Two operations, and the finding RunFinish recorded for the failed step.
		if want := int64(len(evs) + 3); rep.Rows != want || rep.HeadSeq != want || len(rep.HeadHash) != 64 {
			t.Errorf("AuditVerify(all) = %+v, want %d rows (every event and operation)", rep, want)
		}
		if rep := verify(t, s, b.run.ID); rep.Problem != nil || rep.Rows != int64(len(evs)) {
			t.Errorf("AuditVerify(run) = %+v (problem %+v), want %d rows, no problem", rep, rep.Problem, len(evs))
		}
		// Each row's hash is AuditHash of the one before, its number and its content.
		var rows []struct {
			Seq                     int64
			Content, PrevHash, Hash string
		}
		if err := s.DBForTest().Raw("SELECT seq, content, prev_hash, hash FROM audit_log ORDER BY seq").Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		prev := store.AuditGenesis
		for _, r := range rows {
			if r.PrevHash != prev || store.AuditHash(prev, r.Seq, r.Content) != r.Hash {
				t.Errorf("audit row %d: prev %s hash %s, want prev %s hash %s", r.Seq, r.PrevHash, r.Hash, prev, store.AuditHash(prev, r.Seq, r.Content))
			}
			prev = r.Hash
		}
		// The runtime can neither change nor remove the log.
		for _, stmt := range []string{"UPDATE audit_log SET content = '{}'", "DELETE FROM audit_log"} {
			if err := s.DBForTest().Exec(stmt).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s = %v, want refused as append-only", stmt, err)
			}
		}
	})
}

// assertOneAuditRowPerEvent checks that every run event has exactly one audit row, and
// returns how many were appended by the event's own statement (PostgreSQL's step functions)
// and how many otherwise (the trigger, or the store on SQLite).
func assertOneAuditRowPerEvent(t *testing.T, s *store.Store) (inline, other int) {
	t.Helper()
	if _, err := s.AuditChain(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		RunID         string
		Seq           int
		AuditedInline bool
		AuditRows     int
	}
	err := s.DBForTest().Raw(`SELECT e.run_id, e.seq, e.audited_inline, COUNT(a.seq) AS audit_rows
FROM run_events e LEFT JOIN audit_log a ON a.source = 'run_event' AND a.run_id = e.run_id AND a.ref = e.seq
GROUP BY e.run_id, e.seq, e.audited_inline ORDER BY e.run_id, e.seq`).Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.AuditRows != 1 {
			t.Errorf("run %s event %d (audited inline %v) has %d audit rows, want 1", r.RunID, r.Seq, r.AuditedInline, r.AuditRows)
		}
		if r.AuditedInline {
			inline++
		} else {
			other++
		}
	}
	return inline, other
}

// TestEveryRunEventHasOneAuditRow: on PostgreSQL a step's start and finish append their audit
// row in their own statement and the trigger audits every other event; neither path misses
// an event and they never both write one.
func TestEveryRunEventHasOneAuditRow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := auditedRun(t, s)
		// A second attempt of a step and one the fence stops: neither may leave an event
		// without its row nor a row without its event.
		stepID, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Seq: 1, Attempt: 2,
			Key: "lose-sangam", Action: "nomad.drain_site", At: at(4 * time.Second)})
		if err == nil || stepID != "" {
			t.Errorf("StepStart on a finished run = %q, %v; want refused", stepID, err)
		}
		o := setup(t, s)
		if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: o.run.ID, Epoch: o.epoch, State: drills.RunRunning, At: at(0)}); err != nil {
			t.Fatal(err)
		}
		for attempt := 1; attempt <= 2; attempt++ {
			id, err := s.StepStart(ctx, &store.StepStartParams{RunID: o.run.ID, Epoch: o.epoch, Seq: 1, Attempt: attempt,
				Key: "wait", Action: "wait", At: at(time.Duration(attempt) * time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: o.run.ID, Epoch: o.epoch, StepID: id, State: drills.StepSucceeded,
				Evidence: []byte(`{"waited_ms": 0, "note": "ü \"quoted\""}`), At: at(time.Duration(attempt)*time.Second + time.Millisecond)}); err != nil {
				t.Fatal(err)
			}
			if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: o.run.ID, Epoch: o.epoch, StepID: id, State: drills.StepFailed,
				At: at(3 * time.Second)}); !errors.Is(err, store.ErrStepFinished) {
				t.Errorf("second StepFinish = %v, want ErrStepFinished", err)
			}
		}
		if _, err := s.StepStart(ctx, &store.StepStartParams{RunID: o.run.ID, Epoch: o.epoch + 1, Seq: 2,
			Key: "late", Action: "wait", At: at(4 * time.Second)}); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("StepStart at a stale epoch = %v, want ErrLeaseLost", err)
		}
		inline, other := assertOneAuditRowPerEvent(t, s)
		steps := 2 + 4 // auditedRun's start and finish, two attempts here
		wantInline := 0
		if s.Dialect() == store.DialectPostgres {
			wantInline = steps
		}
		if inline != wantInline || other == 0 {
			t.Errorf("audited inline %d, otherwise %d; want %d inline and the other events otherwise", inline, other, wantInline)
		}
		if rep := verify(t, s, ""); rep.Problem != nil {
			t.Fatalf("AuditVerify(all) = %+v", rep.Problem)
		}
		for _, id := range []string{b.run.ID, o.run.ID} {
			if rep := verify(t, s, id); rep.Problem != nil {
				t.Errorf("AuditVerify(%s) = %+v", id, rep.Problem)
			}
		}
	})
}

func TestAuditVerifyNamesTheFirstAlteredRow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		stmts func(runID string) []string
		// want is in the problem's message; run says whether the run's part sees it too.
		want string
		run  bool
	}{
		{"event edited", func(id string) []string {
			return []string{"UPDATE run_events SET message = 'drain done' WHERE run_id = '" + id + "' AND kind = 'step_finished'"}
		}, "event 5 was altered", true},
		{"event removed", func(id string) []string {
			return []string{"DELETE FROM run_events WHERE run_id = '" + id + "' AND seq = 3"}
		}, "event 3 is missing from the timeline", true},
		{"event inserted around the log", func(id string) []string {
			return []string{"INSERT INTO run_events (run_id, seq, at, kind, step_key, message) VALUES ('" + id + "', 99, '2026-01-01 00:00:00', 'milestone', '', 'restored')"}
		}, "event 99 is not in the audit log", true},
		{"run state edited", func(id string) []string {
			return []string{"UPDATE runs SET state = 'succeeded', objectives_met = true WHERE id = '" + id + "'"}
		}, "its state is succeeded but its audited events end in rolled_back", true},
		{"operation edited", func(string) []string {
			return []string{"UPDATE operations SET actor_name = 'mallory' WHERE operation = 'run.abort'"}
		}, "was altered after it was recorded", false},
		{"audit row edited", func(string) []string {
			return []string{"UPDATE audit_log SET content = replace(content, 'drain refused', 'drain done') WHERE seq = 5"}
		}, "audit row 5 was altered", true},
		{"audit row removed", func(string) []string {
			return []string{"DELETE FROM audit_log WHERE seq = 4"}
		}, "audit row 4 is missing", true},
		{"audit tail removed", func(string) []string {
			return []string{"DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)"}
		}, "rows were removed", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, s *store.Store) {
				b := auditedRun(t, s)
				tamper(t, s, tt.stmts(b.run.ID)...)
				rep := verify(t, s, "")
				if rep.Problem == nil || !strings.Contains(rep.Problem.Message, tt.want) {
					t.Errorf("AuditVerify(all) problem = %+v, want one saying %q", rep.Problem, tt.want)
				}
				runRep := verify(t, s, b.run.ID)
				if tt.run && runRep.Problem == nil {
					t.Errorf("AuditVerify(run) found nothing, want a problem like %q", tt.want)
				}
				// A run's view checks its audit rows against the timeline it read itself.
				snap, err := s.RunSnapshotGet(context.Background(), b.run.ID)
				if err != nil {
					t.Fatal(err)
				}
				if (snap.Audit.Problem == nil) != (runRep.Problem == nil) ||
					(runRep.Problem != nil && snap.Audit.Problem.Message != runRep.Problem.Message) {
					t.Errorf("RunSnapshotGet audit problem = %+v, AuditVerify(run) = %+v: want the same", snap.Audit.Problem, runRep.Problem)
				}
				if !tt.run && runRep.Problem != nil && tt.name == "operation edited" {
					t.Errorf("AuditVerify(run) = %+v: the run's part was not touched", runRep.Problem)
				}
			})
		})
	}
}

// TestAuditChainHasNoForkUnderConcurrentWriters: runners of different runs and control
// operations append at once (the replicas' case); the chain stays one gapless line.
func TestAuditChainHasNoForkUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const runs, steps, ops = 4, 10, 20
		bundles := make([]*bundle, runs)
		for i := range bundles {
			bundles[i] = setup(t, s)
		}
		errs := make(chan error, runs+2)
		for _, b := range bundles {
			go func() {
				for i := range steps {
					id, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Seq: i + 1,
						Key: fmt.Sprintf("s%d", i), Action: "wait", Timeout: time.Minute})
					if err == nil {
						err = s.StepFinish(ctx, &store.StepFinishParams{RunID: b.run.ID, Epoch: b.epoch, StepID: id, State: drills.StepSucceeded})
					}
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range 2 {
			go func() {
				for i := range ops {
					if _, err := s.OperationRecord(ctx, &store.OperationRecordParams{Actor: person("alice"), Operation: "freeze.read",
						Outcome: store.OutcomeOK, Message: fmt.Sprint(i)}); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range runs + 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		rep := verify(t, s, "")
		// Each run: created, claimed, and a start and finish per step.
		if want := int64(runs*(2+2*steps) + 2*ops); rep.Problem != nil || rep.Rows != want || rep.HeadSeq != want {
			t.Errorf("AuditVerify = %+v (problem %+v), want %d rows and no problem", rep, rep.Problem, want)
		}
	})
}
