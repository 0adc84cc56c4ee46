package detection

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/sitesim"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/httpaction"
	"github.com/firedrill/firedrill/orchestrator/actions/nomad"
)

// Defaults for Options.
const (
	DefaultFailovers         = 200
	DefaultBaselineFailovers = 200
	DefaultBaselineInterval  = time.Second
	DefaultLanes             = 4
	DefaultStartDelay        = 20 * time.Millisecond
	DefaultHealthDelay       = 30 * time.Millisecond
	// failoverTimeout bounds one failover: far above any lag worth measuring.
	failoverTimeout = 30 * time.Second
)

// Options configures Run. A zero field means its default.
type Options struct {
	// Failovers is how many failovers are measured with the product's default check
	// interval (drills.DefaultCheckInterval, taken from the check as a plan would). Defaults to 200.
	Failovers int
	// BaselineFailovers is how many failovers are measured with the step parameter
	// interval = BaselineInterval. Defaults to 200.
	BaselineFailovers int
	// BaselineInterval is the poll interval of the baseline. Defaults to 1s.
	BaselineInterval time.Duration
	// Lanes is how many failovers run at once, each lane on its own job of the one DR site.
	// Both kinds of failover are shuffled together and shared out among the lanes, so
	// whatever noise concurrency adds hits both alike. Defaults to 4.
	Lanes int
	// StartDelay and HealthDelay are sitesim's allocation life-cycle delays. Default to
	// 20ms and 30ms.
	StartDelay, HealthDelay time.Duration
	// Seed makes the order of the failovers and their jitter reproducible. Zero picks one.
	Seed uint64
	// Progress, when set, is called after each failover with how many are done and the total.
	Progress func(done, total int)
}

func (o Options) withDefaults() (Options, error) {
	if o.Failovers < 0 || o.BaselineFailovers < 0 || o.Lanes < 0 || o.BaselineInterval < 0 ||
		o.StartDelay < 0 || o.HealthDelay < 0 {
		return o, errors.New("detection options: Failovers, BaselineFailovers, Lanes, BaselineInterval, StartDelay and HealthDelay must not be negative")
	}
	if o.Failovers == 0 {
		o.Failovers = DefaultFailovers
	}
	if o.BaselineFailovers == 0 {
		o.BaselineFailovers = DefaultBaselineFailovers
	}
	if o.BaselineInterval == 0 {
		o.BaselineInterval = DefaultBaselineInterval
	}
	if o.Lanes == 0 {
		o.Lanes = DefaultLanes
	}
	if o.StartDelay == 0 {
		o.StartDelay = DefaultStartDelay
	}
	if o.HealthDelay == 0 {
		o.HealthDelay = DefaultHealthDelay
	}
	if o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	return o, nil
}

// Stats summarises the detection lags of one poll interval.
type Stats struct {
	Interval time.Duration
	// Lags are the measured lags in the order the failovers finished.
	Lags                       []time.Duration
	Median, P90, P99, Max, Min time.Duration
	Mean                       time.Duration
}

func newStats(interval time.Duration, lags []time.Duration) Stats {
	s := Stats{Interval: interval, Lags: lags}
	if len(lags) == 0 {
		return s
	}
	sorted := slices.Clone(lags)
	slices.Sort(sorted)
	var sum time.Duration
	for _, l := range sorted {
		sum += l
	}
	s.Median, s.P90, s.P99 = percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99)
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	s.Mean = sum / time.Duration(len(sorted))
	return s
}

// percentile is the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

// Report is the outcome of Run.
type Report struct {
	Options  Options
	Default  Stats
	Baseline Stats
	Started  time.Time
	Wall     time.Duration
}

// Ratio is p99(default) / p99(baseline).
func (r *Report) Ratio() float64 {
	if r.Baseline.P99 == 0 {
		return math.NaN()
	}
	return float64(r.Default.P99) / float64(r.Baseline.P99)
}

// Markdown renders the report as a table with the conditions of the run.
func (r *Report) Markdown() string {
	var b strings.Builder
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(&b, "Detection lag = http.wait_healthy PassedAt (recorded T1) − sitesim HealthyAt, in ms.\n\n")
	fmt.Fprintf(&b, "| poll interval | failovers | median | p90 | p99 | max | mean |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|\n")
	row := func(name string, s Stats) {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n",
			name, len(s.Lags), ms(s.Median), ms(s.P90), ms(s.P99), ms(s.Max), ms(s.Mean))
	}
	row(fmt.Sprintf("%s (product default)", r.Default.Interval), r.Default)
	row(fmt.Sprintf("%s (baseline)", r.Baseline.Interval), r.Baseline)
	fmt.Fprintf(&b, "\np99(default) / p99(baseline) = %.3f. Target p99 ≤ 100 ms at the default interval: %s.\n",
		r.Ratio(), met(r.Default.P99 <= 100*time.Millisecond))
	fmt.Fprintf(&b, "\nRun %s, %s wall, lanes %d, sitesim StartDelay %s / HealthDelay %s, seed %d, %s %s/%s, NumCPU %d, GOMAXPROCS %d.\n",
		r.Started.UTC().Format(time.RFC3339), r.Wall.Round(time.Second), r.Options.Lanes,
		r.Options.StartDelay, r.Options.HealthDelay, r.Options.Seed,
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	return b.String()
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// trial is one failover to measure.
type trial struct {
	baseline bool
	jitter   time.Duration
}

// lane is one job on the DR site with the actions and requests that drive it.
type lane struct {
	job                    string
	site                   *sitesim.Site
	runJob, stopJob, watch actions.Action
	run, stop, wait        *actions.Request
	// waitBaseline is wait with the step parameter interval = the baseline's.
	waitBaseline *actions.Request
}

// Run starts one simulated DR site and measures the detection lag of opt.Failovers
// failovers polled at the default interval and opt.BaselineFailovers polled at
// opt.BaselineInterval, interleaved in a random order.
func Run(ctx context.Context, opt Options) (*Report, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	const siteName = "yatap"
	jobs := make([]sitesim.JobConfig, opt.Lanes)
	for i := range jobs {
		jobs[i] = sitesim.JobConfig{ID: fmt.Sprintf("svc%d", i)}
	}
	sim, err := sitesim.Start(ctx, sitesim.Config{
		StartDelay: opt.StartDelay, HealthDelay: opt.HealthDelay,
		Sites: []sitesim.SiteConfig{{Name: siteName, Region: "kr-yatap", Datacenter: "yatap-1", Jobs: jobs}},
	})
	if err != nil {
		return nil, fmt.Errorf("start sitesim: %w", err)
	}
	defer sim.Close()
	simSite := sim.Site(siteName)

	site := &drills.Site{
		Name: siteName, Role: drills.SiteRoleDR, Ingress: simSite.IngressAddress(),
		Nomad: &drills.NomadEndpoint{Address: simSite.NomadAddress(), Region: "kr-yatap", Datacenter: "yatap-1"},
	}
	estate := &drills.Estate{Sites: []*drills.Site{site}}
	for _, j := range jobs {
		estate.Services = append(estate.Services, &drills.Service{
			Name: j.ID, NomadJob: j.ID, RTO: time.Hour,
			// As the plan parser fills it: the product's default interval.
			Checks: []*drills.Check{{Kind: drills.CheckHTTP, URL: "{ingress}/" + j.ID + "/healthz",
				ExpectStatus: drills.DefaultExpectStatus, Interval: drills.DefaultCheckInterval}},
		})
	}
	clients, err := nomad.NewClients(nomad.Config{RetryBackoff: 10 * time.Millisecond})
	if err != nil {
		return nil, fmt.Errorf("nomad clients: %w", err)
	}
	defer clients.Close()
	byName := map[string]actions.Action{}
	for _, a := range append(nomad.Actions(clients), httpaction.Actions(httpaction.Config{})...) {
		byName[a.Spec().Name] = a
	}
	plan := &drills.Plan{Name: "detection-lag", To: siteName}
	request := func(action string, svc *drills.Service, params map[string]any) *actions.Request {
		step := &drills.Step{Name: strings.ReplaceAll(action, ".", "-"), Action: action, Site: siteName, Params: params}
		return &actions.Request{
			RunID: "bench", Config: estate, Plan: plan,
			Instance: drills.StepInstance{Step: step, Service: svc.Name, Key: step.Name + "[" + svc.Name + "]"},
			Site:     site, Services: []*drills.Service{svc}, Clock: clock.Real{},
		}
	}
	lanes := make([]*lane, opt.Lanes)
	for i, svc := range estate.Services {
		lanes[i] = &lane{
			job: svc.NomadJob, site: simSite,
			runJob: byName[drills.ActionNomadRunJob], stopJob: byName[drills.ActionNomadStopJob],
			watch:        byName[drills.ActionHTTPWaitHealthy],
			run:          request(drills.ActionNomadRunJob, svc, nil),
			stop:         request(drills.ActionNomadStopJob, svc, nil),
			wait:         request(drills.ActionHTTPWaitHealthy, svc, nil),
			waitBaseline: request(drills.ActionHTTPWaitHealthy, svc, map[string]any{"interval": opt.BaselineInterval}),
		}
	}

	// The jitter delays the failover by a uniform fraction of the interval after the wait's
	// first poll, so the health instant falls at a uniformly random phase of the poll ticks,
	// as it does in a real drill where restarting takes far longer than one interval.
	rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15))
	trials := make([]trial, 0, opt.Failovers+opt.BaselineFailovers)
	for i := range opt.Failovers + opt.BaselineFailovers {
		tr := trial{baseline: i >= opt.Failovers}
		tr.jitter = time.Duration(rng.Int64N(int64(tr.interval(opt))))
		trials = append(trials, tr)
	}
	rng.Shuffle(len(trials), func(i, j int) { trials[i], trials[j] = trials[j], trials[i] })

	rep := &Report{Options: opt, Started: time.Now()}
	var (
		mu           sync.Mutex
		def, base    []time.Duration
		done         int
		firstErr     error
		next         = make(chan trial)
		wg           sync.WaitGroup
		runCtx, stop = context.WithCancel(ctx)
	)
	defer stop()
	for _, l := range lanes {
		wg.Go(func() {
			for tr := range next {
				lag, err := l.failover(runCtx, tr)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("failover of %s (baseline %t): %w", l.job, tr.baseline, err)
					stop()
				}
				if err == nil {
					if tr.baseline {
						base = append(base, lag)
					} else {
						def = append(def, lag)
					}
				}
				done++
				if opt.Progress != nil {
					opt.Progress(done, len(trials))
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, tr := range trials {
		select {
		case next <- tr:
		case <-runCtx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep.Wall = time.Since(rep.Started)
	rep.Default = newStats(drills.DefaultCheckInterval, def)
	rep.Baseline = newStats(opt.BaselineInterval, base)
	return rep, nil
}

func (t trial) interval(opt Options) time.Duration {
	if t.baseline {
		return opt.BaselineInterval
	}
	return drills.DefaultCheckInterval
}

// failover brings the lane's job up on the DR site while http.wait_healthy watches it, and
// returns PassedAt − HealthyAt. It leaves the job stopped and unhealthy.
func (l *lane) failover(ctx context.Context, tr trial) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, failoverTimeout)
	defer cancel()
	wait := l.wait
	if tr.baseline {
		wait = l.waitBaseline
	}
	type waited struct {
		res *actions.Result
		err error
	}
	got := make(chan waited, 1)
	began := time.Now()
	go func() {
		res, err := l.watch.Run(ctx, wait)
		got <- waited{res, err}
	}()
	// Letting real time pass is the point here: it sets the phase of the failover.
	time.Sleep(tr.jitter)
	if _, err := l.runJob.Run(ctx, l.run); err != nil {
		return 0, fmt.Errorf("run_job: %w", err)
	}
	w := <-got
	if w.err != nil {
		return 0, fmt.Errorf("wait_healthy: %w", w.err)
	}
	if len(w.res.Observations) != 1 {
		return 0, fmt.Errorf("wait_healthy: %d observations, want 1", len(w.res.Observations))
	}
	healthyAt, ok := l.site.HealthyAt(l.job)
	if !ok || healthyAt.Before(began) {
		return 0, fmt.Errorf("sitesim has no healthy instant for %s in this failover", l.job)
	}
	lag := w.res.Observations[0].PassedAt.Sub(healthyAt)

	if _, err := l.stopJob.Run(ctx, l.stop); err != nil {
		return 0, fmt.Errorf("stop_job: %w", err)
	}
	if err := l.site.WaitJobUnhealthy(ctx, l.job); err != nil {
		return 0, fmt.Errorf("wait unhealthy: %w", err)
	}
	return lag, nil
}
