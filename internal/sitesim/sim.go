package sitesim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/nomadacl"
)

// Defaults applied by Start to zero Config fields.
const (
	DefaultStartDelay        = 150 * time.Millisecond
	DefaultHealthDelay       = 150 * time.Millisecond
	DefaultHeartbeatInterval = 30 * time.Second
	DefaultNodes             = 3
	DefaultGroup             = "app"
	DefaultListen            = "127.0.0.1:0"
	DefaultRegion            = "global"
	DefaultDatacenter        = "dc1"
	DefaultNamespace         = "default"
)

// Config describes the simulated sites.
type Config struct {
	Sites []SiteConfig
	// StartDelay is how long an allocation stays pending before it runs. Defaults to 150ms.
	StartDelay time.Duration
	// HealthDelay is how long a running allocation takes to be marked healthy. Defaults to 150ms.
	HealthDelay time.Duration
	// HeartbeatInterval is how often the event stream sends its `{}` heartbeat. Defaults to 30s.
	HeartbeatInterval time.Duration
	// Logger defaults to a logger that discards everything.
	Logger *slog.Logger
	// ReplicationLag is how long a write to a toy service takes to reach the other sites
	// (asynchronous replication; see the canary endpoint). Defaults to
	// DefaultReplicationLag; negative means synchronous.
	ReplicationLag time.Duration
	// Clock stamps times (alloc and deployment times, HealthyAt). Defaults to clock.Real.
	// The life-cycle delays use real timers whatever the clock.
	Clock clock.Clock
}

// SiteConfig describes one site.
type SiteConfig struct {
	// Name is the site's name; required and unique.
	Name string
	// Region is the Nomad region. Defaults to "global".
	Region string
	// Datacenter is the datacenter of the site's client nodes. Defaults to "dc1".
	Datacenter string
	// NomadListen and IngressListen are host:port to listen on. Default to "127.0.0.1:0"
	// (an ephemeral port).
	NomadListen   string
	IngressListen string
	// Token, if non-empty, is the only ACL token the Nomad API accepts (X-Nomad-Token or
	// Authorization: Bearer); other requests get 403 "Permission denied".
	Token string
	// Tokens are further ACL tokens the site accepts, each limited to what its policies
	// allow (Nomad's ACL policy rules: namespace and node blocks); a request they do not
	// allow gets 403 "Permission denied". Token is the management token beside them.
	Tokens []TokenConfig
	// Nodes is the number of client nodes in the datacenter. Defaults to 3.
	Nodes int
	Jobs  []JobConfig
}

// TokenConfig is a client ACL token of a site and the policies attached to it.
type TokenConfig struct {
	// Secret is the token's secret ID; Name its name.
	Secret, Name string
	// Policies are the token's policies: name to rules (HCL), e.g.
	// `namespace "default" { policy = "read" }` and `node { policy = "read" }`.
	Policies map[string]string
}

// JobConfig describes a job registered on a site at start, in the default namespace.
type JobConfig struct {
	// ID is the job ID; required and unique on the site.
	ID string
	// Group is the task group's name. Defaults to "app".
	Group string
	// Count is the group's count. Defaults to 1.
	Count int
	// Running: true means registered and running at start, settled and healthy (a primary);
	// false means registered but stopped (a pilot light: Stop=true, Status dead).
	Running bool
	// DependsOn lists job IDs on the same site: the toy service of this job is healthy only
	// when its own allocations are healthy and these jobs are healthy on the site.
	DependsOn []string
}

// Sim is a set of running simulated sites.
type Sim struct {
	sites     []*Site
	byName    map[string]*Site
	stopCtx   func() bool
	closeOnce sync.Once
	closeErr  error
	data      *data
}

// Start validates cfg, applies defaults and starts every site's listeners. The sites run
// until Close, or until ctx is done.
func Start(ctx context.Context, cfg Config) (*Sim, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	sim := &Sim{byName: make(map[string]*Site)}
	sim.data = &data{lag: cfg.ReplicationLag, clock: cfg.Clock, sites: func() []*Site { return sim.sites },
		last: map[string]map[string]map[string]dataMarker{}}
	for _, sc := range cfg.Sites {
		st := newSite(cfg, sc)
		st.data = sim.data
		if err := st.start(ctx); err != nil {
			_ = sim.Close()
			return nil, fmt.Errorf("start site %s: %w", sc.Name, err)
		}
		sim.sites = append(sim.sites, st)
		sim.byName[sc.Name] = st
	}
	sim.stopCtx = context.AfterFunc(ctx, func() { _ = sim.Close() })
	return sim, nil
}

func (c Config) withDefaults() (Config, error) {
	if c.StartDelay < 0 || c.HealthDelay < 0 || c.HeartbeatInterval < 0 {
		return c, errors.New("sitesim: StartDelay, HealthDelay and HeartbeatInterval must not be negative")
	}
	if c.ReplicationLag == 0 {
		c.ReplicationLag = DefaultReplicationLag
	}
	if c.StartDelay == 0 {
		c.StartDelay = DefaultStartDelay
	}
	if c.HealthDelay == 0 {
		c.HealthDelay = DefaultHealthDelay
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if len(c.Sites) == 0 {
		return c, errors.New("sitesim: Sites: at least one site is required")
	}
	sites := make([]SiteConfig, len(c.Sites))
	seen := make(map[string]bool)
	for i, sc := range c.Sites {
		if sc.Name == "" {
			return c, fmt.Errorf("sitesim: Sites[%d].Name is required", i)
		}
		if seen[sc.Name] {
			return c, fmt.Errorf("sitesim: Sites[%d].Name %q is not unique", i, sc.Name)
		}
		seen[sc.Name] = true
		for j, tc := range sc.Tokens {
			if tc.Secret == "" || tc.Secret == sc.Token {
				return c, fmt.Errorf("sitesim: Sites[%d].Tokens[%d].Secret must be set and differ from the management Token", i, j)
			}
			for name, rules := range tc.Policies {
				if _, err := nomadacl.Parse(rules); err != nil {
					return c, fmt.Errorf("sitesim: Sites[%d].Tokens[%d] policy %s: %w", i, j, name, err)
				}
			}
		}
		if sc.Region == "" {
			sc.Region = DefaultRegion
		}
		if sc.Datacenter == "" {
			sc.Datacenter = DefaultDatacenter
		}
		if sc.NomadListen == "" {
			sc.NomadListen = DefaultListen
		}
		if sc.IngressListen == "" {
			sc.IngressListen = DefaultListen
		}
		if sc.Nodes < 0 {
			return c, fmt.Errorf("sitesim: site %s: Nodes must not be negative", sc.Name)
		}
		if sc.Nodes == 0 {
			sc.Nodes = DefaultNodes
		}
		jobs := make([]JobConfig, len(sc.Jobs))
		ids := make(map[string]bool)
		for j, jc := range sc.Jobs {
			if jc.ID == "" {
				return c, fmt.Errorf("sitesim: site %s: Jobs[%d].ID is required", sc.Name, j)
			}
			if ids[jc.ID] {
				return c, fmt.Errorf("sitesim: site %s: job ID %q is not unique", sc.Name, jc.ID)
			}
			ids[jc.ID] = true
			if jc.Group == "" {
				jc.Group = DefaultGroup
			}
			if jc.Count < 0 {
				return c, fmt.Errorf("sitesim: site %s: job %s: Count must not be negative", sc.Name, jc.ID)
			}
			if jc.Count == 0 {
				jc.Count = 1
			}
			jc.DependsOn = append([]string(nil), jc.DependsOn...)
			jobs[j] = jc
		}
		for _, jc := range jobs {
			for _, d := range jc.DependsOn {
				if !ids[d] {
					return c, fmt.Errorf("sitesim: site %s: job %s depends on unknown job %q", sc.Name, jc.ID, d)
				}
			}
		}
		sc.Jobs = jobs
		sites[i] = sc
	}
	c.Sites = sites
	return c, nil
}

// Site returns the site named name, or nil.
func (s *Sim) Site(name string) *Site { return s.byName[name] }

// Sites returns the sites in configuration order.
func (s *Sim) Sites() []*Site { return append([]*Site(nil), s.sites...) }

// Close stops every site and waits for their goroutines. It is idempotent.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		if s.stopCtx != nil {
			s.stopCtx()
		}
		var errs []error
		for _, st := range s.sites {
			if err := st.close(); err != nil {
				errs = append(errs, fmt.Errorf("close site %s: %w", st.name, err))
			}
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
