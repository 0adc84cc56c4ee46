package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// measuredIn is met(service) with its own RTO, so that a figure tells which run it came from.
func measuredIn(service string, rto time.Duration) store.MeasurementInput {
	m := met(service)
	m.RTOActual = &rto
	return m
}

// TestServiceDrills: each service's newest runs in the states asked, newest first, with the
// figures of that run, on both dialects; the states and the run filter restrict them.
func TestServiceDrills(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r1 := drill(t, s, 0, drills.RunSucceeded, "", measuredIn("payments", 1*time.Minute), measuredIn("auth", 11*time.Minute))
		r2 := drill(t, s, time.Hour, drills.RunFailed, "", measuredIn("payments", 2*time.Minute))
		r3 := drill(t, s, 2*time.Hour, drills.RunSucceeded, "", measuredIn("auth", 13*time.Minute))
		drill(t, s, 3*time.Hour, drills.RunAborted, "", measuredIn("payments", 4*time.Minute)) // not asked for
		setup(t, s)                                                                            // a run not over: no figures

		ended := []drills.RunState{drills.RunSucceeded, drills.RunFailed}
		type want struct {
			run string
			rto time.Duration
		}
		check := func(t *testing.T, p *store.ServiceDrillsParams, wantBy map[string][]want) {
			t.Helper()
			got, err := s.ServiceDrills(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(wantBy) {
				t.Errorf("services %v, want %d: %v", keys(got), len(wantBy), wantBy)
			}
			for service, ws := range wantBy {
				ds := got[service]
				if len(ds) != len(ws) {
					t.Errorf("%s: %d drills, want %d", service, len(ds), len(ws))
					continue
				}
				for i, w := range ws {
					d := ds[i]
					if d.Run.ID != w.run || d.Measurement.Service != service || d.Measurement.RunID != w.run ||
						d.Measurement.RTOActual == nil || *d.Measurement.RTOActual != w.rto {
						t.Errorf("%s[%d]: run %s, %s measured %v; want run %s, RTO %s", service, i, d.Run.ID, d.Measurement.Service, d.Measurement.RTOActual, w.run, w.rto)
					}
					if !d.Run.State.IsTerminal() || d.Run.EndedAt == nil {
						t.Errorf("%s[%d]: run in %s, ended %v", service, i, d.Run.State, d.Run.EndedAt)
					}
					var all []string
					for _, m := range d.RunMeasurements {
						all = append(all, m.Service)
					}
					if d.Run.ID == r1.ID && len(all) != 2 {
						t.Errorf("%s[%d]: the run's measurements %v, want auth and payments", service, i, all)
					}
				}
			}
		}
		t.Run("latest", func(t *testing.T) {
			check(t, &store.ServiceDrillsParams{Services: []string{"payments", "auth", "remittance"}, States: ended, PerService: 1},
				map[string][]want{"payments": {{r2.ID, 2 * time.Minute}}, "auth": {{r3.ID, 13 * time.Minute}}})
		})
		t.Run("history newest first", func(t *testing.T) {
			check(t, &store.ServiceDrillsParams{Services: []string{"payments", "auth"}, States: ended, PerService: 10},
				map[string][]want{
					"payments": {{r2.ID, 2 * time.Minute}, {r1.ID, time.Minute}},
					"auth":     {{r3.ID, 13 * time.Minute}, {r1.ID, 11 * time.Minute}},
				})
		})
		t.Run("states", func(t *testing.T) {
			check(t, &store.ServiceDrillsParams{Services: []string{"payments"}, States: []drills.RunState{drills.RunSucceeded}, PerService: 1},
				map[string][]want{"payments": {{r1.ID, time.Minute}}})
		})
		t.Run("runs filter", func(t *testing.T) {
			check(t, &store.ServiceDrillsParams{Services: []string{"payments", "auth"}, States: ended, PerService: 5, RunIDs: []string{r1.ID}},
				map[string][]want{"payments": {{r1.ID, time.Minute}}, "auth": {{r1.ID, 11 * time.Minute}}})
			check(t, &store.ServiceDrillsParams{Services: []string{"payments"}, States: ended, PerService: 5, RunIDs: []string{}},
				map[string][]want{})
		})
		t.Run("invalid", func(t *testing.T) {
			for _, p := range []*store.ServiceDrillsParams{
				nil,
				{States: ended, PerService: 1},
				{Services: []string{"payments"}, PerService: 1},
				{Services: []string{"payments"}, States: ended},
				{Services: []string{"payments"}, States: ended, PerService: store.MaxServiceDrills + 1},
			} {
				if _, err := s.ServiceDrills(ctx, p); err == nil {
					t.Errorf("ServiceDrills(%+v) = nil error", p)
				}
			}
		})
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
