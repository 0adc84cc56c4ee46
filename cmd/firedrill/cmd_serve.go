package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/notify"
	oreport "github.com/firedrill/firedrill/orchestrator/report"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/report"
	"github.com/firedrill/firedrill/report/pdf"
	"github.com/firedrill/firedrill/web"
)

func (a *app) serveCommand() *cobra.Command {
	var databaseURL, listen, serverConfigPath string
	var tlsFiles tlsOptions
	var reportOpts reportOptions
	var workerOpts workerOptions
	var schedOpts schedulerOptions
	var consoleOpts consoleOptions
	var demo bool
	var migrateOpts migrateOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Execute submitted runs and serve the JSON API and the health endpoints",
		Long: `Start the long-running firedrill process. It serves
GET /healthz (200 when the database answers, 503 otherwise), GET /readyz (200 when this
replica can take work: the database answers with the current schema, its run leases are
renewed, and with schedules the scheduler lease has a holder; 503 with the reason otherwise),
GET /metrics (Prometheus, unauthenticated like /healthz: see the README's Observability
section) and the JSON API under /api/v1
(authenticated with API tokens; GET /api/v1/openapi.json describes it). Without an estate the
API still serves runs, approvals, the freeze, users and tokens; what needs the estate
(submitting runs, validating plans, schedules, the calendar, sites and services) answers 409.

Its worker claims pending runs (firedrill submit) and executes them. Several serve replicas
can share one PostgreSQL database: each run is executed by one of them, and the runs of a
replica that dies are taken over by another once their lease (--lease-for) expires. On
SQLite, serve runs as a single replica and a second one on the same file exits 1.

With an estate (--config, or firedrill.hcl found from the working directory) it also fires
the estate's schedules (one replica at a time holds the scheduler lease), sends the
notifications its notify blocks ask for, closes approval windows that ended and announces
overdue services.

It also serves the console (GET /, sign-in at /login): local accounts sign in with a password
an admin set (firedrill user password), and with --oidc-issuer people sign in with the bank's
identity provider (OpenID Connect, authorization code with PKCE), their roles mapped from a
claim (--oidc-role-claim, --oidc-role-map group=role). The client secret comes from
FIREDRILL_OIDC_CLIENT_SECRET or --oidc-client-secret-file, never a flag value. Sessions are
kept in the database (only a hash of their secret) and end after --session-idle without use
or --session-max-age after sign-in; cookies are Secure over TLS or with --secure-cookies (set
it behind a TLS-terminating proxy). Failed sign-ins are rate limited in this replica's memory.
With --tls-cert-file and --tls-key-file it serves HTTPS itself.

` + precedenceDoc + `

` + migrateDoc + `

` + demoDoc,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{annotationServerConfig: "apply"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			// A bad certificate stops serve before it starts anything.
			tlsConfig, err := tlsFiles.load()
			if err != nil {
				return err
			}
			// The address is taken first: a port in use stops serve at once, and nothing
			// started before it (the demo's simulated sites) can take the port meanwhile.
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", listen, err)
			}
			defer ln.Close()
			scheme := "http"
			if tlsConfig != nil {
				ln, scheme = tls.NewListener(ln, tlsConfig), "https"
			}
			var demoPasswords map[string]string
			if demo {
				w, passwords, err := a.startDemo(ctx, cmd.Flags(), &databaseURL, &reportOpts, &schedOpts)
				if err != nil {
					return err
				}
				defer w.Close()
				workerOpts.secrets, demoPasswords = w.secrets(), passwords
				consoleOpts.shiftedHistory = true
			}
			// Set after the demo's history ran, so that its shifted-clock runs are not counted.
			a.metrics = metrics.New()
			workerOpts.owner = replicaOwner()
			st, err := a.openServeStore(ctx, databaseURL, demo, migrateOpts)
			if err != nil {
				return err
			}
			defer st.Close()
			// Notifications: the outbox sender and the housekeeping that feeds it.
			estate, err := loadServeEstate(schedOpts.configPath)
			if err != nil {
				return err
			}
			notifier, stopNotifications, err := a.startNotifications(ctx, st, estate)
			if err != nil {
				return err
			}
			defer stopNotifications()
			if err := a.registerStoreMetrics(st, estate); err != nil {
				return err
			}
			if notifier != nil {
				workerOpts.notifier = notifier
			}
			schedOpts.onFire = a.approvalNeeded(notifier)
			// Worker: claims pending runs and takes over those whose replica died.
			stopWorker, err := a.startWorker(ctx, st, workerOpts)
			if err != nil {
				return err
			}
			defer stopWorker()
			// End of worker.
			// Scheduler: the replica holding the scheduler lease fires the estate's schedules.
			stopScheduler, err := a.startScheduler(ctx, st, estate, schedOpts)
			if err != nil {
				return err
			}
			defer stopScheduler()
			// End of scheduler.
			reports, err := a.reports(ctx, st, reportOpts)
			if err != nil {
				return err
			}
			ready := readiness(st, clock.Real{}, workerOpts.owner, estate != nil && len(estate.cfg.Schedules) > 0)
			handler, err := a.apiHandler(st, estate, notifier, reports, consoleOpts, ready)
			if err != nil {
				return err
			}
			srv := web.NewHTTPServer(handler)
			fmt.Fprintf(a.stderr, "firedrill serving on %s://%s (database %s)\n", scheme, ln.Addr(), store.RedactURL(databaseURL))
			a.logger.InfoContext(ctx, "serving", "addr", ln.Addr().String(), "database", store.RedactURL(databaseURL))
			if demo {
				printDemoSignIn(a.stdout, scheme+"://"+ln.Addr().String()+"/", reportOpts.signingKey, demoUsers, demoPasswords)
			}
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdownCtx); err != nil {
				return err
			}
			if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve on (env FIREDRILL_LISTEN)")
	f.DurationVar(&workerOpts.leaseFor, "lease-for", orchestrator.DefaultLeaseFor, "how long a claim on a run lasts without renewal: a dead replica's runs are taken over after this (env FIREDRILL_LEASE_FOR)")
	f.DurationVar(&workerOpts.poll, "poll", orchestrator.DefaultWorkerPoll, "how often the worker looks for runs to claim when idle (env FIREDRILL_POLL)")
	f.IntVar(&workerOpts.concurrency, "concurrency", orchestrator.DefaultWorkerConcurrency, "runs this replica executes at once (env FIREDRILL_CONCURRENCY)")
	f.StringVar(&reportOpts.signingKey, "signing-key", "", "the institution's Ed25519 report signing key, PKCS#8 PEM, generated there (mode 0600) on first use; never stored in the database; without it reports are not exported (env FIREDRILL_SIGNING_KEY)")
	f.StringVar(&reportOpts.institution, "institution", "", "who reports: the institution named on every report's cover; required with --signing-key (env FIREDRILL_INSTITUTION)")
	f.StringVar(&reportOpts.timeZone, "report-time-zone", "UTC", "the IANA time zone a report period's days begin in, and its dates are written in (Asia/Seoul: a Korean bank's year starts at 00:00 KST) (env FIREDRILL_REPORT_TIME_ZONE)")
	f.BoolVar(&demo, "demo", false, "serve the embedded example estate on simulated sites, with a year of history really run against them first (see above); its database, signing key, institution and report time zone are its own unless given on the command line")
	schedOpts.register(f)
	consoleOpts.register(f)
	tlsFiles.register(f)
	serverConfigFlags(f, &serverConfigPath)
	migrateOpts.register(f)
	return cmd
}

// apiHandler serves /healthz and /api/v1 over the store and the estate serve loaded (nil when
// it has none). The notifier (nil without notify blocks) hears of the runs the API's
// operations leave awaiting approval or end, as the scheduler's hook does for fired runs.
func (a *app) apiHandler(st *store.Store, est *serveEstate, n *notify.Notifier, reports *control.Reports, co consoleOptions, ready func(context.Context) error) (http.Handler, error) {
	var estate *control.Estate
	if est != nil {
		estate = &control.Estate{Path: est.path, Estate: est.cfg, Source: est.src}
	}
	cfg := control.Config{Store: st, Estate: estate, Clock: clock.Real{}, Logger: a.logger, Reports: reports,
		Sessions: control.SessionPolicy{Idle: co.sessionIdle, MaxAge: co.sessionMaxAge}}
	if n != nil {
		cfg.Notifier = n // never a nil *Notifier in the interface
	}
	ctl, err := control.New(cfg)
	if err != nil {
		return nil, err
	}
	con, err := a.console(ctl, co)
	if err != nil {
		return nil, err
	}
	srv, err := web.New(web.Config{Control: ctl, Logger: a.logger, Health: st.Health, Ready: ready, Metrics: a.metrics,
		Database: string(st.Dialect()), Console: con})
	if err != nil {
		return nil, err
	}
	return srv.Handler(), nil
}

// reportOptions are serve's flags for exporting reports.
type reportOptions struct {
	signingKey, institution, timeZone string
}

// reports is what serve exports reports with: nil, and reports refused, without a signing
// key or regulator profiles.
func (a *app) reports(ctx context.Context, st *store.Store, o reportOptions) (*control.Reports, error) {
	if o.signingKey == "" {
		a.logger.InfoContext(ctx, "reports are not exported: no --signing-key")
		return nil, nil
	}
	if strings.TrimSpace(o.institution) == "" {
		return nil, errors.New("--institution is required with --signing-key: it is the name on every report's cover (env FIREDRILL_INSTITUTION)")
	}
	key, created, err := report.LoadOrCreateSigningKey(o.signingKey)
	if err != nil {
		return nil, fmt.Errorf("--signing-key: %w", err)
	}
	fp, err := report.Fingerprint(key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(a.stderr, "generated a report signing key in %s (fingerprint %s): give regulators its public key (firedrill report public-key)\n", o.signingKey, fp)
	}
	loc, err := time.LoadLocation(o.timeZone)
	if err != nil {
		return nil, fmt.Errorf("--report-time-zone %q: %w", o.timeZone, err)
	}
	// The shipped regulator profiles, judged by drills.EvaluateCompliance.
	g, err := oreport.New(oreport.Config{Store: st, Compliance: oreport.ProfileCompliance{Location: loc}})
	if err != nil {
		return nil, err
	}
	renderer, err := pdf.New(pdf.Config{})
	if err != nil {
		return nil, err
	}
	a.logger.InfoContext(ctx, "reports are exported", "signing_key_fingerprint", fp)
	return &control.Reports{Gatherer: g, Key: key, Institution: o.institution, PDF: renderer}, nil
}
