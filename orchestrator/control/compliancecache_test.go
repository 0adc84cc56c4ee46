package control_test

import (
	"context"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	oreport "github.com/firedrill/firedrill/orchestrator/report"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// ComplianceGet reuses an evaluation while nothing audited changed and for at most
// ComplianceCacheFor, but never after a run ended: the next call sees the drill.
func TestComplianceGetNeverStaleAfterARunEnds(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	g, err := oreport.New(oreport.Config{Store: f.st, Compliance: oreport.ProfileCompliance{}})
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := control.New(control.Config{Store: f.st, Clock: f.clk, Estate: &control.Estate{Path: estatePath, Estate: f.estate, Source: f.src},
		Reports: &control.Reports{Gatherer: g}})
	if err != nil {
		t.Fatal(err)
	}
	viewer, _ := f.person("kim", drills.RoleViewer)
	alice, _ := f.person("alice", drills.RoleSRE)
	p := &control.ComplianceParams{Profile: "kr-efsr", Period: f.clk.Now().Format("2006")}
	get := func() *control.ComplianceView {
		t.Helper()
		v, err := ctl.ComplianceGet(ctx, viewer, p)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	auth := func(v *control.ComplianceView) *int64 {
		for _, s := range v.Services {
			if s.Service == "auth" {
				return s.RTOMeasuredMS
			}
		}
		t.Fatalf("no auth in %+v", v.Services)
		return nil
	}
	first := get()
	if auth(first) != nil {
		t.Fatalf("auth measured before any drill: %d", *auth(first))
	}
	f.clk.Advance(time.Second)
	if again := get(); again != first {
		t.Errorf("nothing changed a second later: evaluated again at %s", again.EvaluatedAt)
	}
	// A drill of auth ends: the next call evaluates again and shows its figure.
	sec, yes := time.Second, true
	rto := 10 * time.Minute
	f.drillAuth(alice, drills.RunSucceeded, "", store.MeasurementInput{Service: "auth", Criticality: drills.CriticalityCore, RTOObjective: time.Hour,
		RTOActual: &rto, Restored: true, RTOMet: true, RPOObjective: time.Minute, RPOActual: &sec, RPOMet: &yes})
	f.clk.Advance(time.Millisecond) // the runs ended before now count
	after := get()
	if after == first || auth(after) == nil || *auth(after) != rto.Milliseconds() {
		t.Fatalf("after the drill ended: auth measured %v (evaluated at %s), want %d ms", auth(after), after.EvaluatedAt, rto.Milliseconds())
	}
	// Unchanged, it is reused until ComplianceCacheFor has passed since it was evaluated; then
	// it is still answered while a new one is made, which the next calls get.
	f.clk.Advance(control.ComplianceCacheFor - time.Second)
	if v := get(); v != after {
		t.Errorf("within %s: evaluated again at %s", control.ComplianceCacheFor, v.EvaluatedAt)
	}
	f.clk.Advance(time.Second)
	refreshed := f.clk.Now()
	if v := get(); v != after {
		t.Errorf("%s later: waited for a new evaluation (%s) instead of answering the last one", control.ComplianceCacheFor, v.EvaluatedAt)
	}
	deadline := time.Now().Add(30 * time.Second)
	for v := get(); !v.EvaluatedAt.Equal(refreshed); v = get() {
		if time.Now().After(deadline) {
			t.Fatalf("no new evaluation in the background: still %s", v.EvaluatedAt)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Long unasked, the caller waits for a new evaluation instead of an old one.
	f.clk.Advance(10 * control.ComplianceCacheFor)
	if v := get(); !v.EvaluatedAt.Equal(f.clk.Now()) {
		t.Errorf("%s unasked: answered the evaluation of %s", 10*control.ComplianceCacheFor, v.EvaluatedAt)
	}
}
