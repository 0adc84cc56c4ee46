package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	DefaultDuration = 30 * time.Second
	DefaultWarmup   = 3 * time.Second
	DefaultRounds   = 10
	DefaultTimeout  = 10 * time.Second
	// TargetRatio is the bound: each page's p99 at most 5x the /healthz p99.
	TargetRatio = 5.0
	// seedEvery puts 100,000 runs within the year before storetest.SeedNewest.
	seedEvery = 5 * time.Minute
	// adminName signs in; adminPassword is its console password (the policy wants 12+).
	adminName     = "bench-admin"
	adminPassword = "bench console password 10"
	// historyService is the service whose history page is measured.
	historyService = "svc-02"
)

// Endpoint names, in report order.
const (
	EndpointHealthz   = "healthz"
	EndpointDashboard = "dashboard"
	EndpointRuns      = "runs"
	EndpointRun       = "run"
	EndpointHistory   = "history"
)

// Endpoints lists every endpoint the benchmark knows, in report order.
var Endpoints = []string{EndpointHealthz, EndpointDashboard, EndpointRuns, EndpointRun, EndpointHistory}

// Options configures run. A zero field means its default.
type Options struct {
	// DatabaseURL is a PostgreSQL database to use: empty, unless Seeded. When empty, run
	// creates a fresh one through AdminURL and drops it at the end (unless KeepDatabase).
	DatabaseURL string
	// Seeded says DatabaseURL already holds the history this benchmark seeds (one kept with
	// KeepDatabase): run neither seeds it nor creates the admin again.
	Seeded       bool
	AdminURL     string
	KeepDatabase bool
	// Runs, StepsPerRun and MeasurementsPerRun size the history (storetest.SeedAudited).
	Runs, StepsPerRun, MeasurementsPerRun int
	// Rate is requests per second, to one endpoint at a time.
	Rate float64
	// Duration is the measured time per endpoint, split into Rounds slices; the endpoints
	// take turns, in a new random order each round, so that machine noise hits all alike.
	Duration time.Duration
	Rounds   int
	// Warmup is the unrecorded load per endpoint before anything is measured.
	Warmup time.Duration
	// Endpoints to measure; default all. /healthz is always measured.
	Endpoints []string
	// Seed orders the rounds and draws the run IDs; 0 picks one at random.
	Seed uint64
	// Binary is a firedrill binary to run; default: built from this tree into WorkDir.
	Binary string
	// WorkDir holds the binary, the estate, the signing key and the server's log; default a
	// temporary directory, removed at the end.
	WorkDir string
	Timeout time.Duration
	Log     io.Writer
}

func (o Options) withDefaults() (Options, error) {
	if o.Runs < 0 || o.Rate < 0 || o.Duration < 0 || o.Rounds < 0 || o.Warmup < 0 || o.Timeout < 0 {
		return o, errors.New("console bench options: sizes must not be negative")
	}
	if o.Seeded && o.DatabaseURL == "" {
		return o, errors.New("console bench options: a seeded database needs its URL")
	}
	o.Runs = cmpOr(o.Runs, DefaultRuns)
	o.Rate = cmp0(o.Rate, DefaultRate)
	o.Duration = cmp0(o.Duration, DefaultDuration)
	o.Rounds = cmpOr(o.Rounds, DefaultRounds)
	o.Warmup = cmp0(o.Warmup, DefaultWarmup)
	o.Timeout = cmp0(o.Timeout, DefaultTimeout)
	if len(o.Endpoints) == 0 {
		o.Endpoints = Endpoints
	}
	for _, e := range o.Endpoints {
		if !slices.Contains(Endpoints, e) {
			return o, fmt.Errorf("console bench options: unknown endpoint %q (known: %s)", e, strings.Join(Endpoints, ", "))
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

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func cmp0[T float64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
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
	logf := func(format string, args ...any) { fmt.Fprintf(opt.Log, "console bench: "+format+"\n", args...) }
	kept := ""
	if opt.KeepDatabase {
		kept = "database %s is kept (rerun with -database-url and -seeded)"
	}
	workDir, dsn, cleanup, err := httpload.Scratch(ctx, opt.WorkDir, opt.DatabaseURL, opt.AdminURL, "bench_console", kept, logf)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	opt.WorkDir = workDir
	rep.PostgresVersion, _ = storetest.ServerVersion(ctx, dsn)
	bin := opt.Binary
	if bin == "" {
		logf("building cmd/firedrill")
		if bin, err = httpload.BuildFiredrill(ctx, opt.WorkDir); err != nil {
			return nil, err
		}
	}
	if !opt.Seeded {
		if err := prepareDatabase(ctx, dsn, opt, rep, logf); err != nil {
			return nil, err
		}
	}
	estate := filepath.Join(opt.WorkDir, "firedrill.hcl")
	if err := os.WriteFile(estate, storetest.SeedEstateHCL, 0o644); err != nil {
		return nil, err
	}
	rep.LoadBefore = httpload.LoadAverage()
	srv, err := httpload.StartServer(ctx, bin, opt.WorkDir, dsn, "--config", estate,
		"--signing-key", filepath.Join(opt.WorkDir, "signing-key.pem"), "--institution", "Bench Bank")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			logf("stop server: %v", err)
		}
	}()
	logf("server at %s (pid %d), log %s", srv.Base, srv.Pid(), srv.LogPath)
	cookie, err := signIn(ctx, srv.Base, opt.Timeout)
	if err != nil {
		return nil, fmt.Errorf("%w (server log %s:\n%s)", err, srv.LogPath, srv.LogTail())
	}
	ld := httpload.NewLoader(srv.Base, http.Header{"Cookie": {cookie}}, opt.Timeout)
	defer ld.Close()
	targets, err := prepareTargets(ctx, ld, opt, rep)
	if err != nil {
		return nil, fmt.Errorf("%w (server log %s:\n%s)", err, srv.LogPath, srv.LogTail())
	}

	m, err := httpload.Measure(ctx, ld, srv, targets, httpload.Plan{Rate: opt.Rate, Warmup: opt.Warmup, PerSlice: opt.perSlice(), Rounds: opt.Rounds, Seed: opt.Seed}, nil, logf)
	if err != nil {
		return nil, err
	}
	rep.Measurement = *m
	rep.Wall = time.Since(rep.Started)
	rep.LoadAfter = httpload.LoadAverage()
	return rep, nil
}

// prepareDatabase migrates and seeds the database and creates the admin who signs in.
func prepareDatabase(ctx context.Context, dsn string, opt Options, rep *Report, logf func(string, ...any)) error {
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.MigrateUp(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", store.RedactURL(dsn), err)
	}
	logf("seeding %d runs with their audit chain", opt.Runs)
	seed, err := storetest.SeedAudited(ctx, dsn, &storetest.SeedParams{
		Runs: opt.Runs, StepsPerRun: opt.StepsPerRun, MeasurementsPerRun: opt.MeasurementsPerRun, Every: seedEvery,
	})
	if err != nil {
		return err
	}
	rep.Seed = seed
	logf("seeded %d runs, %d step results, %d measurements, %d events, %d audit rows in %s (+ %s analyze, %s audit chain)",
		seed.Runs, seed.Steps, seed.Measurements, seed.Events, seed.AuditRows, seed.Took.Round(time.Millisecond),
		seed.Analyze.Round(time.Millisecond), seed.AuditTook.Round(time.Millisecond))
	ctl, err := control.New(control.Config{Store: st})
	if err != nil {
		return err
	}
	tok, err := ctl.Bootstrap(ctx, &control.BootstrapParams{Name: adminName, By: drills.Actor{Kind: drills.ActorLocal, Name: "bench", Via: drills.ViaCLI}})
	if err != nil {
		return fmt.Errorf("bootstrap %s: %w", adminName, err)
	}
	caller, err := ctl.Authenticate(ctx, tok.Secret, drills.ViaCLI)
	if err != nil {
		return err
	}
	if _, err := ctl.PasswordSet(ctx, caller, &control.PasswordSetParams{User: adminName, Password: adminPassword}); err != nil {
		return fmt.Errorf("console password of %s: %w", adminName, err)
	}
	return nil
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn signs the admin in through the console's form, as a browser does, and returns the
// Cookie header that carries the session.
func signIn(ctx context.Context, base string, timeout time.Duration) (string, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", err
	}
	c := &http.Client{Jar: jar, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/login", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET /login: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	m := csrfField.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return "", fmt.Errorf("GET /login: status %d, csrf token found: %t", resp.StatusCode, m != nil)
	}
	form := url.Values{"user": {adminName}, "password": {adminPassword}, "csrf_token": {string(m[1])}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST /login: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("POST /login: status %d, want 303 (signed in)", resp.StatusCode)
	}
	u, err := url.Parse(base + "/")
	if err != nil {
		return "", err
	}
	var parts []string
	for _, ck := range jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	if len(parts) == 0 {
		return "", errors.New("POST /login set no session cookie")
	}
	return strings.Join(parts, "; "), nil
}

// pageChecks are what each page must show of the seeded history, so that a page that answers
// 200 with nothing in it (a failed read, a missing estate) is not measured as fast.
var pageChecks = map[string][]string{
	EndpointDashboard: {`href="/runs/` + "", "svc-02", "svc-03", "svc-04"},
	EndpointRuns:      {`href="/runs/`},
	EndpointRun:       {"svc-02"},
	EndpointHistory:   {`href="/runs/`},
}

// prepareTargets builds the measured requests and checks that every page answers 200 with
// the seeded history in it.
func prepareTargets(ctx context.Context, ld *httpload.Loader, opt Options, rep *Report) ([]httpload.Target, error) {
	rng := rand.New(rand.NewPCG(opt.Seed, 2))
	ids := make([]int, 1<<16)
	for i := range ids {
		ids[i] = rng.IntN(opt.Runs)
	}
	var out []httpload.Target
	for _, name := range opt.Endpoints {
		t := httpload.Target{Name: name, Auth: true}
		switch name {
		case EndpointHealthz:
			t = httpload.Target{Name: name, Path: func(int) string { return "/healthz" }}
		case EndpointDashboard:
			t.Path = func(int) string { return "/" }
		case EndpointRuns:
			t.Path = func(int) string { return "/runs" }
		case EndpointRun:
			t.Path = func(i int) string { return "/runs/" + storetest.SeedRunID(ids[i%len(ids)]) }
		case EndpointHistory:
			t.Path = func(int) string { return "/services/" + historyService }
		}
		start := time.Now()
		body, err := ld.GetBody(ctx, t.Path(0), t.Auth)
		if err != nil {
			return nil, err
		}
		rep.Alone = append(rep.Alone, time.Since(start))
		for _, want := range pageChecks[name] {
			if !strings.Contains(body, want) {
				return nil, fmt.Errorf("GET %s: the page lacks %q:\n%.2000s", t.Path(0), want, body)
			}
		}
		if name == EndpointDashboard && strings.Contains(body, "does not evaluate compliance") {
			return nil, fmt.Errorf("GET /: the dashboard evaluates no compliance")
		}
		rep.Bytes = append(rep.Bytes, int64(len(body)))
		out = append(out, t)
	}
	return out, nil
}
