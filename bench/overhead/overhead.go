package overhead

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/pause"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Defaults for Options.
const (
	DefaultSteps       = 1000
	DefaultRepetitions = 5
	// Target is the bound on runner per-step cost / bare per-step cost.
	Target = 3.0
	// warmupSteps is the size of the unrecorded warm-up run of each kind: it fills the
	// connection pools and the prepared-statement caches before anything is timed.
	warmupSteps = 20
)

// Options configures Run. A zero field means its default.
type Options struct {
	// DatabaseURL is an empty PostgreSQL database (postgres://...) that Run migrates and
	// writes to. Required.
	DatabaseURL string
	// Steps is the number of steps of the plan, and of bare INSERT + COMMITs per repetition.
	// At least 2 (the disaster and the restored step). Defaults to 1000.
	Steps int
	// Repetitions is how many times each kind is measured; runner and bare repetitions
	// alternate so that machine noise hits both alike. Defaults to 5.
	Repetitions int
	// Progress, when set, is called after each measured repetition with how many are done
	// and the total (both kinds counted).
	Progress func(done, total int)
}

func (o Options) withDefaults() (Options, error) {
	if o.DatabaseURL == "" {
		return o, errors.New("overhead options: DatabaseURL is required")
	}
	if o.Steps < 0 || o.Repetitions < 0 {
		return o, errors.New("overhead options: Steps and Repetitions must not be negative")
	}
	if o.Steps == 0 {
		o.Steps = DefaultSteps
	}
	if o.Steps < 2 {
		return o, fmt.Errorf("overhead options: Steps must be at least 2 (disaster and restored), got %d", o.Steps)
	}
	if o.Repetitions == 0 {
		o.Repetitions = DefaultRepetitions
	}
	return o, nil
}

// Sample is one timed repetition.
type Sample struct {
	Wall time.Duration
	// CPU is the process's user + system CPU time during the repetition: the client side
	// (Go, gorm, pgx); PostgreSQL's own work is not in it.
	CPU time.Duration
}

// Stats summarises the repetitions of one kind.
type Stats struct {
	Samples []Sample
	// Median, Min and Max are of the wall time of a whole repetition.
	Median, Min, Max time.Duration
	// MedianCPU is the median client CPU time of a repetition.
	MedianCPU time.Duration
}

func newStats(samples []Sample) Stats {
	s := Stats{Samples: samples}
	if len(samples) == 0 {
		return s
	}
	walls := make([]time.Duration, len(samples))
	cpus := make([]time.Duration, len(samples))
	for i, sm := range samples {
		walls[i], cpus[i] = sm.Wall, sm.CPU
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	s.Median, s.Min, s.Max = median(walls), walls[0], walls[len(walls)-1]
	s.MedianCPU = median(cpus)
	return s
}

// median of sorted: the mean of the two middle values for an even count.
func median(sorted []time.Duration) time.Duration {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Report is the outcome of Run.
type Report struct {
	Options Options
	// Runner is ExecuteClaimed of a fresh run of the plan, from claim to recorded end.
	Runner Stats
	// Bare is Steps × (BEGIN; INSERT; COMMIT) on one pgx connection.
	Bare Stats
	// Replay is the runner's per-step SQL (StepStart and StepFinish: 2 transactions, 15
	// round trips) sent through pgx, without gorm, database/sql or the runner.
	Replay Stats
	// Pipelined is Replay with each transaction sent as one batch then COMMIT: 4 round trips
	// per step, still 2 commits.
	Pipelined Stats
	// Submit is the median time of SubmitClaimed (validate, save estate and plan, insert the
	// run), once per run and not part of Runner.
	Submit time.Duration
	// Postgres is the server's version string; SynchronousCommit its setting.
	Postgres, SynchronousCommit string
	Started                     time.Time
	Wall                        time.Duration
}

func (r *Report) perStep(d time.Duration) time.Duration {
	return d / time.Duration(r.Options.Steps)
}

// RunnerPerStep and BarePerStep are the median wall time of a repetition divided by Steps.
func (r *Report) RunnerPerStep() time.Duration { return r.perStep(r.Runner.Median) }

// BarePerStep is the median bare repetition divided by Steps.
func (r *Report) BarePerStep() time.Duration { return r.perStep(r.Bare.Median) }

// Ratio is RunnerPerStep / BarePerStep.
func (r *Report) Ratio() float64 {
	if r.Bare.Median == 0 {
		return 0
	}
	return float64(r.Runner.Median) / float64(r.Bare.Median)
}

// Markdown renders the report as a table with the conditions of the run.
func (r *Report) Markdown() string {
	var b strings.Builder
	us := func(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Microsecond)) }
	fmt.Fprintf(&b, "Orchestration overhead: %d-step plan of `wait` \"0s\" through orchestrator.Runner vs %d × (BEGIN; INSERT; COMMIT) through pgx, same database. %d repetitions of each, interleaved; per step in µs.\n\n",
		r.Options.Steps, r.Options.Steps, r.Options.Repetitions)
	fmt.Fprintf(&b, "| kind | steps | median per step | min per step | max per step | client CPU per step | median wall |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|\n")
	row := func(name string, s Stats) {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", name, r.Options.Steps,
			us(r.perStep(s.Median)), us(r.perStep(s.Min)), us(r.perStep(s.Max)), us(r.perStep(s.MedianCPU)),
			s.Median.Round(time.Millisecond))
	}
	row("runner (ExecuteClaimed)", r.Runner)
	row("bare INSERT + COMMIT", r.Bare)
	row("diagnostic: runner's SQL via pgx (15 round trips, 2 commits)", r.Replay)
	row("diagnostic: same SQL pipelined (4 round trips, 2 commits)", r.Pipelined)
	ratio := func(s Stats) float64 { return float64(s.Median) / float64(r.Bare.Median) }
	fmt.Fprintf(&b, "\nDiagnostic ratios to bare: runner's SQL via pgx %.2f, pipelined %.2f.\n", ratio(r.Replay), ratio(r.Pipelined))
	fmt.Fprintf(&b, "\nratio = runner per step / bare per step = **%.2f**. Target ≤ %.0f×: %s. SubmitClaimed (once per run, not counted): %s.\n",
		r.Ratio(), Target, met(r.Ratio() <= Target), r.Submit.Round(100*time.Microsecond))
	fmt.Fprintf(&b, "\n%s, %s/%s, NumCPU %d, GOMAXPROCS %d; %s; synchronous_commit=%s. Started %s, %s wall.\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0),
		r.Postgres, r.SynchronousCommit, r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Wall.Round(time.Second))
	return b.String()
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// Estate is the estate of the plan: two sites whose Nomad addresses nothing ever contacts
// (the runner has no pre-flight) and one service.
const Estate = `
site "primary" {
  role = "primary"
  nomad {
    address = "http://127.0.0.1:1"
    region  = "primary"
  }
}

site "dr" {
  role = "dr"
  nomad {
    address = "http://127.0.0.1:1"
    region  = "dr"
  }
}

service "svc" {
  criticality = "supporting"
  rto         = "1h"
  rpo         = "0s"
  nomad_job   = "svc"
}
`

// Plan returns the source of a plan of n `wait` steps of duration "0s": the first is the
// disaster milestone, the last the restored one.
func Plan(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan \"overhead-%d\" {\n  from     = \"primary\"\n  to       = \"dr\"\n  services = [\"svc\"]\n", n)
	for i := range n {
		fmt.Fprintf(&b, "\n  step \"s%04d\" {\n    action   = \"wait\"\n    duration = \"0s\"\n", i+1)
		switch i {
		case 0:
			b.WriteString("    milestone = \"disaster\"\n")
		case n - 1:
			b.WriteString("    milestone = \"restored\"\n")
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// Drill parses Estate and Plan(n).
func Drill(n int) (*orchestrator.Drill, error) {
	estateSrc := []byte(Estate)
	estate, diags := drills.ParseEstate(estateSrc, "overhead-estate.hcl")
	if diags.HasErrors() {
		return nil, fmt.Errorf("parse estate: %w", diags)
	}
	planSrc := []byte(Plan(n))
	plan, diags := drills.ParsePlan(planSrc, "overhead-plan.hcl")
	if diags.HasErrors() {
		return nil, fmt.Errorf("parse plan: %w", diags)
	}
	return &orchestrator.Drill{Estate: estate, EstateSource: estateSrc, Plan: plan, PlanSource: planSrc, RequestedBy: drills.Actor{Kind: drills.ActorSystem, Name: "bench"}}, nil
}

// bareTable is as wide as run_events: the same columns and unique key.
const bareTable = `CREATE TABLE IF NOT EXISTS bench_events (
    id       bigint         GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    run_id   text           NOT NULL,
    seq      integer        NOT NULL,
    at       timestamptz(3) NOT NULL,
    kind     text           NOT NULL,
    step_key text           NOT NULL DEFAULT '',
    message  text           NOT NULL DEFAULT '',
    data     jsonb,
    UNIQUE (run_id, seq)
)`

const bareInsert = `INSERT INTO bench_events (run_id, seq, at, kind, step_key, message, data) VALUES ($1, $2, $3, $4, $5, '', $6)`

// bench holds what the repetitions share.
type bench struct {
	opt    Options
	store  *store.Store
	runner *orchestrator.Runner
	conn   *pgx.Conn
	submit []time.Duration
}

// Run performs the measurement: a warm-up of each kind, then Repetitions of each, alternating
// which kind goes first.
func Run(ctx context.Context, opt Options) (*Report, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	started := time.Now()
	st, err := store.Open(ctx, store.Config{DatabaseURL: opt.DatabaseURL})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if st.Dialect() != store.DialectPostgres {
		return nil, fmt.Errorf("overhead: DatabaseURL must name a PostgreSQL database")
	}
	if _, err := st.MigrateUp(ctx); err != nil {
		return nil, err
	}
	reg, err := actions.NewRegistry(pause.Actions()...)
	if err != nil {
		return nil, err
	}
	runner, err := orchestrator.NewRunner(orchestrator.RunnerConfig{Store: st, Actions: reg, Owner: "bench-overhead"})
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, opt.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect baseline: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rep := &Report{Options: opt, Started: started}
	if err := conn.QueryRow(ctx, "SELECT version(), current_setting('synchronous_commit')").Scan(&rep.Postgres, &rep.SynchronousCommit); err != nil {
		return nil, fmt.Errorf("read server settings: %w", err)
	}
	if i := strings.Index(rep.Postgres, " on "); i > 0 {
		rep.Postgres = rep.Postgres[:i]
	}
	if _, err := conn.Exec(ctx, bareTable); err != nil {
		return nil, fmt.Errorf("create baseline table: %w", err)
	}
	bn := &bench{opt: opt, store: st, runner: runner, conn: conn}

	warm, err := Drill(warmupSteps)
	if err != nil {
		return nil, err
	}
	if _, err := bn.runOnce(ctx, warm); err != nil {
		return nil, fmt.Errorf("warm-up run: %w", err)
	}
	if _, err := bn.bareOnce(ctx, "warmup", warmupSteps); err != nil {
		return nil, fmt.Errorf("warm-up baseline: %w", err)
	}
	bn.submit = nil

	d, err := Drill(opt.Steps)
	if err != nil {
		return nil, err
	}
	type kind struct {
		name    string
		run     func(rep int) (Sample, error)
		samples []Sample
	}
	kinds := []*kind{
		{name: "runner", run: func(int) (Sample, error) { return bn.runOnce(ctx, d) }},
		{name: "bare", run: func(i int) (Sample, error) { return bn.bareOnce(ctx, fmt.Sprintf("rep-%d", i), opt.Steps) }},
		{name: "replay", run: func(int) (Sample, error) { return bn.replayOnce(ctx, d, replaySequential) }},
		{name: "pipelined", run: func(int) (Sample, error) { return bn.replayOnce(ctx, d, replayPipelined) }},
	}
	for _, k := range kinds[2:] {
		// Warm the replay statements too.
		if _, err := k.run(0); err != nil {
			return nil, fmt.Errorf("warm-up %s: %w", k.name, err)
		}
	}
	total, done := len(kinds)*opt.Repetitions, 0
	for i := range opt.Repetitions {
		// Each repetition starts with the next kind, so that none always follows the same one.
		for j := range kinds {
			k := kinds[(i+j)%len(kinds)]
			s, err := k.run(i + 1)
			if err != nil {
				return nil, fmt.Errorf("%s repetition %d: %w", k.name, i+1, err)
			}
			k.samples = append(k.samples, s)
			done++
			if opt.Progress != nil {
				opt.Progress(done, total)
			}
		}
	}
	rep.Runner, rep.Bare = newStats(kinds[0].samples), newStats(kinds[1].samples)
	rep.Replay, rep.Pipelined = newStats(kinds[2].samples), newStats(kinds[3].samples)
	slices.Sort(bn.submit)
	rep.Submit = median(bn.submit)
	rep.Wall = time.Since(started)
	return rep, nil
}

// runOnce submits a fresh run of d and times ExecuteClaimed; it checks that the run succeeded
// with one result per step.
func (bn *bench) runOnce(ctx context.Context, d *orchestrator.Drill) (Sample, error) {
	t := time.Now()
	run, err := bn.runner.SubmitClaimed(ctx, d)
	if err != nil {
		return Sample{}, err
	}
	bn.submit = append(bn.submit, time.Since(t))
	cpu0, t0 := cpuTime(), time.Now()
	out, err := bn.runner.ExecuteClaimed(ctx, run.ID, run.LeaseEpoch, d)
	s := Sample{Wall: time.Since(t0), CPU: cpuTime() - cpu0}
	if err != nil {
		return s, err
	}
	if out.State != drills.RunSucceeded {
		return s, fmt.Errorf("run %s ended %s: %s", run.ID, out.State, out.Reason)
	}
	results, err := bn.store.StepResultList(ctx, run.ID)
	if err != nil {
		return s, err
	}
	if want := len(d.Plan.Steps); len(results) != want {
		return s, fmt.Errorf("run %s recorded %d step results, want %d", run.ID, len(results), want)
	}
	return s, nil
}

// bareOnce is n × (BEGIN; INSERT a step_finished-like event; COMMIT) on one connection.
func (bn *bench) bareOnce(ctx context.Context, runID string, n int) (Sample, error) {
	cpu0, t0 := cpuTime(), time.Now()
	for i := range n {
		tx, err := bn.conn.Begin(ctx)
		if err != nil {
			return Sample{}, err
		}
		key := fmt.Sprintf("s%04d", i+1)
		data := fmt.Sprintf(`{"step_id":"0190f3b2-7c4e-7d6a-9b1e-%012d","attempt":1,"state":"succeeded","duration_ms":0}`, i)
		if _, err := tx.Exec(ctx, bareInsert, runID, i+1, time.Now().UTC(), "step_finished", key, data); err != nil {
			_ = tx.Rollback(ctx)
			return Sample{}, err
		}
		if err := tx.Commit(ctx); err != nil {
			return Sample{}, err
		}
	}
	return Sample{Wall: time.Since(t0), CPU: cpuTime() - cpu0}, nil
}

// replayOnce submits a fresh claimed run of d (not timed) and times one replay of each of its
// steps with fn.
func (bn *bench) replayOnce(ctx context.Context, d *orchestrator.Drill, fn func(context.Context, *pgx.Conn, string, int) error) (Sample, error) {
	run, err := bn.runner.SubmitClaimed(ctx, d)
	if err != nil {
		return Sample{}, err
	}
	n := len(d.Plan.Steps)
	cpu0, t0 := cpuTime(), time.Now()
	for i := range n {
		if err := fn(ctx, bn.conn, run.ID, i+1); err != nil {
			return Sample{}, err
		}
	}
	return Sample{Wall: time.Since(t0), CPU: cpuTime() - cpu0}, nil
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
