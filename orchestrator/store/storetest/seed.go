package storetest

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/orchestrator/store"
)

// Seed defaults. SeedNewest is a fixed instant so that two seedings of the same size write
// the same rows.
const (
	DefaultSeedStepsPerRun        = 20
	DefaultSeedMeasurementsPerRun = 3
	DefaultSeedEvery              = 10 * time.Minute
	DefaultSeedConns              = 2
	DefaultSeedChunkRuns          = 5000
)

// SeedEstateHCL is the estate of the seeded history: its sites, and the services each run
// measures with the objectives the seeded measurements record. Benchmarks that serve or
// report on the history load it.
//
//go:embed seedestate.hcl
var SeedEstateHCL []byte

// SeedNewest is the default creation time of the newest seeded run.
var SeedNewest = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// SeedParams size the history that Seed writes.
type SeedParams struct {
	// Runs is the number of runs; required. Run i (0 <= i < Runs) has the ID SeedRunID(i) and
	// is the (Runs-i)-th newest.
	Runs int
	// StepsPerRun is the step results of each run, one attempt each. Defaults to 20; at least 4
	// (a drain, the service starts, a wait for allocations, a health check).
	StepsPerRun int
	// MeasurementsPerRun is the services each run measured. Defaults to 3; at most
	// StepsPerRun-3 (one per started service).
	MeasurementsPerRun int
	// Newest is the creation time of the newest run; the runs are Every apart before it.
	// Defaults to SeedNewest.
	Newest time.Time
	// Every defaults to 10 minutes.
	Every time.Duration
	// Conns is how many connections insert at once. Defaults to 2.
	Conns int
	// ChunkRuns is how many runs' rows one statement inserts. Defaults to 5000.
	ChunkRuns int
}

// SeedStats says what Seed wrote and how long it took.
type SeedStats struct {
	Runs, Steps, Measurements, Approvals, Events int64
	// Took is the wall time of the inserts; Analyze that of the VACUUM (ANALYZE) and CHECKPOINT after them.
	Took, Analyze time.Duration
}

// SeedRunID is the ID of the i-th seeded run (0 is the oldest). IDs have the shape of the
// store's UUIDv7 IDs and sort like the runs' creation times.
func SeedRunID(i int) string {
	return fmt.Sprintf("019a0000-0000-7000-8000-%012x", i)
}

// Seed bulk-writes a finished history into the migrated, empty PostgreSQL database at
// databaseURL: p.Runs terminal runs of four plans (90% succeeded, 7% failed, 3% aborted; every
// fourth fired by a schedule and approved by two people, the others asked for by users), each
// with its step results (JSON evidence), its measurements, its approvals and its whole
// timeline (SeedRunEvents), numbered as the store numbers them. It writes with
// INSERT ... SELECT generate_series, a few seconds per million rows, then VACUUM (ANALYZE)s
// the tables as autovacuum would after such a load. The rows use the columns the migrations
// create, so the store reads them like its own. Runs end long before Newest and none holds a
// lease, so a worker pointed at the database finds nothing to do.
//
// Seed is for tests and benchmarks only; it needs no *testing.T so that a benchmark's main
// can call it.
func Seed(ctx context.Context, databaseURL string, p *SeedParams) (*SeedStats, error) {
	q, err := seedDefaults(p)
	if err != nil {
		return nil, err
	}
	conns := make([]*pgx.Conn, q.Conns)
	for i := range conns {
		c, err := pgx.Connect(ctx, databaseURL)
		if err != nil {
			return nil, fmt.Errorf("seed: connect to %s: %w", store.RedactURL(databaseURL), err)
		}
		defer c.Close(context.WithoutCancel(ctx))
		// The rows reference each other by construction; skipping the foreign-key triggers
		// (as pg_restore --disable-triggers does) saves about a third of the time. It needs a
		// superuser: without one the checks run and seeding is slower, nothing else changes.
		_, _ = c.Exec(ctx, "SET session_replication_role = replica")
		conns[i] = c
	}
	start := time.Now()
	args := pgx.NamedArgs{
		"steps":  q.StepsPerRun,
		"meas":   q.MeasurementsPerRun,
		"oldest": q.Newest.Add(-time.Duration(q.Runs-1) * q.Every).UTC(),
		"every":  q.Every.Milliseconds(),
		"source": seedPlanSource,
	}
	if _, err := conns[0].Exec(ctx, seedPlansSQL, args); err != nil {
		return nil, fmt.Errorf("seed: insert plans: %w", err)
	}
	type chunk struct {
		what, sql string
		lo, hi    int
	}
	var runChunks, childChunks []chunk
	for lo := 0; lo < q.Runs; lo += q.ChunkRuns {
		hi := min(lo+q.ChunkRuns, q.Runs) - 1
		runChunks = append(runChunks, chunk{"runs", seedRunsSQL, lo, hi})
		childChunks = append(childChunks,
			chunk{"step results", seedStepsSQL, lo, hi},
			chunk{"measurements", seedMeasurementsSQL, lo, hi},
			chunk{"approvals", seedApprovalsSQL, lo, hi},
			chunk{"run events", seedEventsSQL, lo, hi})
	}
	// Runs first, all committed, since the other tables reference them.
	for _, chunks := range [][]chunk{runChunks, childChunks} {
		work := make(chan chunk)
		errc := make(chan error, len(conns))
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ch := range work {
					a := pgx.NamedArgs{"lo": ch.lo, "hi": ch.hi}
					for k, v := range args {
						a[k] = v
					}
					if _, err := c.Exec(ctx, ch.sql, a); err != nil {
						errc <- fmt.Errorf("seed: insert %s of runs %d-%d: %w", ch.what, ch.lo, ch.hi, err)
						return
					}
				}
			}()
		}
		var err error
	feed:
		for _, ch := range chunks {
			select {
			case work <- ch:
			case err = <-errc:
				break feed
			}
		}
		close(work)
		wg.Wait()
		if err == nil && len(errc) > 0 {
			err = <-errc
		}
		if err != nil {
			return nil, err
		}
	}
	approved := int64(q.Runs+3) / 4 // runs 0, 4, 8, ...
	st := &SeedStats{
		Runs:         int64(q.Runs),
		Steps:        int64(q.Runs) * int64(q.StepsPerRun),
		Measurements: int64(q.Runs) * int64(q.MeasurementsPerRun),
		Approvals:    2 * approved,
		Events:       int64(q.Runs)*int64(SeedRunEvents(1, q.StepsPerRun)) + 3*approved,
		Took:         time.Since(start),
	}
	start = time.Now()
	if _, err := conns[0].Exec(ctx, "VACUUM (ANALYZE) plans, runs, step_results, measurements, approvals, run_events"); err != nil {
		return nil, fmt.Errorf("seed: vacuum analyze: %w", err)
	}
	// Write the seeded pages out now: the checkpoint the bulk load makes due would otherwise
	// land in the middle of a measurement and stall it (superuser or pg_checkpoint only).
	if _, err := conns[0].Exec(ctx, "CHECKPOINT"); err != nil {
		return nil, fmt.Errorf("seed: checkpoint: %w", err)
	}
	st.Analyze = time.Since(start)
	return st, nil
}

func seedDefaults(p *SeedParams) (SeedParams, error) {
	if p == nil || p.Runs <= 0 {
		return SeedParams{}, errors.New("seed: Runs must be positive")
	}
	q := *p
	if q.StepsPerRun == 0 {
		q.StepsPerRun = DefaultSeedStepsPerRun
	}
	if q.MeasurementsPerRun == 0 {
		q.MeasurementsPerRun = DefaultSeedMeasurementsPerRun
	}
	if q.Newest.IsZero() {
		q.Newest = SeedNewest
	}
	if q.Every == 0 {
		q.Every = DefaultSeedEvery
	}
	if q.Conns == 0 {
		q.Conns = DefaultSeedConns
	}
	if q.ChunkRuns == 0 {
		q.ChunkRuns = DefaultSeedChunkRuns
	}
	switch {
	case q.StepsPerRun < 4:
		return q, fmt.Errorf("seed: StepsPerRun must be at least 4, got %d", q.StepsPerRun)
	case q.MeasurementsPerRun < 0 || q.MeasurementsPerRun > q.StepsPerRun-3:
		return q, fmt.Errorf("seed: MeasurementsPerRun must be in [0, StepsPerRun-3], got %d", q.MeasurementsPerRun)
	case q.Every < time.Second:
		// A run lasts well under a second; Every apart they never overlap.
		return q, fmt.Errorf("seed: Every must be at least 1s, got %s", q.Every)
	case q.Conns < 1 || q.ChunkRuns < 1:
		return q, errors.New("seed: Conns and ChunkRuns must be positive")
	}
	return q, nil
}

// SeedRunEvents is the length of the timeline of seeded run i: run_created, (for a run that
// needed approval: two approvals and approved,) preflight, run_state, the disaster milestone,
// a start and a finish per step, the restored milestone, run_finished.
func SeedRunEvents(i, stepsPerRun int) int {
	if stepsPerRun == 0 {
		stepsPerRun = DefaultSeedStepsPerRun
	}
	if i%4 == 0 {
		return 2*stepsPerRun + 9
	}
	return 2*stepsPerRun + 6
}

const seedPlanSource = `plan "site-loss" {
  from = "sangam"
  to   = "yatap"
}
`

// The seeded rows (a run's number is i, 0 the oldest):
//   - run i of plan site-loss-(i%4), created at oldest + i*every, from sangam to yatap (odd i:
//     the reverse); by i%100: <90 succeeded, <97 failed (its last step failed), else aborted (its
//     last step aborted, the abort asked for by bob); when i%4 = 0 fired by the schedule
//     monthly-site-loss-0 and approved by bob (sre) and carol (compliance), else asked for by
//     alice, dave or erin through the CLI or the API;
//   - step s (1..steps) starts at created + 10ms + (s-1)*15ms and lasts 12ms: 1 drains the
//     source site, 2..steps-2 start the services svc-02.., steps-1 waits for the allocations,
//     steps checks health; the first meas started services are measured, restored 297 ms (for
//     20 steps) after T0, the run's RTO;
//   - the timeline as SeedRunEvents lists it.
//
// Whatever depends only on the step (or event) number and the kind of run is computed once
// per statement in a template (CTEs t and ev) and joined to the runs (CTE r), so a statement
// costs little more than its inserts.
const (
	seedPlansSQL = `
INSERT INTO plans (id, name, file, sha256, source, created_at)
SELECT format('019a0000-0000-7000-b000-%s', lpad(to_hex(p), 12, '0')),
       'site-loss-' || p, 'plans/site-loss-' || p || '.hcl',
       md5('plan' || p) || md5('plan source' || p), @source, @oldest::timestamptz
FROM generate_series(0, 3) AS p`

	seedRunsCTE = `
r AS MATERIALIZED (
  SELECT i, i % 2 AS parity, i % 4 = 0 AS appr,
         format('019a0000-0000-7000-8000-%s', lpad(to_hex(i), 12, '0')) AS run_id,
         @oldest::timestamptz + make_interval(secs => i * @every::bigint / 1000.0) AS c,
         CASE WHEN i % 100 < 90 THEN 'succeeded' WHEN i % 100 < 97 THEN 'failed' ELSE 'aborted' END AS run_state,
         CASE WHEN i % 4 = 0 THEN 'schedule' ELSE 'user' END AS req_kind,
         CASE WHEN i % 4 = 0 THEN 'monthly-site-loss-0' ELSE (ARRAY['alice', 'dave', 'erin'])[1 + i % 3] END AS req_name,
         CASE WHEN i % 4 = 0 THEN '' WHEN i % 2 = 0 THEN 'api' ELSE 'cli' END AS req_via,
         CASE WHEN i % 4 = 0 THEN '' ELSE format('019a0000-0000-7000-c000-%s', lpad(to_hex(i % 3), 12, '0')) END AS req_token
  FROM generate_series(@lo::int, @hi::int) AS i)`

	seedStepsCTE = `
t AS MATERIALIZED (
  SELECT *,
         CASE WHEN s = 1 THEN 'lose-' || site_from WHEN s = @steps::int - 1 THEN 'wait-allocations'
              WHEN s = @steps::int THEN 'verify' ELSE 'start-on-' || site_to END AS name,
         CASE WHEN svc = '' THEN '' ELSE '[' || svc || ']' END AS key_suffix,
         CASE WHEN s = 1 THEN site_from ELSE site_to END AS site,
         CASE action WHEN 'nomad.run_job' THEN 120000 WHEN 'http.wait_healthy' THEN 600000 ELSE 300000 END AS timeout_ms,
         make_interval(secs => (10 + 15 * (s - 1)) / 1000.0) AS started_off,
         CASE action
           WHEN 'nomad.drain_site' THEN jsonb_build_object(
             'mode', 'drain', 'site', site_from, 'datacenter', site_from || '-1', 'drained', 3,
             'took_ms', 2, 'deadline', '0s', 'empty_after_ms', 1, 'ignore_system_jobs', false,
             'running_allocations_before', 3,
             'nodes', jsonb_build_array(
               jsonb_build_object('id', md5(site_from || 'n1')::uuid, 'name', site_from || '-client-1', 'status', 'ready', 'datacenter', site_from || '-1'),
               jsonb_build_object('id', md5(site_from || 'n2')::uuid, 'name', site_from || '-client-2', 'status', 'ready', 'datacenter', site_from || '-1'),
               jsonb_build_object('id', md5(site_from || 'n3')::uuid, 'name', site_from || '-client-3', 'status', 'ready', 'datacenter', site_from || '-1')))
           WHEN 'nomad.run_job' THEN jsonb_build_object(
             'job', svc, 'site', site_to, 'source', 'pilot-light', 'eval_id', md5(site_to || svc)::uuid,
             'took_ms', 1, 'group_counts', jsonb_build_object('app', 1), 'job_modify_index', s,
             'previous_version', 0)
           WHEN 'nomad.wait_healthy' THEN jsonb_build_object(
             'site', site_to, 'jobs', @steps::int - 3, 'healthy_allocations', @steps::int - 3, 'took_ms', 11)
           ELSE jsonb_build_object(
             'url', 'http://' || site_to || '.example.internal/healthz', 'status', 200,
             'probes', 3, 'took_ms', 11, 'interval_ms', 50)
         END AS evidence
  FROM (SELECT parity, s,
               CASE parity WHEN 0 THEN 'sangam' ELSE 'yatap' END AS site_from,
               CASE parity WHEN 0 THEN 'yatap' ELSE 'sangam' END AS site_to,
               CASE WHEN s = 1 THEN 'nomad.drain_site' WHEN s = @steps::int - 1 THEN 'nomad.wait_healthy'
                    WHEN s = @steps::int THEN 'http.wait_healthy' ELSE 'nomad.run_job' END AS action,
               CASE WHEN s > 1 AND s < @steps::int - 1 THEN 'svc-' || lpad(s::text, 2, '0') ELSE '' END AS svc
        FROM generate_series(0, 1) AS parity, generate_series(1, @steps::int) AS s) AS x)`

	// seedStepStateSQL is the outcome of step t.s of run r: only the last step of a failed or
	// aborted run did not succeed.
	seedStepStateSQL = `CASE WHEN t.s < @steps::int OR r.run_state = 'succeeded' THEN 'succeeded' ELSE r.run_state END`
	seedStepErrorSQL = `CASE WHEN t.s < @steps::int OR r.run_state = 'succeeded' THEN ''
                         WHEN r.run_state = 'failed' THEN 'service svc-02 not healthy after 10m0s'
                         ELSE 'aborted: change window closed' END`
	seedStepIDSQL = `format('019a0000-0000-7000-9000-%s', lpad(to_hex(r.i::bigint * @steps::int + t.s), 12, '0'))`

	// The approvers of the runs that needed approval, as actors.
	seedBobToken   = `'019a0000-0000-7000-c000-00000000000b'`
	seedCarolToken = `'019a0000-0000-7000-c000-00000000000c'`

	seedRunsSQL = `
WITH ` + seedRunsCTE + `
INSERT INTO runs (id, plan_id, plan_name, plan_sha256, estate_sha256, from_site, to_site, state,
                  state_reason, created_at, started_at, ended_at, t0, t1, rto_actual_ms,
                  objectives_met, lease_owner, lease_epoch, lease_expires_at, lease_duration_ms,
                  updated_at, schedule_name, fire_time, approval_policy, approval_deadline,
                  abort_requested_at, abort_reason, event_seq,
                  requested_kind, requested_name, requested_via, requested_token_id, forced,
                  abort_by_kind, abort_by_name, abort_by_via, abort_by_token_id, abort_stop_condition)
SELECT run_id,
       format('019a0000-0000-7000-b000-%s', lpad(to_hex(i % 4), 12, '0')),
       'site-loss-' || (i % 4),
       md5('plan' || (i % 4)) || md5('plan source' || (i % 4)),
       md5('estate' || (i / 1000)) || md5('estate source' || (i / 1000)),
       CASE parity WHEN 0 THEN 'sangam' ELSE 'yatap' END,
       CASE parity WHEN 0 THEN 'yatap' ELSE 'sangam' END,
       run_state,
       CASE run_state WHEN 'failed' THEN 'step verify failed: service svc-02 not healthy after 10m0s'
                      WHEN 'aborted' THEN 'aborted by bob: change window closed' ELSE '' END,
       c, c + interval '7 ms', ended, c + interval '9 ms',
       CASE WHEN run_state = 'succeeded' THEN ended - interval '1 ms' END,
       CASE WHEN run_state = 'succeeded' THEN 15 * @steps::int - 3 END,
       run_state = 'succeeded',
       '', 1, NULL, 30000, ended,
       CASE WHEN appr THEN 'monthly-site-loss-0' END,
       CASE WHEN appr THEN c END,
       CASE WHEN appr THEN '{"roles": ["compliance", "sre"]}'::jsonb END,
       CASE WHEN appr THEN c + interval '1 hour' END,
       CASE WHEN run_state = 'aborted' THEN ended - interval '20 ms' END,
       CASE WHEN run_state = 'aborted' THEN 'change window closed' ELSE '' END,
       CASE WHEN appr THEN 2 * @steps::int + 9 ELSE 2 * @steps::int + 6 END,
       req_kind, req_name, req_via, req_token, false,
       CASE WHEN run_state = 'aborted' THEN 'user' ELSE '' END,
       CASE WHEN run_state = 'aborted' THEN 'bob' ELSE '' END,
       CASE WHEN run_state = 'aborted' THEN 'cli' ELSE '' END,
       CASE WHEN run_state = 'aborted' THEN ` + seedBobToken + ` ELSE '' END,
       ''
FROM (SELECT *, c + make_interval(secs => (10 + 15 * @steps::int + 1) / 1000.0) AS ended FROM r) AS r`

	seedStepsSQL = `
WITH ` + seedRunsCTE + `, ` + seedStepsCTE + `
INSERT INTO step_results (id, run_id, seq, step_key, step_name, action, site, service, attempt,
                          state, idempotent, timeout_ms, started_at, ended_at, duration_ms, error,
                          evidence)
SELECT ` + seedStepIDSQL + `, r.run_id, t.s, t.name || t.key_suffix, t.name, t.action, t.site, t.svc,
       1, ` + seedStepStateSQL + `, true, t.timeout_ms,
       r.c + t.started_off, r.c + t.started_off + interval '12 ms', 12,
       ` + seedStepErrorSQL + `, t.evidence
FROM r JOIN t USING (parity)`

	seedMeasurementsSQL = `
WITH ` + seedRunsCTE + `
INSERT INTO measurements (id, run_id, service, criticality, rto_objective_ms, rto_actual_ms,
                          restored, restored_at, rto_met, rpo_objective_ms, rpo_actual_ms,
                          rpo_lost_rows, rpo_met, resolution_ms, reason, evidence)
SELECT format('019a0000-0000-7000-a000-%s', lpad(to_hex(i::bigint * @meas::int + m), 12, '0')),
       run_id,
       'svc-' || lpad((m + 1)::text, 2, '0'),
       CASE WHEN m = 1 THEN 'core' ELSE 'important' END,
       CASE WHEN m = 1 THEN 1800000 ELSE 3600000 END,
       CASE WHEN ok THEN 15 * @steps::int - 3 END,
       ok, CASE WHEN ok THEN c + make_interval(secs => (10 + 15 * @steps::int - 4) / 1000.0) END, ok,
       CASE WHEN m = 1 THEN 0 ELSE 300000 END,
       CASE WHEN m > 1 AND ok THEN 1200 END, CASE WHEN m > 1 AND ok THEN 0 END,
       CASE WHEN m > 1 THEN ok END,
       50,
       CASE WHEN ok THEN '' ELSE 'not restored: the run ended first' END,
       CASE WHEN m > 1 THEN jsonb_build_object('canary_table', 'canary', 'last_row_at', c, 'replica_lag_ms', 1200) END
FROM (SELECT *, run_state = 'succeeded' AS ok FROM r) AS r, generate_series(1, @meas::int) AS m`

	seedApprovalsSQL = `
WITH ` + seedRunsCTE + `
INSERT INTO approvals (id, run_id, approver_kind, approver_name, approver_via, approver_token_id,
                       roles, decision, comment, decided_at)
SELECT format('019a0000-0000-7000-d000-%s', lpad(to_hex(i::bigint * 2 + k), 12, '0')), run_id,
       'user', CASE k WHEN 0 THEN 'bob' ELSE 'carol' END, CASE k WHEN 0 THEN 'api' ELSE 'web' END,
       CASE k WHEN 0 THEN ` + seedBobToken + ` ELSE ` + seedCarolToken + ` END,
       CASE k WHEN 0 THEN '["sre"]'::jsonb ELSE '["compliance"]'::jsonb END,
       'approve', CASE k WHEN 0 THEN 'change CHG-' || i ELSE '' END,
       c + make_interval(secs => (1 + k) / 1000.0)
FROM r, generate_series(0, 1) AS k
WHERE appr`
)

// seedEventsSQL writes the timelines. In the template ev, e is an event's number and b the
// number it has in a run without approvals (0 for the approval events of a run that had
// them); events b = 5..2*steps+4 belong to step s = (b-5)/2+1, started for odd b and finished
// for even b.
var seedEventsSQL = `
WITH ` + seedRunsCTE + `, ` + seedStepsCTE + `,
ev AS MATERIALIZED (
  SELECT e.parity, e.appr, e.e, e.b, t.s, t.name || t.key_suffix AS key, t.action,
         e.b BETWEEN 5 AND 2 * @steps::int + 4 AND (e.b - 5) % 2 = 0 AS starts,
         e.b BETWEEN 5 AND 2 * @steps::int + 4 AND (e.b - 5) % 2 = 1 AS finishes,
         CASE WHEN e.b = 0 THEN make_interval(secs => (e.e - 1) / 1000.0)
              WHEN e.b <= 4 THEN make_interval(secs => (CASE WHEN e.b = 1 THEN 0 ELSE e.b * 2 END) / 1000.0)
              WHEN e.b <= 2 * @steps::int + 4 THEN t.started_off + CASE WHEN (e.b - 5) % 2 = 0 THEN interval '0' ELSE interval '12 ms' END
              ELSE make_interval(secs => (10 + 15 * @steps::int + e.b - 2 * @steps::int - 5) / 1000.0) END AS at_off,
         CASE WHEN e.b = 0 AND e.e < 4 THEN 'approval' WHEN e.b = 0 THEN 'approved'
              WHEN e.b = 1 THEN 'run_created' WHEN e.b = 2 THEN 'preflight' WHEN e.b = 3 THEN 'run_state'
              WHEN e.b = 4 OR e.b = 2 * @steps::int + 5 THEN 'milestone' WHEN e.b = 2 * @steps::int + 6 THEN 'run_finished'
              WHEN (e.b - 5) % 2 = 0 THEN 'step_started' ELSE 'step_finished' END AS kind,
         CASE WHEN e.b = 0 AND e.e = 2 THEN 'change CHG-' WHEN e.b = 0 AND e.e = 4 THEN 'approval policy met'
              WHEN e.b = 2 THEN '4 checks passed' WHEN e.b = 4 THEN 'disaster' WHEN e.b = 2 * @steps::int + 5 THEN 'restored'
              WHEN e.b BETWEEN 5 AND 2 * @steps::int + 4 AND (e.b - 5) % 2 = 0 THEN t.action ELSE '' END AS message,
         CASE WHEN e.b = 0 AND e.e = 2 THEN jsonb_build_object('decision', 'approve', 'roles', jsonb_build_array('sre'),
                   'by', jsonb_build_object('kind', 'user', 'name', 'bob', 'via', 'api', 'token_id', ` + seedBobToken + `))
              WHEN e.b = 0 AND e.e = 3 THEN jsonb_build_object('decision', 'approve', 'roles', jsonb_build_array('compliance'),
                   'by', jsonb_build_object('kind', 'user', 'name', 'carol', 'via', 'web', 'token_id', ` + seedCarolToken + `))
              WHEN e.b = 0 THEN jsonb_build_object('approvers', jsonb_build_array('bob', 'carol'))
              WHEN e.b = 2 THEN jsonb_build_object('passed', true, 'checks', jsonb_build_array(
                   jsonb_build_object('ok', true, 'site', '', 'check', 'freeze', 'detail', 'no freeze', 'subject', ''),
                   jsonb_build_object('ok', true, 'site', t.site_from, 'check', 'reachable', 'detail', 'leader 10.0.0.1:4647', 'subject', ''),
                   jsonb_build_object('ok', true, 'site', t.site_to, 'check', 'reachable', 'detail', 'leader 10.0.1.1:4647', 'subject', ''),
                   jsonb_build_object('ok', true, 'site', t.site_to, 'check', 'capacity', 'detail', '3 of 3 nodes ready and eligible in ' || t.site_to || '-1', 'subject', '')))
              WHEN e.b = 3 THEN jsonb_build_object('from', 'pending', 'to', 'running')
              WHEN e.b = 4 THEN jsonb_build_object('milestone', 'disaster')
              WHEN e.b = 2 * @steps::int + 5 THEN jsonb_build_object('milestone', 'restored')
              WHEN e.b BETWEEN 5 AND 2 * @steps::int + 4 AND (e.b - 5) % 2 = 0 THEN jsonb_build_object(
                   'seq', t.s, 'attempt', 1, 'action', t.action, 'site', t.site, 'service', t.svc,
                   'idempotent', true, 'timeout_ms', t.timeout_ms)
              WHEN e.b BETWEEN 5 AND 2 * @steps::int + 4 THEN jsonb_build_object('attempt', 1, 'duration_ms', 12)
         END AS data
  FROM (SELECT parity, appr, e, b, GREATEST((b - 5) / 2 + 1, 1) AS s
        FROM (SELECT parity, appr, e,
                     CASE WHEN NOT appr OR e = 1 THEN e WHEN e <= 4 THEN 0 ELSE e - 3 END AS b
              FROM generate_series(0, 1) AS parity, (VALUES (false), (true)) AS a (appr),
                   generate_series(1, 2 * @steps::int + 9) AS e) AS x
        WHERE e <= 2 * @steps::int + 6 + CASE WHEN appr THEN 3 ELSE 0 END) AS e
  JOIN t ON t.parity = e.parity AND t.s = LEAST(e.s, @steps::int))
INSERT INTO run_events (run_id, seq, at, kind, step_key, message, data)
SELECT r.run_id, ev.e, r.c + ev.at_off, ev.kind,
       CASE WHEN ev.starts OR ev.finishes THEN ev.key ELSE '' END,
       CASE WHEN ev.finishes THEN ` + strings.ReplaceAll(seedStepErrorSQL, "t.s", "ev.s") + `
            WHEN ev.b = 0 AND ev.e = 2 THEN ev.message || r.i ELSE ev.message END,
       CASE WHEN ev.b = 1 THEN jsonb_build_object(
                 'state', CASE WHEN r.appr THEN 'awaiting_approval' ELSE 'pending' END,
                 'plan_id', format('019a0000-0000-7000-b000-%s', lpad(to_hex(r.i % 4), 12, '0')),
                 'plan_name', 'site-loss-' || (r.i % 4),
                 'from_site', CASE r.parity WHEN 0 THEN 'sangam' ELSE 'yatap' END,
                 'to_site', CASE r.parity WHEN 0 THEN 'yatap' ELSE 'sangam' END,
                 'requested_by', jsonb_strip_nulls(jsonb_build_object('kind', r.req_kind, 'name', r.req_name,
                                 'via', NULLIF(r.req_via, ''), 'token_id', NULLIF(r.req_token, ''))))
                 || CASE WHEN r.appr THEN jsonb_build_object('schedule_name', 'monthly-site-loss-0', 'fire_time', r.c,
                                                             'approval_roles', jsonb_build_array('compliance', 'sre'))
                         ELSE '{}'::jsonb END
            WHEN ev.b = 2 * @steps::int + 6 THEN jsonb_build_object('state', r.run_state, 'measurements', @meas::int,
                                                             'objectives_met', r.run_state = 'succeeded')
            WHEN ev.starts THEN ev.data || jsonb_build_object('step_id', ` + strings.ReplaceAll(seedStepIDSQL, "t.s", "ev.s") + `)
            WHEN ev.finishes THEN ev.data || jsonb_build_object('step_id', ` + strings.ReplaceAll(seedStepIDSQL, "t.s", "ev.s") + `,
                                                                'state', ` + strings.ReplaceAll(seedStepStateSQL, "t.s", "ev.s") + `)
            ELSE ev.data END
FROM r JOIN ev ON ev.parity = r.parity AND ev.appr = r.appr`

// CreateDatabase creates an empty, unmigrated PostgreSQL database called name through the
// admin DSN (AdminDSN() when empty) and returns its URL and a function that drops it. It is
// NewDatabase for programs without a *testing.T, such as a benchmark's main.
func CreateDatabase(ctx context.Context, admin, name string) (string, func(context.Context) error, error) {
	if admin == "" {
		admin = AdminDSN()
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("PostgreSQL is unreachable at %s (set %s): %w", store.RedactURL(admin), EnvDatabaseURL, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return fmt.Errorf("drop database %s: connect: %w", name, err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, errors.Join(fmt.Errorf("parse %s: %w", store.RedactURL(admin), err), drop(ctx))
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// DatabaseName returns a fresh database name firedrill_test_<what>_<random>, as NewDatabase
// names its databases.
func DatabaseName(what string) string { return databaseName(strings.ToLower(what)) }

// ServerVersion is the server_version the PostgreSQL at databaseURL reports, for benchmark
// reports.
func ServerVersion(ctx context.Context, databaseURL string) (string, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.PgConn().ParameterStatus("server_version"), nil
}
