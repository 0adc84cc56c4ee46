// Command firedrill schedules and runs disaster-recovery drills and records what they achieved.
//
// The commands people use to act on drills (submit, approve, reject, abort, freeze, step,
// schedule pause|resume, runs, approvals, user, token) are clients of the JSON API that
// `firedrill serve` serves: --address (env FIREDRILL_ADDR) names the server, the API token
// comes from FIREDRILL_TOKEN or --token-file (env FIREDRILL_TOKEN_FILE), and the server decides
// who may do what. Only migrate, user bootstrap, demo, sim and run (on an embedded SQLite
// database) open the database themselves.
//
// Exit codes, mapped from the error's category in one place (exitCode): 0 success; 1 error,
// bad input or a request the server refused (no or a bad token, a missing role, not found, a
// state that does not allow it); 2 the drill ran but failed or missed an objective.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	// Schedules name IANA zones; embed the database so minimal images resolve them.
	_ "time/tzdata"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/internal/runlog"
	"github.com/firedrill/firedrill/internal/serverconfig"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/profiles"
)

// Exit codes, documented in the root command's help.
const (
	exitOK          = 0
	exitError       = 1
	exitDrillFailed = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitCodeError carries a specific exit code up to main; exitCode honours it first.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

// app holds what every command shares: where to print and how to log.
type app struct {
	stdout, stderr io.Writer
	logLevel       string
	logFormat      string
	logger         *slog.Logger
	getenv         func(string) string
	// findingDue is how long after a run ends the findings it reveals are due.
	findingDue time.Duration
	// retestProfile names the regulator profile whose retest deadline findings fall due
	// within, unless --finding-due is given.
	retestProfile string
	// api says which server the API commands talk to and where their token is.
	api apiFlags
	// serverConfig is serve's server configuration file, parsed; nil without one.
	serverConfig *serverconfig.Config
	// metrics is what serve records its Prometheus series into; nil for every other command
	// (and for serve --demo's history, recorded before it is set).
	metrics *metrics.Metrics
}

// run is the CLI's entry point: it runs one command and returns the process's exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return a.execute(ctx, args)
}

// execute runs one command line, prints its error and maps it to an exit code.
func (a *app) execute(ctx context.Context, args []string) int {
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		reportError(a.stderr, err)
	}
	return exitCode(err)
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "firedrill",
		Short: "Disaster-recovery drills that fail over for real and measure RTO and RPO",
		Long: `firedrill runs disaster-recovery drills written as code: it fails services over from a
primary site to a DR site through Nomad, PostgreSQL, HTTP checks and people, measures the
recovery time (RTO) and data loss (RPO) actually achieved, and records every fact.

Every flag can also be set from the environment variable named in its help; a flag given
on the command line wins over the environment, which wins over the default. serve also
reads a server configuration file (--server-config), below the environment and above the
default; firedrill config check validates it.

The commands people act with (submit, approve, reject, abort, freeze, step, schedule,
calendar, runs, finding, approvals, user, token) talk to the JSON API of a firedrill server
(firedrill serve): --address (env FIREDRILL_ADDR, default http://127.0.0.1:8080) names it,
and the API token comes from FIREDRILL_TOKEN or --token-file (env FIREDRILL_TOKEN_FILE).
The token says who you are; the server decides what you may do and records it. An admin
creates tokens with firedrill token create; the first admin gets one from
firedrill user bootstrap. Only migrate, user bootstrap, demo, sim and run (on an embedded
SQLite database) open the database themselves.

Exit codes:
  0  success (for a drill: it ran to the end and met every objective)
  1  error or bad input, or a request the server refused (no or a bad token, a missing
     role, nothing by that name, a state that does not allow it)
  2  the drill ran but failed or missed an objective`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.applyEnv(cmd)
			if err := a.applyServeConfig(cmd); err != nil {
				return err
			}
			logger, err := newLogger(a.stderr, a.logLevel, a.logFormat)
			if err != nil {
				return err
			}
			a.logger = logger
			if err := a.applyRetestProfile(cmd); err != nil {
				return err
			}
			if a.findingDue <= 0 {
				return fmt.Errorf("--finding-due: %s is not a positive duration (default %s, 90 days)", a.findingDue, store.DefaultFindingDue)
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.logLevel, "log-level", "warn", "log level: debug, info, warn or error (env FIREDRILL_LOG_LEVEL)")
	pf.StringVar(&a.logFormat, "log-format", "text", "log format: text or json (env FIREDRILL_LOG_FORMAT)")
	pf.DurationVar(&a.findingDue, "finding-due", store.DefaultFindingDue,
		"how long after a run ends the findings it reveals are due, for the commands that execute runs (serve, run, demo); default 90 days (env FIREDRILL_FINDING_DUE)")
	pf.StringVar(&a.retestProfile, "retest-profile", "",
		"the regulator profile (kr-efsr, eu-dora, ...) whose retest deadline findings fall due within; --finding-due overrides it (env FIREDRILL_RETEST_PROFILE)")
	a.api.register(root)
	root.AddCommand(
		a.demoCommand(),
		a.planCommand(),
		a.runCommand(),
		a.submitCommand(),
		a.stepCommand(),
		a.runsCommand(),
		a.findingCommand(),
		a.userCommand(),
		a.tokenCommand(),
		a.whoamiCommand(),
		a.approvalsCommand(),
		a.approvalCommand("approve"),
		a.approvalCommand("reject"),
		a.freezeCommand(),
		a.abortCommand(),
		a.serveCommand(),
		a.simCommand(),
		a.migrateCommand(),
		a.exportAllCommand(),
		a.importCommand(),
		a.auditCommand(),
		a.scheduleCommand(),
		a.calendarCommand(),
		a.profileCommand(),
		a.versionCommand(),
		a.reportCommand(),
		a.configCommand(),
	)
	return root
}

// envNames are the environment variables whose names are not derived from their flag's:
// FIREDRILL_ADDR, as NOMAD_ADDR.
var envNames = map[string]string{"address": "FIREDRILL_ADDR"}

// envOf names the environment variable of a flag: --database-url -> FIREDRILL_DATABASE_URL.
func envOf(flag string) string {
	if name, ok := envNames[flag]; ok {
		return name
	}
	return "FIREDRILL_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag not given on the command line from its environment variable.
// applyRetestProfile makes the findings a run reveals fall due within the retest deadline of
// the profile --retest-profile names, unless --finding-due (or its variable, or serve's server
// configuration) says otherwise.
func (a *app) applyRetestProfile(cmd *cobra.Command) error {
	if a.retestProfile == "" {
		return nil
	}
	p, err := profiles.Load(a.retestProfile)
	if err != nil {
		return fmt.Errorf("--retest-profile: %w", err)
	}
	_, inFile := a.serverConfig.Value("findings.due")
	if f := cmd.Flag("finding-due"); (f != nil && f.Changed) || a.getenv(envOf("finding-due")) != "" || inFile {
		return nil
	}
	if p.RetestWithin > 0 {
		a.findingDue = p.RetestWithin
	}
	return nil
}

func (a *app) applyEnv(cmd *cobra.Command) {
	apply := func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		if v := a.getenv(envOf(f.Name)); v != "" {
			_ = f.Value.Set(v)
		}
	}
	cmd.Flags().VisitAll(apply)
	cmd.InheritedFlags().VisitAll(apply)
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	// runlog.Handler writes the run_id and step a run's context carries on every line.
	switch format {
	case "text":
		return slog.New(runlog.NewHandler(slog.NewTextHandler(w, opts))), nil
	case "json":
		return slog.New(runlog.NewHandler(slog.NewJSONHandler(w, opts))), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not one of text, json", format)
}
