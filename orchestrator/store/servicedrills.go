package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/firedrill/firedrill/drills"
)

// MaxServiceDrills bounds ServiceDrillsParams.PerService.
const MaxServiceDrills = 200

// ServiceDrillsParams select ServiceDrills.
type ServiceDrillsParams struct {
	// Services are the services asked for; at least one.
	Services []string
	// States are the run states that count (the console counts runs that are over); at least one.
	States []drills.RunState
	// PerService is how many of each service's newest runs to return: 1 for its latest
	// figures, more for its history. 1 to MaxServiceDrills.
	PerService int
	// RunIDs, when not nil, restricts the runs to these (a caller who may read only some
	// runs); nil means every run.
	RunIDs []string
	// Published, when set, keeps the runs a published report covers: what an auditor reads.
	Published bool
}

// ServiceDrill is one run's measurement of one service.
type ServiceDrill struct {
	Run         *Run
	Measurement *Measurement
	// RunMeasurements are all the run's measurements, this one among them: what the run's
	// verdict is computed from.
	RunMeasurements []*Measurement
}

// ServiceDrills returns, for each service asked, the newest p.PerService runs in p.States that
// measured it, newest first (by created_at, then id: the run list's order), with their
// measurements. A service no such run measured has no entry. It reads no run's timeline.
//
// On PostgreSQL each service is one LATERAL walk of runs_created_at_idx newest first, probing
// measurements_run_id_service_key, that stops after PerService hits: a service drilled in the
// last runs costs a few index probes, whatever the history's length. Then the runs and their
// measurements are read by id: three indexed statements in all.
func (s *Store) ServiceDrills(ctx context.Context, p *ServiceDrillsParams) (map[string][]ServiceDrill, error) {
	if p == nil || len(p.Services) == 0 || len(p.States) == 0 {
		return nil, errors.New("service drills: Services and States are required")
	}
	if p.PerService < 1 || p.PerService > MaxServiceDrills {
		return nil, fmt.Errorf("service drills: PerService must be 1 to %d, got %d", MaxServiceDrills, p.PerService)
	}
	out := map[string][]ServiceDrill{}
	if p.RunIDs != nil && len(p.RunIDs) == 0 {
		return out, nil
	}
	services := slices.Compact(slices.Sorted(slices.Values(p.Services)))
	states := make([]string, len(p.States))
	for i, st := range p.States {
		states[i] = string(st)
	}
	db := s.db.WithContext(ctx)
	inRuns, args := "", []any{}
	if s.dialect == DialectPostgres {
		for _, name := range services {
			args = append(args, name)
		}
	} else {
		args = append(args, services)
	}
	args = append(args, states)
	if p.RunIDs != nil {
		inRuns = " AND r.id IN ?"
		args = append(args, p.RunIDs)
	}
	if p.Published {
		inRuns += " AND EXISTS (SELECT 1 FROM report_runs WHERE report_runs.run_id = r.id AND " + publishedReport + ")"
	}
	args = append(args, p.PerService)
	var q string
	if s.dialect == DialectPostgres {
		// One typed parameter per service: an untyped ARRAY[$1, ...] has no element type.
		q = `SELECT s.service, k.run_id FROM unnest(ARRAY[` + strings.TrimSuffix(strings.Repeat("CAST(? AS text), ", len(services)), ", ") + `]) AS s(service)
CROSS JOIN LATERAL (
    SELECT m.run_id, r.created_at FROM runs r JOIN measurements m ON m.run_id = r.id AND m.service = s.service
    WHERE r.state IN ?` + inRuns + `
    ORDER BY r.created_at DESC, r.id DESC LIMIT ?
) AS k
ORDER BY s.service, k.created_at DESC, k.run_id DESC`
	} else {
		// SQLite has no LATERAL; its databases are small.
		q = `SELECT service, run_id FROM (
    SELECT m.service, m.run_id, r.created_at, r.id,
           ROW_NUMBER() OVER (PARTITION BY m.service ORDER BY r.created_at DESC, r.id DESC) AS n
    FROM measurements m JOIN runs r ON r.id = m.run_id
    WHERE m.service IN ? AND r.state IN ?` + inRuns + `
) AS k WHERE n <= ? ORDER BY service, created_at DESC, id DESC`
	}
	var hits []struct {
		Service string `gorm:"column:service"`
		RunID   string `gorm:"column:run_id"`
	}
	if err := db.Raw(q, args...).Scan(&hits).Error; err != nil {
		return nil, fmt.Errorf("service drills: %w", translate(err))
	}
	if len(hits) == 0 {
		return out, nil
	}
	ids := make([]string, 0, len(hits))
	for _, h := range hits {
		ids = append(ids, h.RunID)
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	rms, err := scanModels(db.Raw(`SELECT `+runColumns.list("")+` FROM runs WHERE id IN ?`, ids), runColumns)
	if err != nil {
		return nil, fmt.Errorf("service drills: runs: %w", translate(err))
	}
	runs := make(map[string]*Run, len(rms))
	for i := range rms {
		runs[rms[i].ID] = runOf(&rms[i])
	}
	ms, err := s.MeasurementListRuns(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("service drills: %w", err)
	}
	for _, h := range hits {
		d := ServiceDrill{Run: runs[h.RunID], RunMeasurements: ms[h.RunID]}
		for _, m := range d.RunMeasurements {
			if m.Service == h.Service {
				d.Measurement = m
			}
		}
		if d.Run == nil || d.Measurement == nil {
			// Runs that are over are never deleted nor lose a measurement.
			return nil, fmt.Errorf("service drills: run %s of %s vanished while read", h.RunID, h.Service)
		}
		out[h.Service] = append(out[h.Service], d)
	}
	return out, nil
}
