package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Options size a measurement. Zero fields take the defaults in brackets.
type Options struct {
	// DatabaseURL is a migrated, empty database; [a SQLite file in Dir].
	DatabaseURL string
	// Dir holds the SQLite file when DatabaseURL is empty. Required then.
	Dir string
	// Schedules is how many schedules [10000]; each fires monthly at a random day, hour and
	// minute, in one of four time zones.
	Schedules int
	// Days is the simulated period [365].
	Days int
	// Seed makes the schedules reproducible [1].
	Seed uint64
	// Clustered: every schedule fires at the same instant (09:00 UTC on the 1st of each month),
	// the co-due case; otherwise each fires at a random day, hour and minute (uniform).
	Clustered bool
	// Progress, optional, is told how far the simulation got.
	Progress func(done, total int)
}

// Report is what a measurement found.
type Report struct {
	Layout                   string
	Schedules, Fires, Passes int
	// Expected is the fires the period holds; Duplicates counts fires whose run was reported
	// more than once (exactly-once means Fires == Expected and Duplicates == 0).
	Expected, Duplicates      int
	Wall, CPU                 time.Duration
	FiresPerSecond            float64
	SkewP50, SkewP99, SkewMax time.Duration
}

// Markdown renders the report as a table.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString(MarkdownHeader)
	b.WriteString(r.MarkdownRow())
	return b.String()
}

// MarkdownHeader is the head of the table MarkdownRow adds a line to.
const MarkdownHeader = "| layout | schedules | fires (expected) | duplicates | passes | wall | CPU | fires/s | skew p50 | skew p99 | skew max |\n" +
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"

// MarkdownRow is the report as one line of the MarkdownHeader table.
func (r *Report) MarkdownRow() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s | %d | %d (%d) | %d | %d | %s | %s | %.0f | %s | %s | %s |\n", r.Layout, r.Schedules, r.Fires, r.Expected, r.Duplicates, r.Passes,
		r.Wall.Round(time.Millisecond), r.CPU.Round(time.Millisecond), r.FiresPerSecond,
		r.SkewP50.Round(time.Microsecond), r.SkewP99.Round(time.Microsecond), r.SkewMax.Round(time.Microsecond))
	return b.String()
}

const planSource = `plan "bench" {
  from     = "a"
  to       = "b"
  services = ["svc"]
  step "lose" {
    action    = "nomad.stop_job"
    site      = "a"
    for_each  = ["svc"]
    milestone = "disaster"
  }
  step "start" {
    action   = "nomad.run_job"
    site     = "b"
    for_each = ["svc"]
  }
  step "verify" {
    action    = "http.wait_healthy"
    site      = "b"
    milestone = "restored"
    timeout   = "1m"
  }
  rollback        = "none"
  rollback_reason = "a benchmark: the sites are simulated"
}
`

func estateSource(n int, seed uint64, clustered bool) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	zones := []string{"Asia/Seoul", "Europe/London", "America/New_York", "UTC"}
	var b strings.Builder
	b.WriteString(`site "a" {
  role    = "primary"
  ingress = "http://127.0.0.1:1"
  nomad {
    address = "http://127.0.0.1:1"
    region  = "r1"
  }
}
site "b" {
  role    = "dr"
  ingress = "http://127.0.0.1:2"
  nomad {
    address = "http://127.0.0.1:2"
    region  = "r2"
  }
}
service "svc" {
  criticality = "core"
  rto         = "1h"
  rpo         = "0s"
  check "http" { url = "{ingress}/healthz" }
}
`)
	for i := range n {
		if clustered {
			fmt.Fprintf(&b, "schedule \"s%05d\" {\n  plan = \"bench.hcl\"\n  cron = \"0 9 1 * *\"\n  time_zone = \"UTC\"\n}\n", i)
			continue
		}
		fmt.Fprintf(&b, "schedule \"s%05d\" {\n  plan = \"bench.hcl\"\n  cron = \"%d %d %d * *\"\n  time_zone = %q\n}\n",
			i, rng.IntN(60), rng.IntN(24), 1+rng.IntN(28), zones[rng.IntN(len(zones))])
	}
	return []byte(b.String())
}

// Run performs the measurement.
func Run(ctx context.Context, opt Options) (*Report, error) {
	if opt.Schedules == 0 {
		opt.Schedules = 10000
	}
	if opt.Days == 0 {
		opt.Days = 365
	}
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	if opt.DatabaseURL == "" {
		if opt.Dir == "" {
			return nil, fmt.Errorf("bench scheduler: Dir or DatabaseURL is required")
		}
		opt.DatabaseURL = "sqlite:" + filepath.Join(opt.Dir, "bench.db")
	}
	src := estateSource(opt.Schedules, opt.Seed, opt.Clustered)
	cfg, diags := drills.ParseEstate(src, "bench.hcl")
	if diags.HasErrors() {
		return nil, diags
	}
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, opt.Days)
	clk := clocktest.New(start)
	st, err := store.Open(ctx, store.Config{DatabaseURL: opt.DatabaseURL, Clock: clk})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := st.MigrateUp(ctx); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var passStart time.Time
	var skews []time.Duration
	reported := make(map[string]int)
	s, err := scheduler.New(scheduler.Config{
		Store: st, Estate: cfg, EstateSource: src, Clock: clk, Owner: "bench",
		// Parsed at each call, as the product's loader reads and parses the plan's file.
		LoadPlan: func(string) (*drills.Plan, []byte, error) {
			plan, diags := drills.ParsePlan([]byte(planSource), "bench.hcl")
			if diags.HasErrors() {
				return nil, nil, diags
			}
			return plan, []byte(planSource), nil
		},
		// The clock jumps from fire to fire, days apart: a lease and a grace longer than any jump.
		LeaseFor: 365 * 24 * time.Hour, Tick: time.Hour, MissedGrace: 24 * time.Hour,
		OnFire: func(_ context.Context, run *store.Run) {
			mu.Lock()
			skews = append(skews, time.Since(passStart))
			reported[run.ScheduleName+"@"+run.FireTime.Format(time.RFC3339)]++
			mu.Unlock()
		},
	})
	if err != nil {
		return nil, err
	}
	defer s.Stop()
	if err := s.Tick(ctx); err != nil {
		return nil, err
	}
	// The instants the scheduler's loop would wake at: every fire of the period.
	var instants []time.Time
	for _, sch := range cfg.Schedules {
		for _, f := range cfg.Fires(sch, start, end) {
			instants = append(instants, f.At)
		}
	}
	slices.SortFunc(instants, func(a, b time.Time) int { return a.Compare(b) })
	instants = slices.CompactFunc(instants, func(a, b time.Time) bool { return a.Equal(b) })

	cpu0 := cpuTime()
	wall0 := time.Now()
	for i, at := range instants {
		clk.Set(at)
		mu.Lock()
		passStart = time.Now()
		mu.Unlock()
		if err := s.Tick(ctx); err != nil {
			return nil, err
		}
		if opt.Progress != nil && (i%1000 == 0 || i == len(instants)-1) {
			opt.Progress(i+1, len(instants))
		}
	}
	wall := time.Since(wall0)
	rep := &Report{Layout: "uniform", Schedules: opt.Schedules, Fires: len(reported), Passes: len(instants), Wall: wall, CPU: cpuTime() - cpu0}
	if opt.Clustered {
		rep.Layout = "clustered"
	}
	for _, sch := range cfg.Schedules {
		// The first fire is anchored after the start: one at the start itself is not expected.
		rep.Expected += len(cfg.Fires(sch, start, end))
	}
	for _, n := range reported {
		if n > 1 {
			rep.Duplicates++
		}
	}
	rep.FiresPerSecond = float64(rep.Fires) / wall.Seconds()
	slices.Sort(skews)
	if n := len(skews); n > 0 {
		rep.SkewP50, rep.SkewP99, rep.SkewMax = skews[n/2], skews[min(n-1, n*99/100)], skews[n-1]
	}
	return rep, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
