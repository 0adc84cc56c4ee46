package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/sitesim"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/httpaction"
	"github.com/firedrill/firedrill/orchestrator/actions/nomad"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Defaults for Options.
const (
	DefaultReplicas = 3
	DefaultSolo     = 5
	DefaultTogether = 50
	// Target is the bound: together / alone, for both figures.
	Target = 1.5
	// drillTimeout bounds one phase.
	drillTimeout = 5 * time.Minute
)

// Options configures Run. A zero field means its default.
type Options struct {
	// DatabaseURL is an empty PostgreSQL database that Run migrates. Required.
	DatabaseURL string
	// Replicas is how many replicas execute the drills [3].
	Replicas int
	// Solo is how many drills run one at a time, first [5]; Together how many then run at
	// once [50].
	Solo, Together int
	// Progress, optional, is told what the run is doing.
	Progress func(msg string)
}

// Sample is what one drill measured.
type Sample struct {
	// Overhead is (EndedAt − StartedAt − time inside the run's actions) / steps.
	Overhead time.Duration
	// Lag is the restored milestone (T1) − the instant the DR service became healthy.
	Lag time.Duration
	// Replica is the owner that executed the run.
	Replica string
}

// Phase summarises the drills of one phase.
type Phase struct {
	Name                     string
	Drills                   int
	OverheadP50, OverheadP95 time.Duration
	LagP50, LagP95           time.Duration
	Wall                     time.Duration
	ByReplica                map[string]int
	// CPUPerStep is this process's CPU time (replicas and sitesim; not PostgreSQL's) per step.
	CPUPerStep time.Duration
	// Waits is what the database's active backends were doing, sampled every few ms during the
	// phase: "wait_event_type:wait_event" (or "CPU:running") and its share of the samples.
	Waits   []Wait
	samples []Sample
	cpu     time.Duration
	waits   map[string]int
	// locks counts, per sample, the backends queued on a row, by table.
	locks map[string]int
	Locks []Wait
}

// Wait is one kind of backend activity and its share of the samples.
type Wait struct {
	What  string
	Share float64
}

// Report is the outcome of Run.
type Report struct {
	Options         Options
	Alone, Together Phase
	Steps           int
	Started         time.Time
}

// OverheadRatio and LagRatio are together / alone, of the medians.
func (r *Report) OverheadRatio() float64 { return ratio(r.Together.OverheadP50, r.Alone.OverheadP50) }

// LagRatio is the together / alone ratio of the median detection lags.
func (r *Report) LagRatio() float64 { return ratio(r.Together.LagP50, r.Alone.LagP50) }

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Markdown renders the report as a table.
func (r *Report) Markdown() string {
	var b strings.Builder
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(&b, "%d replicas, one PostgreSQL, simulated sites; %d-step drills (nomad.stop_job, nomad.run_job, http.wait_healthy). Per step and lag in ms.\n\n",
		r.Options.Replicas, r.Steps)
	b.WriteString("| phase | drills | overhead/step p50 | p95 | detection lag p50 | p95 | wall | runs per replica |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, p := range []Phase{r.Alone, r.Together} {
		var reps []string
		for _, k := range slices.Sorted(mapsKeys(p.ByReplica)) {
			reps = append(reps, fmt.Sprintf("%s %d", k, p.ByReplica[k]))
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", p.Name, p.Drills, ms(p.OverheadP50), ms(p.OverheadP95),
			ms(p.LagP50), ms(p.LagP95), p.Wall.Round(time.Millisecond), strings.Join(reps, ", "))
	}
	for _, p := range []Phase{r.Alone, r.Together} {
		var ws []string
		for _, w := range p.Waits {
			ws = append(ws, fmt.Sprintf("%s %.0f%%", w.What, 100*w.Share))
		}
		var ls []string
		for _, w := range p.Locks {
			ls = append(ls, fmt.Sprintf("%s %.0f%%", w.What, 100*w.Share))
		}
		if len(ls) == 0 {
			ls = []string{"none seen"}
		}
		fmt.Fprintf(&b, "\n%s: client CPU per step %s ms; PostgreSQL's active backends: %s; queued row locks: %s.\n",
			p.Name, ms(p.CPUPerStep), strings.Join(ws, ", "), strings.Join(ls, ", "))
	}
	fmt.Fprintf(&b, "\nRatios together / alone (medians): overhead **%.2f**, detection lag **%.2f**. Target ≤ %.1f×: overhead %s, lag %s.\n",
		r.OverheadRatio(), r.LagRatio(), Target, met(r.OverheadRatio() <= Target), met(r.LagRatio() <= Target))
	fmt.Fprintf(&b, "\n%s, %s/%s, NumCPU %d. Started %s.\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		r.Started.UTC().Format("2006-01-02 15:04 MST"))
	return b.String()
}

func mapsKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// timed wraps an action and adds the time spent inside it to its run's total.
type timed struct {
	actions.Action
	owner string
	spent *actionTime
}

func (t timed) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	t0 := time.Now()
	res, err := t.Action.Run(ctx, req)
	t.spent.add(req.RunID, t.owner, time.Since(t0))
	return res, err
}

// actionTime is the time spent inside actions, by run.
type actionTime struct {
	mu    sync.Mutex
	byRun map[string]time.Duration
	owner map[string]string
}

func (a *actionTime) add(runID, owner string, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.byRun[runID] += d
	a.owner[runID] = owner
}

// of is the time spent inside run runID's actions and the replica that ran the last of them.
func (a *actionTime) of(runID string) (time.Duration, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.byRun[runID], a.owner[runID]
}

// replica is one replica's engine: as a serve process has, its own pool, clients and worker.
type replica struct {
	store   *store.Store
	clients *nomad.Clients
	runner  *orchestrator.Runner
	worker  *orchestrator.Worker
}

const (
	primarySite = "sangam"
	drSite      = "yatap"
)

func estateSource(sim *sitesim.Sim, jobs []string) []byte {
	var b strings.Builder
	for _, s := range []struct{ name, role string }{{primarySite, "primary"}, {drSite, "dr"}} {
		site := sim.Site(s.name)
		fmt.Fprintf(&b, "site %q {\n  role    = %q\n  ingress = %q\n  nomad {\n    address    = %q\n    region     = \"kr-%s\"\n    datacenter = \"%s-1\"\n  }\n}\n",
			s.name, s.role, site.IngressAddress(), site.NomadAddress(), s.name, s.name)
	}
	for _, j := range jobs {
		fmt.Fprintf(&b, "service %q {\n  criticality = \"supporting\"\n  rto         = \"1h\"\n  rpo         = \"0s\"\n  nomad_job   = %q\n  check \"http\" { url = \"{ingress}/%s/healthz\" }\n}\n", j, j, j)
	}
	return []byte(b.String())
}

func planSource(job string) []byte {
	return []byte(fmt.Sprintf(`plan "failover-%[1]s" {
  from     = %[2]q
  to       = %[3]q
  services = [%[1]q]
  step "lose" {
    action    = "nomad.stop_job"
    site      = %[2]q
    for_each  = [%[1]q]
    milestone = "disaster"
  }
  step "start" {
    action   = "nomad.run_job"
    site     = %[3]q
    for_each = [%[1]q]
  }
  step "verify" {
    action    = "http.wait_healthy"
    site      = %[3]q
    milestone = "restored"
    timeout   = "1m"
  }
  rollback        = "none"
  rollback_reason = "a benchmark: the sites are simulated"
}
`, job, primarySite, drSite))
}

// Run performs the measurement.
func Run(ctx context.Context, opt Options) (*Report, error) {
	if opt.DatabaseURL == "" {
		return nil, errors.New("fleet: DatabaseURL is required")
	}
	if opt.Replicas < 0 || opt.Solo < 0 || opt.Together < 0 {
		return nil, errors.New("fleet: Replicas, Solo and Together must not be negative")
	}
	if opt.Replicas == 0 {
		opt.Replicas = DefaultReplicas
	}
	if opt.Solo == 0 {
		opt.Solo = DefaultSolo
	}
	if opt.Together == 0 {
		opt.Together = DefaultTogether
	}
	progress := func(format string, args ...any) {
		if opt.Progress != nil {
			opt.Progress(fmt.Sprintf(format, args...))
		}
	}
	var jobs []string
	for i := range opt.Solo {
		jobs = append(jobs, fmt.Sprintf("alone%02d", i))
	}
	for i := range opt.Together {
		jobs = append(jobs, fmt.Sprintf("together%02d", i))
	}
	var primaryJobs, drJobs []sitesim.JobConfig
	for _, j := range jobs {
		primaryJobs = append(primaryJobs, sitesim.JobConfig{ID: j, Running: true})
		drJobs = append(drJobs, sitesim.JobConfig{ID: j})
	}
	sim, err := sitesim.Start(ctx, sitesim.Config{
		StartDelay: 20 * time.Millisecond, HealthDelay: 30 * time.Millisecond,
		Sites: []sitesim.SiteConfig{
			{Name: primarySite, Region: "kr-" + primarySite, Datacenter: primarySite + "-1", Jobs: primaryJobs},
			{Name: drSite, Region: "kr-" + drSite, Datacenter: drSite + "-1", Jobs: drJobs},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("start sitesim: %w", err)
	}
	defer sim.Close()
	estateSrc := estateSource(sim, jobs)
	estate, diags := drills.ParseEstate(estateSrc, "fleet-estate.hcl")
	if diags.HasErrors() {
		return nil, fmt.Errorf("parse estate: %w", diags)
	}

	spent := &actionTime{byRun: map[string]time.Duration{}, owner: map[string]string{}}
	reps := make([]*replica, opt.Replicas)
	for i := range reps {
		r, err := newReplica(ctx, opt.DatabaseURL, fmt.Sprintf("replica-%d", i+1), spent, i == 0)
		if err != nil {
			return nil, err
		}
		defer r.close()
		reps[i] = r
	}
	for _, r := range reps {
		if err := r.worker.Start(ctx); err != nil {
			return nil, err
		}
	}
	drill := func(job string) (*orchestrator.Drill, error) {
		src := planSource(job)
		plan, diags := drills.ParsePlan(src, "fleet-"+job+".hcl")
		if diags.HasErrors() {
			return nil, fmt.Errorf("parse plan: %w", diags)
		}
		return &orchestrator.Drill{Estate: estate, EstateSource: estateSrc, Plan: plan, PlanSource: src,
			RequestedBy: drills.Actor{Kind: drills.ActorSystem, Name: "bench-fleet"}}, nil
	}
	rep := &Report{Options: opt, Started: time.Now(), Steps: 3}
	phase := func(name string, jobs []string) (Phase, error) {
		p := Phase{Name: name, Drills: len(jobs), ByReplica: map[string]int{}}
		stopSampling := sampleWaits(ctx, opt.DatabaseURL, &p)
		cpu0 := cpuTime()
		t0 := time.Now()
		ids := make([]string, len(jobs))
		for i, j := range jobs {
			d, err := drill(j)
			if err != nil {
				return p, err
			}
			// Submitted by one replica, claimed by whichever worker gets there first.
			run, err := reps[i%len(reps)].runner.Submit(ctx, d)
			if err != nil {
				return p, fmt.Errorf("submit %s: %w", j, err)
			}
			ids[i] = run.ID
		}
		for i, id := range ids {
			s, err := measure(ctx, reps[0].store, id, sim.Site(drSite), jobs[i], spent)
			if err != nil {
				return p, err
			}
			p.samples = append(p.samples, s)
			p.ByReplica[s.Replica]++
		}
		p.Wall = time.Since(t0)
		p.cpu = cpuTime() - cpu0
		stopSampling()
		p.summarise()
		return p, nil
	}
	for i := range opt.Solo {
		progress("alone %d/%d", i+1, opt.Solo)
		ph, err := phase("alone", jobs[i:i+1])
		if err != nil {
			return nil, err
		}
		rep.Alone.samples = append(rep.Alone.samples, ph.samples...)
		rep.Alone.Wall += ph.Wall
		rep.Alone.cpu += ph.cpu
		if rep.Alone.waits == nil {
			rep.Alone.waits = map[string]int{}
		}
		for k, n := range ph.waits {
			rep.Alone.waits[k] += n
		}
		if rep.Alone.locks == nil {
			rep.Alone.locks = map[string]int{}
		}
		for k, n := range ph.locks {
			rep.Alone.locks[k] += n
		}
	}
	rep.Alone.Name, rep.Alone.Drills, rep.Alone.ByReplica = "alone (one at a time)", opt.Solo, map[string]int{}
	for _, s := range rep.Alone.samples {
		rep.Alone.ByReplica[s.Replica]++
	}
	rep.Alone.summarise()
	progress("%d together", opt.Together)
	if rep.Together, err = phase(fmt.Sprintf("%d at once", opt.Together), jobs[opt.Solo:]); err != nil {
		return nil, err
	}
	return rep, nil
}

func newReplica(ctx context.Context, dsn, owner string, spent *actionTime, migrate bool) (*replica, error) {
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		return nil, err
	}
	if migrate {
		if _, err := st.MigrateUp(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	clients, err := nomad.NewClients(nomad.Config{RetryBackoff: 10 * time.Millisecond})
	if err != nil {
		st.Close()
		return nil, err
	}
	// As cmd/firedrill wires it (wiring.go): the restoration watch on the Nomad event stream.
	httpCfg := httpaction.Config{Allocations: clients}
	var list []actions.Action
	for _, a := range append(nomad.ActionsWatchingRestoration(clients, httpaction.NewRestorationWatcher(httpCfg)), httpaction.Actions(httpCfg)...) {
		list = append(list, timed{Action: a, owner: owner, spent: spent})
	}
	reg, err := actions.NewRegistry(list...)
	if err != nil {
		clients.Close()
		st.Close()
		return nil, err
	}
	runner, err := orchestrator.NewRunner(orchestrator.RunnerConfig{Store: st, Actions: reg, Owner: owner})
	if err != nil {
		clients.Close()
		st.Close()
		return nil, err
	}
	worker, err := orchestrator.NewWorker(orchestrator.WorkerConfig{Runner: runner, Poll: 20 * time.Millisecond, Concurrency: 50})
	if err != nil {
		clients.Close()
		st.Close()
		return nil, err
	}
	return &replica{store: st, clients: clients, runner: runner, worker: worker}, nil
}

func (r *replica) close() {
	r.worker.Stop()
	r.clients.Close()
	r.store.Close()
}

// measure waits for run id to end and returns its figures.
func measure(ctx context.Context, st *store.Store, id string, dr *sitesim.Site, job string, spent *actionTime) (Sample, error) {
	deadline := time.Now().Add(drillTimeout)
	for {
		run, err := st.RunGet(ctx, id)
		if err != nil {
			return Sample{}, err
		}
		if run.State.IsTerminal() {
			if run.State != drills.RunSucceeded {
				return Sample{}, fmt.Errorf("run %s (%s) ended %s: %s", id, job, run.State, run.StateReason)
			}
			if run.StartedAt == nil || run.EndedAt == nil || run.T1 == nil {
				return Sample{}, fmt.Errorf("run %s (%s) has no start, end or restored milestone", id, job)
			}
			healthy, ok := dr.HealthyAt(job)
			if !ok {
				return Sample{}, fmt.Errorf("run %s: sitesim never saw %s healthy", id, job)
			}
			results, err := st.StepResultList(ctx, id)
			if err != nil {
				return Sample{}, err
			}
			inside, owner := spent.of(id)
			return Sample{
				Overhead: (run.EndedAt.Sub(*run.StartedAt) - inside) / time.Duration(len(results)),
				Lag:      run.T1.Sub(healthy),
				Replica:  owner,
			}, nil
		}
		if time.Now().After(deadline) {
			return Sample{}, fmt.Errorf("run %s (%s) still %s after %s", id, job, run.State, drillTimeout)
		}
		select {
		case <-ctx.Done():
			return Sample{}, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (p *Phase) summarise() {
	if len(p.samples) > 0 {
		p.CPUPerStep = p.cpu / time.Duration(3*len(p.samples))
	}
	total := 0
	for _, n := range p.waits {
		total += n
	}
	p.Waits = nil
	for k, n := range p.waits {
		p.Waits = append(p.Waits, Wait{What: k, Share: float64(n) / float64(total)})
	}
	slices.SortFunc(p.Waits, func(a, b Wait) int { return cmp.Or(cmp.Compare(b.Share, a.Share), cmp.Compare(a.What, b.What)) })
	p.Waits = p.Waits[:min(len(p.Waits), 6)]
	locked := 0
	for _, n := range p.locks {
		locked += n
	}
	p.Locks = nil
	for k, n := range p.locks {
		p.Locks = append(p.Locks, Wait{What: k, Share: float64(n) / float64(locked)})
	}
	slices.SortFunc(p.Locks, func(a, b Wait) int { return cmp.Or(cmp.Compare(b.Share, a.Share), cmp.Compare(a.What, b.What)) })
	var over, lag []time.Duration
	for _, s := range p.samples {
		over, lag = append(over, s.Overhead), append(lag, s.Lag)
	}
	slices.Sort(over)
	slices.Sort(lag)
	p.OverheadP50, p.OverheadP95 = pct(over, 50), pct(over, 95)
	p.LagP50, p.LagP95 = pct(lag, 50), pct(lag, 95)
}

// pct is the nearest-rank percentile of sorted.
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

// sampleWaits samples, every 5ms until the returned stop, what the database's active backends
// wait for, into p.waits.
func sampleWaits(ctx context.Context, dsn string, p *Phase) (stop func()) {
	p.waits, p.locks = map[string]int{}, map[string]int{}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return
		}
		defer conn.Close(context.WithoutCancel(ctx))
		for ctx.Err() == nil {
			rows, err := conn.Query(ctx, `SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, 'running')
FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`)
			if err != nil {
				return
			}
			for rows.Next() {
				var w string
				if rows.Scan(&w) == nil {
					p.waits[w]++
				}
			}
			rows.Close()
			// Which table's rows the lock waits are for: a waiter in line holds the row's
			// tuple lock (or waits for it), naming the relation.
			rows, err = conn.Query(ctx, `SELECT 'row lock on ' || l.relation::regclass::text FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.datname = current_database() AND l.locktype = 'tuple'`)
			if err != nil {
				return
			}
			for rows.Next() {
				var w string
				if rows.Scan(&w) == nil {
					p.locks[w]++
				}
			}
			rows.Close()
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); <-done }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
