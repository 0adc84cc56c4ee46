package control_test

import (
	"context"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// ServiceDrillsGet returns each service's newest drills with the figures RunGet shows of
// them, newest first; it is run.read, and names the field it refuses.
func TestServiceDrillsGet(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alice, _ := f.person("alice", drills.RoleSRE)
	vic, _ := f.person("vic", drills.RoleViewer)
	sec, fast, slow, yes := time.Second, time.Minute, 2*time.Hour, true
	measured := func(rto time.Duration) store.MeasurementInput {
		return store.MeasurementInput{Service: "auth", Criticality: drills.CriticalityCore, RTOObjective: time.Hour, RTOActual: &rto,
			Restored: true, RTOMet: rto <= time.Hour, RPOObjective: time.Minute, RPOActual: &sec, RPOMet: &yes}
	}
	passed := f.drillAuth(alice, drills.RunSucceeded, "", measured(fast))
	f.clk.Advance(time.Hour)
	missed := f.drillAuth(alice, drills.RunFailed, "", measured(slow))
	ended := []drills.RunState{drills.RunSucceeded, drills.RunFailed, drills.RunAborted}

	got, err := f.ctl.ServiceDrillsGet(ctx, vic, &control.ServiceDrillsParams{Services: []string{"auth", "payments"}, States: ended, PerService: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got["auth"]) != 1 {
		t.Fatalf("latest = %+v, want auth's alone (payments was never measured)", got)
	}
	latest := got["auth"][0]
	view, err := f.ctl.RunGet(ctx, vic, missed)
	if err != nil {
		t.Fatal(err)
	}
	if latest.Run.ID != missed || latest.Run.Passed || latest.Measure.RTOEvidence != drills.EvidenceMissed ||
		*latest.Measure.RTOActualMS != slow.Milliseconds() || latest.Measure.RTOEvidence != view.Services[0].RTOEvidence ||
		latest.Run.State != view.Run.State || *latest.Run.ObjectivesMet != *view.Run.ObjectivesMet {
		t.Errorf("latest = %+v, want the failed run %s as RunGet shows it: %+v", latest, missed, view.Services[0])
	}
	got, err = f.ctl.ServiceDrillsGet(ctx, vic, &control.ServiceDrillsParams{Services: []string{"auth"}, PerService: 10})
	if err != nil {
		t.Fatal(err)
	}
	if h := got["auth"]; len(h) != 2 || h[0].Run.ID != missed || h[1].Run.ID != passed || !h[1].Run.Passed || h[1].Measure.RTOEvidence != drills.EvidenceMet {
		t.Errorf("history = %+v, want %s then %s (passed)", h, missed, passed)
	}

	for _, bad := range []struct {
		p     control.ServiceDrillsParams
		field string
	}{
		{control.ServiceDrillsParams{PerService: 1}, "services"},
		{control.ServiceDrillsParams{Services: []string{""}, PerService: 1}, "services[0]"},
		{control.ServiceDrillsParams{Services: []string{"auth"}}, "per_service"},
		{control.ServiceDrillsParams{Services: []string{"auth"}, PerService: control.MaxServiceDrills + 1}, "per_service"},
		{control.ServiceDrillsParams{Services: []string{"auth"}, PerService: 1, States: []drills.RunState{"done"}}, "states[0]"},
	} {
		e := wantCategory(t, "ServiceDrillsGet", func() error { _, err := f.ctl.ServiceDrillsGet(ctx, vic, &bad.p); return err }(), control.CategoryInvalid)
		if e != nil && e.Field != bad.field {
			t.Errorf("ServiceDrillsGet(%+v) names %q, want %q", bad.p, e.Field, bad.field)
		}
	}
	// Every role reads runs; a person without a role may not.
	nobody := &control.Caller{Actor: drills.Actor{Kind: drills.ActorUser, Name: "nobody", Via: drills.ViaAPI}}
	wantCategory(t, "a caller without run.read", func() error {
		_, err := f.ctl.ServiceDrillsGet(ctx, nobody, &control.ServiceDrillsParams{Services: []string{"auth"}, PerService: 1})
		return err
	}(), control.CategoryForbidden)
}
