package detection

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
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
	DefaultPollFailovers     = 200
	DefaultBaselineFailovers = 200
	DefaultHangFailovers     = 200
	DefaultBaselineInterval  = time.Second
	DefaultLanes             = 4
	DefaultStartDelay        = 20 * time.Millisecond
	DefaultHealthDelay       = 30 * time.Millisecond
	// failoverTimeout bounds one failover: far above any lag worth measuring.
	failoverTimeout = 30 * time.Second
)

// Options configures Run. A zero field means its default.
type Options struct {
	// Failovers is how many failovers are measured with the product's method: the check's
	// default interval (drills.DefaultCheckInterval, as the parser fills it) polled, plus the
	// fast window opened by the DR site's Nomad event stream. Defaults to 200.
	Failovers int
	// PollFailovers is how many are measured with today's method: the default interval
	// polled, no Nomad watch. Defaults to 200.
	PollFailovers int
	// BaselineFailovers is how many are measured with the poll alone at BaselineInterval
	// (the step parameter interval). Defaults to 200.
	BaselineFailovers int
	// HangFailovers is how many are measured with the product's method while the probe that
	// would first see the service healthy hangs (until its deadline). Defaults to 200.
	HangFailovers int
	// BaselineInterval is the poll interval of the baseline. Defaults to 1s.
	BaselineInterval time.Duration
	// Lanes is how many failovers run at once, each lane on its own job of the one DR site.
	// All kinds of failover are shuffled together and shared out among the lanes, so
	// whatever noise concurrency adds hits them alike. Defaults to 4.
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
	if o.Failovers < 0 || o.PollFailovers < 0 || o.BaselineFailovers < 0 || o.HangFailovers < 0 || o.Lanes < 0 ||
		o.BaselineInterval < 0 || o.StartDelay < 0 || o.HealthDelay < 0 {
		return o, errors.New("detection options: counts, Lanes, BaselineInterval, StartDelay and HealthDelay must not be negative")
	}
	if o.Failovers == 0 {
		o.Failovers = DefaultFailovers
	}
	if o.PollFailovers == 0 {
		o.PollFailovers = DefaultPollFailovers
	}
	if o.BaselineFailovers == 0 {
		o.BaselineFailovers = DefaultBaselineFailovers
	}
	if o.HangFailovers == 0 {
		o.HangFailovers = DefaultHangFailovers
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

// Kind is one way of detecting restoration that Run measures.
type Kind int

// The kinds, in the order the report lists them.
const (
	// KindStream is the product's method: poll plus the Nomad event-stream window.
	KindStream Kind = iota
	// KindPoll is today's method: the default interval polled.
	KindPoll
	// KindBaseline is a poll at BaselineInterval.
	KindBaseline
	// KindHang is KindStream with the probe that would first pass hanging.
	KindHang
	numKinds
)

func (k Kind) String() string {
	return [...]string{"event stream + 2ms window", "50ms poll (today)", "1s poll", "event stream, a probe hangs"}[k]
}

func (k Kind) count(o Options) int {
	return [...]int{o.Failovers, o.PollFailovers, o.BaselineFailovers, o.HangFailovers}[k]
}

// interval is the poll interval the kind's failovers are jittered over.
func (k Kind) interval(o Options) time.Duration {
	if k == KindBaseline {
		return o.BaselineInterval
	}
	return drills.DefaultCheckInterval
}

// Stats summarises the detection lags of one kind.
type Stats struct {
	Kind Kind
	// Lags are the measured lags in the order the failovers finished.
	Lags                       []time.Duration
	Median, P90, P99, Max, Min time.Duration
	Mean                       time.Duration
	// Methods counts the observations by the method recorded with them.
	Methods map[string]int
	// MaxResolution is the largest resolution recorded with an observation.
	MaxResolution time.Duration
	// Hung counts the probes that hung (KindHang).
	Hung int
}

func newStats(kind Kind, lags []time.Duration) Stats {
	s := Stats{Kind: kind, Lags: lags, Methods: map[string]int{}}
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
	Options Options
	// Kinds holds the stats of each Kind, indexed by it.
	Kinds   [numKinds]Stats
	Started time.Time
	Wall    time.Duration
	// CPU is the process's user+system CPU time during the run (0 where unknown).
	CPU time.Duration
}

// Markdown renders the report as a table with the conditions of the run.
func (r *Report) Markdown() string {
	var b strings.Builder
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(&b, "Detection lag = http.wait_healthy PassedAt (recorded T1) − sitesim HealthyAt, in ms.\n\n")
	fmt.Fprintf(&b, "| method | failovers | median | p90 | p99 | max | mean | recorded method | max recorded resolution |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---|---:|\n")
	for _, s := range r.Kinds {
		var methods []string
		for _, m := range slices.Sorted(maps.Keys(s.Methods)) {
			methods = append(methods, fmt.Sprintf("%s %d", m, s.Methods[m]))
		}
		name := s.Kind.String()
		if s.Kind == KindBaseline {
			name = r.Options.BaselineInterval.String() + " poll"
		}
		if s.Kind == KindHang {
			name += fmt.Sprintf(" (%d hung)", s.Hung)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", name, len(s.Lags),
			ms(s.Median), ms(s.P90), ms(s.P99), ms(s.Max), ms(s.Mean), strings.Join(methods, ", "), ms(s.MaxResolution))
	}
	st := r.Kinds[KindStream]
	fmt.Fprintf(&b, "\nTarget p99 ≤ 5 ms with the event stream: %s (%s ms; with a hanging probe %s ms).\n",
		met(st.P99 <= 5*time.Millisecond), ms(st.P99), ms(r.Kinds[KindHang].P99))
	fmt.Fprintf(&b, "\nRun %s, %s wall, %s CPU, lanes %d, sitesim StartDelay %s / HealthDelay %s, seed %d, %s %s/%s, NumCPU %d, GOMAXPROCS %d.\n",
		r.Started.UTC().Format(time.RFC3339), r.Wall.Round(time.Second), r.CPU.Round(100*time.Millisecond), r.Options.Lanes,
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
	kind   Kind
	jitter time.Duration
}

// lane is one job on the DR site with the actions and requests that drive it.
type lane struct {
	job              string
	site             *sitesim.Site
	front            *front
	runJob, stopJob  actions.Action
	watch, pollWatch actions.Action // with the Nomad watch, and without (today's poll)
	run, stop, wait  *actions.Request
	// waitBaseline is wait with the step parameter interval = the baseline's.
	waitBaseline *actions.Request
	// waitHang is wait on the site seen through the front (KindHang).
	waitHang *actions.Request
}

// front stands between http.wait_healthy and sitesim's ingress: it can make the first probe
// of a job that would see it healthy hang until the prober gives up on it.
type front struct {
	site  *sitesim.Site
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	armed map[string]bool
	hung  map[string]int
}

func (f *front) arm(job string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed[job] = true
}

// disarm ends a trial; it reports whether a probe hung in it.
func (f *front) disarm(job string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.armed, job)
	n := f.hung[job]
	delete(f.hung, job)
	return n > 0
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	job, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	f.mu.Lock()
	hang := f.armed[job] && f.site.JobHealthy(job)
	if hang {
		delete(f.armed, job)
		f.hung[job]++
	}
	f.mu.Unlock()
	if hang {
		<-r.Context().Done()
		return
	}
	f.proxy.ServeHTTP(w, r)
}

// Run starts one simulated DR site and measures the detection lag of the failovers of
// every Kind, interleaved in a random order.
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

	ingress, err := url.Parse(simSite.IngressAddress())
	if err != nil {
		return nil, err
	}
	fr := &front{site: simSite, proxy: httputil.NewSingleHostReverseProxy(ingress), armed: map[string]bool{}, hung: map[string]int{}}
	fr.proxy.ErrorLog = log.New(io.Discard, "", 0)
	// As wait_healthy's own client: enough idle connections that overlapping probes do not
	// dial through the front (the default transport keeps 2 per host).
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 16
	fr.proxy.Transport = transport
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	frontSrv := &http.Server{Handler: fr, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = frontSrv.Serve(ln) }()
	defer frontSrv.Close()

	site := &drills.Site{
		Name: siteName, Role: drills.SiteRoleDR, Ingress: simSite.IngressAddress(),
		Nomad: &drills.NomadEndpoint{Address: simSite.NomadAddress(), Region: "kr-yatap", Datacenter: "yatap-1"},
	}
	// Only the failovers with a hanging probe go through the front, so the others pay no
	// extra hop.
	frontSite := *site
	frontSite.Ingress = "http://" + ln.Addr().String()
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
	for _, a := range append(nomad.Actions(clients), httpaction.Actions(httpaction.Config{Allocations: clients})...) {
		byName[a.Spec().Name] = a
	}
	pollWatch := httpaction.Actions(httpaction.Config{})[0]
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
			job: svc.NomadJob, site: simSite, front: fr,
			runJob: byName[drills.ActionNomadRunJob], stopJob: byName[drills.ActionNomadStopJob],
			watch: byName[drills.ActionHTTPWaitHealthy], pollWatch: pollWatch,
			run:          request(drills.ActionNomadRunJob, svc, nil),
			stop:         request(drills.ActionNomadStopJob, svc, nil),
			wait:         request(drills.ActionHTTPWaitHealthy, svc, nil),
			waitBaseline: request(drills.ActionHTTPWaitHealthy, svc, map[string]any{"interval": opt.BaselineInterval}),
		}
		lanes[i].waitHang = request(drills.ActionHTTPWaitHealthy, svc, nil)
		lanes[i].waitHang.Site = &frontSite
	}

	// The jitter delays the failover by a uniform fraction of the poll interval after the
	// wait's first poll, so the health instant falls at a uniformly random phase of the poll
	// ticks, as it does in a real drill where restarting takes far longer than one interval.
	rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15))
	var trials []trial
	for k := range numKinds {
		for range k.count(opt) {
			trials = append(trials, trial{kind: k, jitter: time.Duration(rng.Int64N(int64(k.interval(opt))))})
		}
	}
	rng.Shuffle(len(trials), func(i, j int) { trials[i], trials[j] = trials[j], trials[i] })

	rep := &Report{Options: opt, Started: time.Now()}
	cpu0 := cpuTime()
	var (
		mu           sync.Mutex
		outs         [numKinds][]outcome
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
				out, err := l.failover(runCtx, tr)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("failover of %s (%s): %w", l.job, tr.kind, err)
					stop()
				}
				if err == nil {
					outs[tr.kind] = append(outs[tr.kind], out)
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
	rep.CPU = cpuTime() - cpu0
	for k := range numKinds {
		lags := make([]time.Duration, len(outs[k]))
		for i, o := range outs[k] {
			lags[i] = o.lag
		}
		s := newStats(k, lags)
		for _, o := range outs[k] {
			s.Methods[o.method]++
			s.MaxResolution = max(s.MaxResolution, o.resolution)
			if o.hung {
				s.Hung++
			}
		}
		rep.Kinds[k] = s
	}
	return rep, nil
}

// outcome is what one failover measured.
type outcome struct {
	lag        time.Duration
	method     string
	resolution time.Duration
	hung       bool
}

// failover brings the lane's job up on the DR site while http.wait_healthy watches it, and
// returns PassedAt − HealthyAt. It leaves the job stopped and unhealthy.
func (l *lane) failover(ctx context.Context, tr trial) (outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, failoverTimeout)
	defer cancel()
	watch, wait := l.watch, l.wait
	switch tr.kind {
	case KindPoll:
		watch = l.pollWatch
	case KindBaseline:
		watch, wait = l.pollWatch, l.waitBaseline
	case KindHang:
		wait = l.waitHang
		l.front.arm(l.job)
	}
	type waited struct {
		res *actions.Result
		err error
	}
	got := make(chan waited, 1)
	began := time.Now()
	go func() {
		res, err := watch.Run(ctx, wait)
		got <- waited{res, err}
	}()
	// Letting real time pass is the point here: it sets the phase of the failover.
	time.Sleep(tr.jitter)
	if _, err := l.runJob.Run(ctx, l.run); err != nil {
		return outcome{}, fmt.Errorf("run_job: %w", err)
	}
	w := <-got
	hung := l.front.disarm(l.job)
	if w.err != nil {
		return outcome{}, fmt.Errorf("wait_healthy: %w", w.err)
	}
	if len(w.res.Observations) != 1 {
		return outcome{}, fmt.Errorf("wait_healthy: %d observations, want 1", len(w.res.Observations))
	}
	healthyAt, ok := l.site.HealthyAt(l.job)
	if !ok || healthyAt.Before(began) {
		return outcome{}, fmt.Errorf("sitesim has no healthy instant for %s in this failover", l.job)
	}
	obs := w.res.Observations[0]
	out := outcome{lag: obs.PassedAt.Sub(healthyAt), method: obs.Method, resolution: obs.Resolution, hung: hung}

	if _, err := l.stopJob.Run(ctx, l.stop); err != nil {
		return outcome{}, fmt.Errorf("stop_job: %w", err)
	}
	if err := l.site.WaitJobUnhealthy(ctx, l.job); err != nil {
		return outcome{}, fmt.Errorf("wait unhealthy: %w", err)
	}
	return out, nil
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
