package control

import (
	"context"
	"fmt"
	"slices"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// MaxServiceDrills bounds ServiceDrillsParams.PerService.
const MaxServiceDrills = store.MaxServiceDrills

// ServiceDrillsParams select ServiceDrillsGet.
type ServiceDrillsParams struct {
	// Services are the services asked for; at least one.
	Services []string
	// States are the run states that count; empty means every terminal state.
	States []drills.RunState
	// PerService is how many of each service's newest drills to return (1: its latest
	// figures). 1 to MaxServiceDrills.
	PerService int
}

// ServiceDrill is one run's figures for one service.
type ServiceDrill struct {
	Run     RunSummary      `json:"run"`
	Measure MeasurementView `json:"measure"`
}

// ServiceDrillsGet returns, per service asked, the newest runs that measured it with its
// figures, newest first; a service no such run measured has no entry. It is run.read: what
// RunGet would show of those runs' measurements, read in a few indexed statements instead of
// each run's whole view (RunGet also reads the timeline and verifies its audit rows).
func (c *Control) ServiceDrillsGet(ctx context.Context, caller *Caller, p *ServiceDrillsParams) (map[string][]ServiceDrill, error) {
	if err := c.authorize(ctx, caller, OpRunRead, "", ""); err != nil {
		return nil, err
	}
	if p == nil || len(p.Services) == 0 {
		return nil, invalidf("services", "at least one service is required")
	}
	for i, s := range p.Services {
		if s == "" {
			return nil, invalidf(fmt.Sprintf("services[%d]", i), "a service's name is required")
		}
	}
	if p.PerService < 1 || p.PerService > MaxServiceDrills {
		return nil, invalidf("per_service", "per_service must be 1 to %d, got %d", MaxServiceDrills, p.PerService)
	}
	q := &store.ServiceDrillsParams{Services: p.Services, PerService: p.PerService, States: p.States}
	for i, st := range p.States {
		if !slices.Contains(drills.RunStates, st) {
			return nil, invalidf(fmt.Sprintf("states[%d]", i), "%q is not a run state (%s)", st, joinStates(drills.RunStates))
		}
	}
	if len(q.States) == 0 {
		for _, st := range drills.RunStates {
			if st.IsTerminal() {
				q.States = append(q.States, st)
			}
		}
	}
	// A caller the table scopes (an auditor) reads the runs published reports cover, as
	// RunListGet scopes its list.
	q.Published = Scoped(OpRunRead, caller)
	found, err := c.cfg.Store.ServiceDrills(ctx, q)
	if err != nil {
		return nil, internal(err)
	}
	out := make(map[string][]ServiceDrill, len(found))
	for service, ds := range found {
		views := make([]ServiceDrill, len(ds))
		for i, d := range ds {
			views[i] = ServiceDrill{Run: runSummaryOf(d.Run, d.RunMeasurements), Measure: measurementViewOf(d.Run, d.Measurement)}
		}
		out[service] = views
	}
	return out, nil
}
