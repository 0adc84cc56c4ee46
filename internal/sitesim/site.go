package sitesim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/nomadacl"
)

// Site is one simulated site: a Nomad API emulator and a toy service ingress.
type Site struct {
	name, region, datacenter, token string
	startDelay, healthDelay         time.Duration
	heartbeat                       time.Duration
	clock                           clock.Clock
	log                             *slog.Logger
	cfg                             SiteConfig
	clientTokens                    map[string]*clientToken
	data                            *data

	done chan struct{} // closed when the site closes
	wg   sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	index       uint64
	changed     chan struct{} // closed and replaced on every change
	jobs        map[jobKey]*jobState
	allocs      map[string]*api.Allocation
	deployments map[string]*api.Deployment
	evals       map[string]*api.Evaluation
	nodes       []*api.Node
	events      []eventBatch
	timers      map[*time.Timer]struct{}
	deps        map[string][]string
	failing     map[string]bool
	healthy     map[string]bool
	healthyAt   map[string]time.Time

	eventStreamDenied atomic.Bool
	// streamBreak is closed by BreakEventStreams to end the streams open then (nil until
	// a stream opens); streamIndexes are the ?index= of every subscription, in order.
	streamBreak   chan struct{}
	streamIndexes []uint64

	faultMu   sync.Mutex
	errorRate float64
	errorAcc  float64
	latency   time.Duration
	hang      chan struct{} // non-nil while requests hang; closed to release them

	reqMu     sync.Mutex
	reqCond   *sync.Cond
	reqs      int  // requests being served
	reqClosed bool // no more requests are served

	srvMu       sync.Mutex
	nomadAddr   string // host:port actually bound, kept across partitions
	nomadSrv    *http.Server
	ingressAddr string
	ingressSrv  *http.Server
}

func newSite(cfg Config, sc SiteConfig) *Site {
	st := &Site{
		name: sc.Name, region: sc.Region, datacenter: sc.Datacenter, token: sc.Token,
		startDelay: cfg.StartDelay, healthDelay: cfg.HealthDelay, heartbeat: cfg.HeartbeatInterval,
		clock: cfg.Clock, log: cfg.Logger.With("component", "sitesim", "site", sc.Name), cfg: sc,
		done:        make(chan struct{}),
		changed:     make(chan struct{}),
		jobs:        make(map[jobKey]*jobState),
		allocs:      make(map[string]*api.Allocation),
		deployments: make(map[string]*api.Deployment),
		evals:       make(map[string]*api.Evaluation),
		timers:      make(map[*time.Timer]struct{}),
		deps:        make(map[string][]string),
		failing:     make(map[string]bool),
		healthy:     make(map[string]bool),
		healthyAt:   make(map[string]time.Time),
	}
	st.reqCond = sync.NewCond(&st.reqMu)
	st.clientTokens = map[string]*clientToken{}
	for _, tc := range sc.Tokens {
		tok := &clientToken{cfg: tc}
		for _, rules := range tc.Policies {
			if p, err := nomadacl.Parse(rules); err == nil { // validated by withDefaults
				tok.policies = append(tok.policies, p)
			}
		}
		st.clientTokens[tc.Secret] = tok
	}
	return st
}

// start builds the initial state and opens the listeners. On error it releases what it took.
func (st *Site) start(ctx context.Context) error {
	st.mu.Lock()
	t := st.begin()
	for i := range st.cfg.Nodes {
		st.nodes = append(st.nodes, st.newNode(t, i))
	}
	for _, jc := range st.cfg.Jobs {
		st.deps[jc.ID] = jc.DependsOn
		job := toyJob(jc, st.datacenter)
		st.applyJobDefaults(job, DefaultNamespace)
		js, _ := st.registerJob(t, job, false, "job-register")
		if jc.Running {
			st.settle(t, js)
		}
	}
	st.commit(t)
	st.mu.Unlock()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", st.cfg.IngressListen)
	if err != nil {
		st.close()
		return fmt.Errorf("listen ingress on %s: %w", st.cfg.IngressListen, err)
	}
	st.srvMu.Lock()
	st.ingressAddr = ln.Addr().String()
	st.ingressSrv = st.serve(ln, st.ingressHandler())
	st.srvMu.Unlock()

	ln, err = lc.Listen(ctx, "tcp", st.cfg.NomadListen)
	if err != nil {
		st.close()
		return fmt.Errorf("listen nomad api on %s: %w", st.cfg.NomadListen, err)
	}
	st.srvMu.Lock()
	st.nomadAddr = ln.Addr().String()
	st.nomadSrv = st.serve(ln, st.nomadHandler())
	st.srvMu.Unlock()
	st.log.Info("site started", "nomad", st.NomadAddress(), "ingress", st.IngressAddress())
	return nil
}

func (st *Site) serve(ln net.Listener, h http.Handler) *http.Server {
	srv := &http.Server{
		Handler:           st.track(h),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(st.log.Handler(), slog.LevelDebug),
	}
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			st.log.Error("serve", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return srv
}

// track counts the requests being served, so that close can wait for their handlers.
func (st *Site) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.reqMu.Lock()
		if st.reqClosed {
			st.reqMu.Unlock()
			writeError(w, &httpError{http.StatusServiceUnavailable, "server shutting down"})
			return
		}
		st.reqs++
		st.reqMu.Unlock()
		defer func() {
			st.reqMu.Lock()
			st.reqs--
			st.reqCond.Broadcast()
			st.reqMu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

// close stops the timers and servers and waits for the site's goroutines.
func (st *Site) close() error {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return nil
	}
	st.closed = true
	for t := range st.timers {
		if t.Stop() {
			st.wg.Done()
		}
	}
	st.timers = nil
	st.mu.Unlock()
	close(st.done)

	st.srvMu.Lock()
	srvs := []*http.Server{st.nomadSrv, st.ingressSrv}
	st.nomadSrv, st.ingressSrv = nil, nil
	st.srvMu.Unlock()
	// Every handler returns once done is closed or its connection is; closing the
	// servers (rather than shutting them down) does not wait for idle client connections.
	var errs []error
	for _, srv := range srvs {
		if srv != nil {
			errs = append(errs, srv.Close())
		}
	}
	st.reqMu.Lock()
	st.reqClosed = true
	for st.reqs > 0 {
		st.reqCond.Wait()
	}
	st.reqMu.Unlock()
	st.wg.Wait()
	st.log.Info("site closed")
	return errors.Join(errs...)
}

func (st *Site) newNode(t *tx, i int) *api.Node {
	return &api.Node{
		ID: newID(), Datacenter: st.datacenter, Name: fmt.Sprintf("%s-client-%d", st.name, i+1),
		HTTPAddr: fmt.Sprintf("127.0.0.1:%d", 4646+i),
		Attributes: map[string]string{
			"kernel.name": "linux", "os.name": "linux", "nomad.version": "1.10.0",
			"unique.hostname": fmt.Sprintf("%s-client-%d", st.name, i+1),
		},
		NodeResources: &api.NodeResources{
			Cpu:    api.NodeCpuResources{CpuShares: 8000, TotalCpuCores: 4},
			Memory: api.NodeMemoryResources{MemoryMB: 16384},
			Disk:   api.NodeDiskResources{DiskMB: 100000},
		},
		NodeClass: "", NodePool: "default",
		SchedulingEligibility: api.NodeSchedulingEligible,
		Status:                api.NodeStatusReady, StatusDescription: "",
		StatusUpdatedAt: t.now.Unix(),
		Drivers: map[string]*api.DriverInfo{
			"docker": {Detected: true, Healthy: true, HealthDescription: "Healthy", UpdateTime: t.now.UTC()},
		},
		CreateIndex: t.idx, ModifyIndex: t.idx,
	}
}

// toyJob is the job a JobConfig registers: one group of the toy service.
func toyJob(jc JobConfig, dc string) *api.Job {
	return &api.Job{
		ID: new(jc.ID), Name: new(jc.ID), Type: new(api.JobTypeService),
		Datacenters: []string{dc},
		Stop:        new(!jc.Running),
		TaskGroups: []*api.TaskGroup{{
			Name:  new(jc.Group),
			Count: new(jc.Count),
			Tasks: []*api.Task{{
				Name:   jc.ID,
				Driver: "docker",
				Config: map[string]any{"image": "firedrill/toy:latest"},
			}},
		}},
	}
}

// settle makes a job's allocations running and healthy at once: the state of a site that
// has been serving for a while.
func (st *Site) settle(t *tx, js *jobState) {
	for _, a := range st.jobAllocs(*js.job.Namespace, *js.job.ID) {
		if !isLive(a) {
			continue
		}
		a.ClientStatus = api.AllocClientStatusRunning
		a.ClientDescription = "Tasks are running"
		st.setTaskStates(a, "running", t.now, false)
		a.DeploymentStatus = &api.AllocDeploymentStatus{Healthy: new(true), Timestamp: t.now.UTC(), ModifyIndex: t.idx}
		st.touchAlloc(t, a)
		if d := st.deployments[a.DeploymentID]; d != nil && d.Status == api.DeploymentStatusRunning {
			d.TaskGroups[a.TaskGroup].HealthyAllocs++
			st.checkDeployment(t, d)
		}
	}
}

// Name returns the site's name.
func (st *Site) Name() string { return st.name }

// Region returns the site's Nomad region.
func (st *Site) Region() string { return st.region }

// Datacenter returns the datacenter of the site's client nodes.
func (st *Site) Datacenter() string { return st.datacenter }

// NomadAddress returns the Nomad API's base URL, "http://127.0.0.1:PORT".
func (st *Site) NomadAddress() string {
	st.srvMu.Lock()
	defer st.srvMu.Unlock()
	return "http://" + st.nomadAddr
}

// IngressAddress returns the toy service ingress's base URL, "http://127.0.0.1:PORT".
func (st *Site) IngressAddress() string {
	st.srvMu.Lock()
	defer st.srvMu.Unlock()
	return "http://" + st.ingressAddr
}

// JobHealthy reports whether the toy service of job is healthy on the site now.
func (st *Site) JobHealthy(job string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.healthy[job]
}

// HealthyAt returns the instant (from Config.Clock) the toy service of job last became
// healthy, and false if it never did.
func (st *Site) HealthyAt(job string) (time.Time, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	t, ok := st.healthyAt[job]
	return t, ok
}

// WaitJobHealthy blocks until the toy service of job is healthy on the site (or already
// is), ctx is done or the site closes.
func (st *Site) WaitJobHealthy(ctx context.Context, job string) error {
	return st.waitFor(ctx, func() bool { return st.healthy[job] })
}

// WaitJobUnhealthy blocks until the toy service of job is unhealthy on the site.
func (st *Site) WaitJobUnhealthy(ctx context.Context, job string) error {
	return st.waitFor(ctx, func() bool { return !st.healthy[job] })
}

// waitFor blocks until cond, evaluated with st.mu held, is true.
func (st *Site) waitFor(ctx context.Context, cond func() bool) error {
	for {
		st.mu.Lock()
		ok, ch := cond(), st.changed
		st.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-st.done:
			return fmt.Errorf("site %s closed", st.name)
		}
	}
}
