package report

import (
	"context"
	"fmt"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// ScheduledServices is one schedule of the estate with the services its plan fails over:
// each of its fires in a period is a drill due for each of them.
type ScheduledServices struct {
	Schedule string
	Services []string
}

// ServiceDue is what the schedules asked of one service in the period: the drills due and
// the fires that did not run one, with why.
type ServiceDue struct {
	TestsDue int
	Skipped  []drills.SkippedFire
}

// skippedReasons say in words why a fire ran no drill.
var skippedReasons = map[string]string{
	store.FireSkippedBlackout: "blackout",
	store.FireSkippedMissed:   "missed while no replica ran",
	store.FireSkippedPaused:   "schedule paused",
}

// dueOf reads the decided fires of the schedules in [from, to) and counts, per service, the
// drills they made due and the fires they skipped. A superseded fire (a missed fire replaced
// by a later one under run_once) is not a drill due: the fire that replaced it is.
func (g *Gatherer) dueOf(ctx context.Context, schedules []ScheduledServices, per *Scope) (map[string]*ServiceDue, error) {
	due := map[string]*ServiceDue{}
	for _, sch := range schedules {
		fires, err := g.cfg.Store.ScheduleFireList(ctx, &store.ScheduleFireListParams{Schedule: sch.Schedule, From: per.Period.Start, To: per.Period.End})
		if err != nil {
			return nil, fmt.Errorf("fires of schedule %s: %w", sch.Schedule, err)
		}
		for _, f := range fires {
			if f.Decision == store.FireSuperseded {
				continue
			}
			for _, svc := range sch.Services {
				d := due[svc]
				if d == nil {
					d = &ServiceDue{}
					due[svc] = d
				}
				d.TestsDue++
				if f.Decision == store.FireRun {
					continue
				}
				reason := skippedReasons[f.Decision]
				if reason == "" {
					reason = f.Decision
				}
				if f.Reason != "" {
					reason += ": " + f.Reason
				}
				d.Skipped = append(d.Skipped, drills.SkippedFire{Schedule: sch.Schedule, At: f.FireTime, Reason: reason})
			}
		}
	}
	return due, nil
}
