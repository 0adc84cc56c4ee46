package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/examples"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/sitesim"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// demoInstitution is the name on the demo's reports' cover unless --institution says another.
const demoInstitution = "Demo Bank"

// demoDoc is what serve's help says of --demo.
const demoDoc = `With --demo it needs nothing else: it starts the embedded example estate
(examples/firedrill.hcl, its plan examples/plans/site-loss.hcl) on simulated sites in this
process, a new SQLite database in a temporary directory (or --database-url), a temporary
report signing key, the institution "` + demoInstitution + `" and Seoul as the report time zone.
Before serving it records a year of history by really running the example drill against the
simulated sites, oldest first: the SRE's quarterly drills and the fires of the estate's
schedule (decided by the scheduler), each approved by the demo users; one that fails because
auth does not come up on the DR site (a fault injected into the simulated Nomad), so payments
and remittance, which need it, cannot be restored; the findings it opened, fixed, then
retested and closed by the drill four weeks later; and a kr-efsr report of the period
exported and published. Every record comes from the same operations a person takes; none is
written by hand. The history is recorded on a shifted clock: each drill runs now, for real,
on the wall clock moved back to the date it stands for, so its times and durations are real
and its dates are those of the past year. Then it prints the console's URL and a password for
the admin and for one demo user of each role: new random ones at every start, shown once on
standard output, stored only as argon2id hashes (the console has no forced change at first
sign-in, so one-time means this: they die with the demo database). The simulated sites stay
up: drills asked for through the API or the CLI run against them.`

// demoWorld is what serve --demo runs on: the embedded estate written into a temporary
// directory with the addresses of the simulated sites, the sites' ACL tokens (in memory
// only) and the sites the console's runs go to.
type demoWorld struct {
	dir        string
	estate     *serveEstate
	planSource []byte
	tokens     map[string]string
	// listen is each site's Nomad and ingress host:port: every simulation of the estate
	// (one per historical drill, a fresh estate each time) listens there, so every run
	// records the same estate.
	listen map[string][2]string
	sim    *sitesim.Sim
}

// lookupEnv gives the Nomad actions the simulated sites' tokens, as environment variables
// would.
func (w *demoWorld) lookupEnv(k string) (string, bool) { v, ok := w.tokens[k]; return v, ok }

func (w *demoWorld) secrets() *secret.Resolver { return &secret.Resolver{LookupEnv: w.lookupEnv} }

// Close stops the simulated sites and removes the temporary directory (the database in it
// too, unless --database-url named another).
func (w *demoWorld) Close() {
	if w.sim != nil {
		_ = w.sim.Close()
	}
	_ = os.RemoveAll(w.dir)
}

// newDemoWorld writes the embedded estate and plan into a new temporary directory, pointed
// at simulated sites on free ports of this host, and starts nothing yet.
func (a *app) newDemoWorld(ctx context.Context) (w *demoWorld, err error) {
	estateSrc, err := examples.FS.ReadFile("firedrill.hcl")
	if err != nil {
		return nil, err
	}
	planSrc, err := examples.FS.ReadFile("plans/site-loss.hcl")
	if err != nil {
		return nil, err
	}
	original, diags := drills.ParseEstate(estateSrc, demoEstateFile)
	if diags.HasErrors() {
		return nil, diags
	}
	dir, err := os.MkdirTemp("", "firedrill-serve-demo-")
	if err != nil {
		return nil, err
	}
	w = &demoWorld{dir: dir, planSource: planSrc, tokens: map[string]string{}, listen: map[string][2]string{}}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	for _, s := range original.Sites {
		if s.Nomad != nil && s.Nomad.TokenEnv != "" {
			w.tokens[s.Nomad.TokenEnv] = randomToken()
		}
	}
	// A first simulation on ephemeral ports chooses the addresses; it is closed at once, and
	// every later one listens on the same ports.
	sim, err := w.startSim(ctx, a, original, clock.Real{})
	if err != nil {
		return nil, err
	}
	src := string(estateSrc)
	for _, s := range original.Sites {
		ss := sim.Site(s.Name)
		if ss == nil {
			_ = sim.Close()
			return nil, fmt.Errorf("simulate sites: site %s did not start", s.Name)
		}
		w.listen[s.Name] = [2]string{strings.TrimPrefix(ss.NomadAddress(), "http://"), strings.TrimPrefix(ss.IngressAddress(), "http://")}
		for _, r := range [][2]string{{s.Nomad.Address, ss.NomadAddress()}, {s.Ingress, ss.IngressAddress()}} {
			if strings.Count(src, `"`+r[0]+`"`) != 1 {
				_ = sim.Close()
				return nil, fmt.Errorf("the embedded estate names %s more than once or not at all", r[0])
			}
			src = strings.Replace(src, `"`+r[0]+`"`, `"`+r[1]+`"`, 1)
		}
	}
	if err := sim.Close(); err != nil {
		return nil, fmt.Errorf("simulate sites: %w", err)
	}
	src = "# firedrill serve --demo: examples/firedrill.hcl with the addresses of the sites it simulates.\n" + src
	path := filepath.Join(dir, "firedrill.hcl")
	if err := os.MkdirAll(filepath.Join(dir, "plans"), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "plans", "site-loss.hcl"), planSrc, 0o600); err != nil {
		return nil, err
	}
	cfg, diags := drills.ParseEstate([]byte(src), path)
	if diags.HasErrors() {
		return nil, diags
	}
	w.estate = &serveEstate{path: path, cfg: cfg, src: []byte(src)}
	return w, nil
}

// startSim starts fresh simulated sites of estate on clk: every site back on its primary, as a
// drill finds the estate. After the first call they listen where the first one did.
func (w *demoWorld) startSim(ctx context.Context, a *app, estate *drills.Estate, clk clock.Clock) (*sitesim.Sim, error) {
	cfg, err := sitesim.FromEstate(estate, true, w.lookupEnv)
	if err != nil {
		return nil, fmt.Errorf("simulate sites: %w", err)
	}
	for i := range cfg.Sites {
		if l, ok := w.listen[cfg.Sites[i].Name]; ok {
			cfg.Sites[i].NomadListen, cfg.Sites[i].IngressListen = l[0], l[1]
		}
	}
	cfg.Logger, cfg.Clock = a.logger, clk
	sim, err := sitesim.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("simulate sites: %w", err)
	}
	return sim, nil
}

// demoPassword is a new random password: crypto/rand's 26 base32 characters (130 bits).
func demoPassword() string { return rand.Text() }

// printDemoSignIn tells the newcomer where the console is and how to sign in: on standard
// output only, never in the log.
func printDemoSignIn(out io.Writer, url, signingKey string, users []demoUser, passwords map[string]string) {
	fmt.Fprintf(out, "\nfiredrill demo console: %s\n", url)
	fmt.Fprintln(out, "Sign in as one of these people (new passwords at every start, shown only here):")
	for _, u := range users {
		fmt.Fprintf(out, "  %-15s %-22s %s\n", u.name, passwords[u.name], strings.Join(u.roles, ", "))
	}
	fmt.Fprintf(out, "Reports are signed with %s: firedrill report public-key --signing-key %s gives the key to verify them.\n", signingKey, signingKey)
	fmt.Fprintln(out, "The history was recorded on a shifted clock: drills really run now, dated across the past year.")
}

// errDemoDatabaseUsed refuses to write a demo history into a database that has users.
var errDemoDatabaseUsed = errors.New("serve --demo records its history in a new database, and this one already has an admin: leave out --database-url, or give an empty database")

// demoDeadline bounds producing the history, so a stuck simulation cannot hang the start.
const demoDeadline = 5 * time.Minute

// startDemo prepares serve --demo: the estate and its simulated sites, the database, key and
// institution (the demo's own unless given on the command line: a demo never writes into
// the database FIREDRILL_DATABASE_URL names), then the history, then the sites the console's
// runs go to. It returns the console passwords. serve holds the console's address already.
func (a *app) startDemo(ctx context.Context, flags *pflag.FlagSet, databaseURL *string, ro *reportOptions, so *schedulerOptions) (*demoWorld, map[string]string, error) {
	if flags.Changed("config") {
		return nil, nil, errors.New("--demo serves the embedded example estate: leave out --config")
	}
	w, err := a.newDemoWorld(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !flags.Changed("database-url") {
		*databaseURL = "sqlite:" + filepath.Join(w.dir, "firedrill.db")
	}
	if !flags.Changed("signing-key") {
		ro.signingKey = filepath.Join(w.dir, "report-signing-key.pem")
	}
	if !flags.Changed("institution") {
		ro.institution = demoInstitution
	}
	if !flags.Changed("report-time-zone") {
		ro.timeZone = demoLocation
	}
	so.configPath = w.estate.path
	fmt.Fprintf(a.stderr, "serve --demo: recording a year of drills against simulated sites (on a shifted clock), in %s\n", store.RedactURL(*databaseURL))
	passwords, err := a.recordDemoHistory(ctx, w, *databaseURL, *ro)
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	if w.sim, err = w.startSim(ctx, a, w.estate.cfg, clock.Real{}); err != nil {
		w.Close()
		return nil, nil, err
	}
	return w, passwords, nil
}
