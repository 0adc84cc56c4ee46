package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill/firedrill/bench/internal/httpload"
	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// Defaults for Options.
const (
	DefaultRuns     = 100_000
	DefaultRate     = 200.0
	DefaultDuration = time.Minute
	DefaultWarmup   = 3 * time.Second
	DefaultRounds   = 15
	DefaultTimeout  = 10 * time.Second
	// TargetRatio is the bound: p99 of each API endpoint at most 5x the /healthz p99.
	TargetRatio = 5.0
	// pageHop is the page size used to walk the cursor chain to the deep page.
	pageHop = 1000
	// adminName is the user the run bootstraps; its token authenticates every API request.
	adminName = "bench-admin"
)

// Endpoint names, in report order.
const (
	EndpointHealthz   = "healthz"
	EndpointRunsFirst = "runs_first"
	EndpointRunsDeep  = "runs_deep"
	EndpointRunShow   = "run_show"
)

// Endpoints lists every endpoint the benchmark knows, in report order.
var Endpoints = []string{EndpointHealthz, EndpointRunsFirst, EndpointRunsDeep, EndpointRunShow}

// Options configures run. A zero field means its default.
type Options struct {
	// DatabaseURL is an empty PostgreSQL database that run migrates and seeds. When empty, run
	// creates a fresh one through AdminURL and drops it at the end (unless KeepDatabase).
	DatabaseURL string
	// AdminURL defaults to storetest.AdminDSN() (FIREDRILL_TEST_DATABASE_URL or the local
	// PostgreSQL).
	AdminURL     string
	KeepDatabase bool
	// Runs, StepsPerRun and MeasurementsPerRun size the history (storetest.Seed). Runs defaults
	// to 100,000; the others to Seed's defaults (20 steps, 3 measurements).
	Runs, StepsPerRun, MeasurementsPerRun int
	// Rate is requests per second, to one endpoint at a time. Defaults to 200.
	Rate float64
	// Duration is the measured time per endpoint, split into Rounds slices; the endpoints take
	// turns, in a new random order each round, so that machine noise hits all alike.
	// Defaults to 1m (12,000 requests at 200/s: a p99 is then the 120th slowest, which one
	// pause of a shared machine does not decide alone) and 15 rounds: the endpoints take turns
	// every 4s, so a burst of other load lands on all of them alike.
	Duration time.Duration
	Rounds   int
	// Warmup is the unrecorded load per endpoint before anything is measured. Defaults to 3s.
	Warmup time.Duration
	// DeepOffset is how many runs the deep page skips (the page after them is measured).
	// Defaults to 90% of Runs.
	DeepOffset int
	// Endpoints to measure; default all. The /healthz baseline is always measured.
	Endpoints []string
	// Seed orders the rounds and draws the run IDs; 0 picks one at random.
	Seed uint64
	// Binary is a firedrill binary to run; default: built from this tree into WorkDir.
	Binary string
	// WorkDir holds the binary and the server's log; default a temporary directory, removed
	// at the end.
	WorkDir string
	// Timeout bounds one request. Defaults to 10s.
	Timeout time.Duration
	// WatchTokenUse polls GET /api/v1/tokens once a second while measuring and reports when
	// the server wrote the token's last use (at most once a minute), to line those writes up
	// with the stalls. Off by default: it adds a request a second.
	WatchTokenUse bool
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (o Options) withDefaults() (Options, error) {
	if o.Runs < 0 || o.Rate < 0 || o.Duration < 0 || o.Rounds < 0 || o.Warmup < 0 || o.DeepOffset < 0 || o.Timeout < 0 {
		return o, errors.New("api bench options: sizes must not be negative")
	}
	if o.Runs == 0 {
		o.Runs = DefaultRuns
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Rounds == 0 {
		o.Rounds = DefaultRounds
	}
	if o.Warmup == 0 {
		o.Warmup = DefaultWarmup
	}
	if o.DeepOffset == 0 {
		o.DeepOffset = o.Runs * 9 / 10
	}
	if o.DeepOffset >= o.Runs {
		return o, fmt.Errorf("api bench options: DeepOffset %d must be below Runs %d", o.DeepOffset, o.Runs)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if len(o.Endpoints) == 0 {
		o.Endpoints = Endpoints
	}
	for _, e := range o.Endpoints {
		if !slices.Contains(Endpoints, e) {
			return o, fmt.Errorf("api bench options: unknown endpoint %q (known: %s)", e, strings.Join(Endpoints, ", "))
		}
	}
	if !slices.Contains(o.Endpoints, EndpointHealthz) {
		o.Endpoints = append([]string{EndpointHealthz}, o.Endpoints...)
	}
	if o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o, nil
}

func (o Options) perSlice() int {
	return max(1, int(o.Rate*o.Duration.Seconds()/float64(o.Rounds)))
}

// run performs the whole benchmark once and returns its report.
func run(ctx context.Context, opt Options) (*Report, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{Options: opt, Started: time.Now(), Machine: httpload.MachineInfo()}
	logf := func(format string, args ...any) { fmt.Fprintf(opt.Log, "api bench: "+format+"\n", args...) }

	kept := ""
	if opt.KeepDatabase {
		kept = "database %s is kept"
	}
	workDir, dsn, cleanup, err := httpload.Scratch(ctx, opt.WorkDir, opt.DatabaseURL, opt.AdminURL, "bench_api", kept, logf)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	opt.WorkDir = workDir
	rep.PostgresVersion, _ = storetest.ServerVersion(ctx, dsn)

	// Build first: a build running next to the seeding would slow both and blur the seeding
	// time in the report.
	bin := opt.Binary
	if bin == "" {
		logf("building cmd/firedrill")
		if bin, err = httpload.BuildFiredrill(ctx, opt.WorkDir); err != nil {
			return nil, err
		}
	}
	token, tokenID, err := prepareDatabase(ctx, dsn, opt, rep, logf)
	if err != nil {
		return nil, err
	}

	rep.LoadBefore = httpload.LoadAverage()
	srv, err := httpload.StartServer(ctx, bin, opt.WorkDir, dsn)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			logf("stop server: %v", err)
		}
	}()
	logf("server at %s (pid %d), log %s", srv.Base, srv.Pid(), srv.LogPath)
	ld := httpload.NewLoader(srv.Base, http.Header{"Authorization": {"Bearer " + token}}, opt.Timeout)
	defer ld.Close()

	targets, err := prepareTargets(ctx, ld, opt, rep, logf)
	if err != nil {
		return nil, fmt.Errorf("%w (server log %s:\n%s)", err, srv.LogPath, srv.LogTail())
	}

	var started func()
	if opt.WatchTokenUse && token != "" {
		wctx, stopWatch := context.WithCancel(ctx)
		done := make(chan []time.Time, 1)
		started = func() { go func() { done <- watchTokenUse(wctx, ld, tokenID) }() }
		defer func() {
			stopWatch()
			rep.TokenUses = <-done
		}()
	}
	m, err := httpload.Measure(ctx, ld, srv, targets, httpload.Plan{Rate: opt.Rate, Warmup: opt.Warmup, PerSlice: opt.perSlice(), Rounds: opt.Rounds, Seed: opt.Seed}, started, logf)
	if err != nil {
		return nil, err
	}
	rep.Measurement = *m
	rep.Wall = time.Since(rep.Started)
	rep.LoadAfter = httpload.LoadAverage()
	return rep, nil
}

// prepareDatabase migrates and seeds the database and bootstraps the admin whose token the
// load uses.
func prepareDatabase(ctx context.Context, dsn string, opt Options, rep *Report, logf func(string, ...any)) (string, string, error) {
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		return "", "", err
	}
	defer st.Close()
	if _, err := st.MigrateUp(ctx); err != nil {
		return "", "", fmt.Errorf("migrate %s: %w", store.RedactURL(dsn), err)
	}
	logf("seeding %d runs", opt.Runs)
	seed, err := storetest.Seed(ctx, dsn, &storetest.SeedParams{
		Runs: opt.Runs, StepsPerRun: opt.StepsPerRun, MeasurementsPerRun: opt.MeasurementsPerRun,
	})
	if err != nil {
		return "", "", err
	}
	rep.Seed = *seed
	logf("seeded %d runs, %d step results, %d measurements, %d events in %s (+ %s VACUUM ANALYZE)",
		seed.Runs, seed.Steps, seed.Measurements, seed.Events, seed.Took.Round(time.Millisecond), seed.Analyze.Round(time.Millisecond))
	if slices.Equal(opt.Endpoints, []string{EndpointHealthz}) {
		return "", "", nil
	}
	ctl, err := control.New(control.Config{Store: st})
	if err != nil {
		return "", "", err
	}
	tok, err := ctl.Bootstrap(ctx, &control.BootstrapParams{
		Name: adminName,
		By:   drills.Actor{Kind: drills.ActorLocal, Name: "bench", Via: drills.ViaCLI},
	})
	if err != nil {
		return "", "", fmt.Errorf("bootstrap %s: %w", adminName, err)
	}
	return tok.Secret, tok.ID, nil
}

// prepareTargets checks that every endpoint answers what the seeded data says it should, and
// walks the cursor chain to the deep page.
func prepareTargets(ctx context.Context, ld *httpload.Loader, opt Options, rep *Report, logf func(string, ...any)) ([]httpload.Target, error) {
	rng := rand.New(rand.NewPCG(opt.Seed, 2))
	ids := make([]int, 1<<16)
	for i := range ids {
		ids[i] = rng.IntN(opt.Runs)
	}
	var out []httpload.Target
	for _, name := range opt.Endpoints {
		var t httpload.Target
		switch name {
		case EndpointHealthz:
			t = httpload.Target{Name: name, Path: func(int) string { return "/healthz" }}
		case EndpointRunsFirst:
			t = httpload.Target{Name: name, Auth: true, Path: func(int) string { return "/api/v1/runs" }}
			var page control.RunList
			if err := ld.GetJSON(ctx, "/api/v1/runs", &page); err != nil {
				return nil, err
			}
			if len(page.Runs) != store.DefaultRunListLimit || page.Runs[0].ID != storetest.SeedRunID(opt.Runs-1) {
				return nil, fmt.Errorf("GET /api/v1/runs: %d runs, first %q; want %d, first %s",
					len(page.Runs), firstID(page), store.DefaultRunListLimit, storetest.SeedRunID(opt.Runs-1))
			}
		case EndpointRunsDeep:
			start := time.Now()
			cursor, hops, err := walkCursor(ctx, ld, opt.DeepOffset)
			if err != nil {
				return nil, err
			}
			logf("deep cursor after %d runs: %d pages in %s", opt.DeepOffset, hops, time.Since(start).Round(time.Millisecond))
			path := "/api/v1/runs?cursor=" + url.QueryEscape(cursor)
			t = httpload.Target{Name: name, Auth: true, Path: func(int) string { return path }}
			var page control.RunList
			if err := ld.GetJSON(ctx, path, &page); err != nil {
				return nil, err
			}
			if want := storetest.SeedRunID(opt.Runs - 1 - opt.DeepOffset); len(page.Runs) == 0 || page.Runs[0].ID != want {
				return nil, fmt.Errorf("GET %s: first run %q, want %s", path, firstID(page), want)
			}
			rep.DeepPath = path
		case EndpointRunShow:
			t = httpload.Target{Name: name, Auth: true, Path: func(i int) string {
				return "/api/v1/runs/" + storetest.SeedRunID(ids[i%len(ids)])
			}}
			// Check a run that needed approval and one that did not.
			for _, i := range []int{0, 1} {
				var v control.RunView
				path := "/api/v1/runs/" + storetest.SeedRunID(i)
				if err := ld.GetJSON(ctx, path, &v); err != nil {
					return nil, err
				}
				steps := cmpOr(opt.StepsPerRun, storetest.DefaultSeedStepsPerRun)
				events := storetest.SeedRunEvents(i, opt.StepsPerRun)
				approvals := map[bool]int{true: 2}[i%4 == 0]
				if len(v.Steps) != steps || len(v.Timeline) != events || len(v.Approvals) != approvals || len(v.Services) == 0 {
					return nil, fmt.Errorf("GET %s: %d steps, %d events, %d approvals, %d services; want %d, %d, %d and some",
						path, len(v.Steps), len(v.Timeline), len(v.Approvals), len(v.Services), steps, events, approvals)
				}
			}
		}
		out = append(out, t)
	}
	// The sizes of the answers, for the report.
	for _, t := range out {
		s := ld.Get(ctx, t, 0, time.Now())
		if s.Err != nil {
			return nil, s.Err
		}
		rep.Bytes = append(rep.Bytes, s.Bytes)
	}
	return out, nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func firstID(p control.RunList) string {
	if len(p.Runs) == 0 {
		return ""
	}
	return p.Runs[0].ID
}

// walkCursor follows next_cursor from the first page, pageHop runs at a time, until offset
// runs are behind it, and returns the cursor of the page that comes next.
func walkCursor(ctx context.Context, ld *httpload.Loader, offset int) (string, int, error) {
	cursor, seen, hops := "", 0, 0
	for seen < offset {
		q := url.Values{"limit": {strconv.Itoa(min(pageHop, offset-seen))}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page control.RunList
		if err := ld.GetJSON(ctx, "/api/v1/runs?"+q.Encode(), &page); err != nil {
			return "", hops, err
		}
		hops++
		seen += len(page.Runs)
		if page.NextCursor == "" {
			return "", hops, fmt.Errorf("run list ended after %d runs, before %d", seen, offset)
		}
		cursor = page.NextCursor
	}
	return cursor, hops, nil
}

// watchTokenUse polls the token list once a second until ctx ends and returns each distinct
// last use the server recorded for the token id.
func watchTokenUse(ctx context.Context, ld *httpload.Loader, id string) []time.Time {
	var out []time.Time
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var list struct {
			Tokens []control.TokenView `json:"tokens"`
		}
		if err := ld.GetJSON(ctx, "/api/v1/tokens", &list); err == nil {
			for _, t := range list.Tokens {
				if t.ID == id && t.LastUsedAt != nil && (len(out) == 0 || !out[len(out)-1].Equal(*t.LastUsedAt)) {
					out = append(out, *t.LastUsedAt)
				}
			}
		}
		select {
		case <-ctx.Done():
			return out
		case <-tick.C:
		}
	}
}
