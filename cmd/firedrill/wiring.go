package main

import (
	"context"
	"fmt"
	"github.com/firedrill/firedrill/internal/version"

	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/command"
	"github.com/firedrill/firedrill/orchestrator/actions/httpaction"
	"github.com/firedrill/firedrill/orchestrator/actions/manual"
	"github.com/firedrill/firedrill/orchestrator/actions/nomad"
	"github.com/firedrill/firedrill/orchestrator/actions/pause"
	"github.com/firedrill/firedrill/orchestrator/actions/postgres"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// defaultDatabaseURL is the embedded single-node default.
const defaultDatabaseURL = "sqlite:firedrill.db"

// openStore opens the database. With migrate it applies pending migrations (demo, serve
// --migrate); without, it refuses to work on a schema behind or ahead of this binary. Each check, when given, may refuse the
// database before anything is applied to it.
func (a *app) openStore(ctx context.Context, url string, migrate bool, checks ...func(*store.Store) error) (*store.Store, error) {
	return a.openStoreOn(ctx, clock.Real{}, url, migrate, checks...)
}

// openStoreOn is openStore with the clock the store stamps times with (serve --demo records
// its history on a shifted one).
func (a *app) openStoreOn(ctx context.Context, clk clock.Clock, url string, migrate bool, checks ...func(*store.Store) error) (*store.Store, error) {
	bi := version.Get()
	cfg := store.Config{DatabaseURL: url, Logger: a.logger, Version: bi.Version, Commit: bi.Commit, FindingDue: a.findingDue, Clock: clk}
	if m := a.metrics; m != nil {
		cfg.OnCallError = func() { m.PostgresCallFailed(metrics.StoreTarget) }
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("--database-url %s: %w", store.RedactURL(url), err)
	}
	for _, check := range checks {
		if err := check(st); err != nil {
			st.Close()
			return nil, err
		}
	}
	if migrate {
		applied, err := st.MigrateUp(ctx)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("apply migrations to %s: %w", store.RedactURL(url), err)
		}
		for _, m := range applied {
			a.logger.InfoContext(ctx, "migration applied", "version", m.Version, "name", m.Name)
		}
		// Migrating leaves a schema a newer firedrill wrote as it is: still refused below.
	}
	if err := st.SchemaCheck(ctx); err != nil {
		st.Close()
		// The store's error already says which migrations are pending and what to run.
		return nil, fmt.Errorf("%s: %w", store.RedactURL(url), err)
	}
	return st, nil
}

// engine is a runner with every action wired in.
type engine struct {
	runner   *orchestrator.Runner
	clients  *nomad.Clients
	registry *actions.Registry
}

func (e *engine) Close() { e.clients.Close() }

// newEngine wires a runner with every action. tune, when given, adjusts the runner's config
// (serve sets the lease time from its flags).
func (a *app) newEngine(st *store.Store, secrets *secret.Resolver, tune ...func(*orchestrator.RunnerConfig)) (*engine, error) {
	return a.newEngineOn(clock.Real{}, st, secrets, tune...)
}

// newEngineOn is newEngine on the clock clk (serve --demo runs its history on a shifted one).
func (a *app) newEngineOn(clk clock.Clock, st *store.Store, secrets *secret.Resolver, tune ...func(*orchestrator.RunnerConfig)) (*engine, error) {
	clients, err := nomad.NewClients(nomad.Config{Secrets: secrets, Clock: clk, Metrics: a.metrics})
	if err != nil {
		return nil, err
	}
	pg, err := postgres.New(postgres.Config{Secrets: secrets, Clock: clk, Metrics: a.metrics})
	if err != nil {
		return nil, err
	}
	httpCfg := httpaction.Config{Secrets: secrets, Allocations: clients}
	list := append(nomad.ActionsWatchingRestoration(clients, httpaction.NewRestorationWatcher(httpCfg)), httpaction.Actions(httpCfg)...)
	list = append(list, pg.Actions()...)
	list = append(list, command.Actions(command.Config{LookupEnv: secrets.LookupEnv})...)
	list = append(list, manual.Actions()...)
	list = append(list, pause.Actions()...)
	registry, err := actions.NewRegistry(list...)
	if err != nil {
		return nil, err
	}
	rcfg := orchestrator.RunnerConfig{
		Store: st, Actions: registry, Clock: clk, Logger: a.logger,
		Canaries:  &actions.CanaryRouter{Postgres: pg, HTTP: &httpaction.Canaries{Clock: clk}},
		Probes:    httpaction.NewProber(httpaction.Config{Secrets: secrets}),
		Preflight: []actions.Preflighter{nomad.NewPreflighter(clients), httpaction.NewPreflighter(httpaction.Config{Secrets: secrets}), pg},
		Lag:       pg,
		Metrics:   a.metrics,
	}
	for _, f := range tune {
		f(&rcfg)
	}
	runner, err := orchestrator.NewRunner(rcfg)
	if err != nil {
		return nil, err
	}
	return &engine{runner: runner, clients: clients, registry: registry}, nil
}
