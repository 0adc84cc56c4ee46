package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/firedrill/firedrill/orchestrator/store"
)

// migrateDoc is what serve's help says of migrating at start.
const migrateDoc = `Serve never changes the schema unless asked. Without --migrate (env FIREDRILL_MIGRATE) a
database whose schema is behind this binary is refused at start, naming its version, this
binary's and the command to run (firedrill migrate up); a database a newer firedrill migrated
is refused in every case, naming both versions: an older replica must not write into a
schema it does not know. With --migrate, serve applies the pending migrations before it
starts, as the owner role of --migrate-database-url (env FIREDRILL_MIGRATE_DATABASE_URL) when
given (the runtime role of --database-url may not change the schema), and then grants the
runtime role, as firedrill migrate up --runtime-role does. Replicas starting together with
--migrate take turns on the migration lock; one applies, the others find nothing to do.
serve --demo creates its own database and migrates it without being asked.`

// migrateOptions are serve's flags for migrating at start.
type migrateOptions struct {
	apply bool
	// ownerURL is the migration (owner) role's URL; "" migrates over the serving URL.
	ownerURL string
}

func (o *migrateOptions) register(fs *pflag.FlagSet) {
	fs.BoolVar(&o.apply, "migrate", false, "apply pending migrations before serving, as --migrate-database-url's role when given (env FIREDRILL_MIGRATE)")
	fs.StringVar(&o.ownerURL, "migrate-database-url", "", "the owner role's postgres://... URL, used only with --migrate to change the schema; the runtime role is then granted (env FIREDRILL_MIGRATE_DATABASE_URL)")
}

// openServeStore opens serve's database: migrated first when asked (always for the demo's
// own database), refused when its schema is not the one this binary knows.
func (a *app) openServeStore(ctx context.Context, url string, demo bool, o migrateOptions) (*store.Store, error) {
	if demo {
		return a.openStore(ctx, url, true)
	}
	if !o.apply {
		if o.ownerURL != "" {
			return nil, errors.New("--migrate-database-url is used only with --migrate (env FIREDRILL_MIGRATE): serve does not migrate unless asked")
		}
		st, err := a.openStore(ctx, url, false)
		if errors.Is(err, store.ErrSchemaOutdated) {
			return nil, fmt.Errorf("%w, or start serve with --migrate", err)
		}
		return st, err
	}
	if o.ownerURL == "" || o.ownerURL == url {
		return a.openStore(ctx, url, true)
	}
	if err := a.migrateAsOwner(ctx, o.ownerURL, url); err != nil {
		return nil, err
	}
	return a.openStore(ctx, url, false)
}

// migrateAsOwner applies the pending migrations over ownerURL and, when runtimeURL connects as
// another role, grants that role what serve needs (the new tables included).
func (a *app) migrateAsOwner(ctx context.Context, ownerURL, runtimeURL string) error {
	owner, err := store.Open(ctx, store.Config{DatabaseURL: ownerURL, Logger: a.logger})
	if err != nil {
		return fmt.Errorf("--migrate-database-url %s: %w", store.RedactURL(ownerURL), err)
	}
	defer owner.Close()
	if _, err := owner.MigrateUp(ctx); err != nil {
		return fmt.Errorf("apply migrations to %s: %w", store.RedactURL(ownerURL), err)
	}
	if owner.Dialect() != store.DialectPostgres {
		return nil
	}
	runtime, err := store.Open(ctx, store.Config{DatabaseURL: runtimeURL, Logger: a.logger})
	if err != nil {
		return fmt.Errorf("--database-url %s: %w", store.RedactURL(runtimeURL), err)
	}
	defer runtime.Close()
	runtimeRole, err := runtime.CurrentRole(ctx)
	if err != nil {
		return err
	}
	ownerRole, err := owner.CurrentRole(ctx)
	if err != nil {
		return err
	}
	if runtimeRole == ownerRole {
		return nil
	}
	if err := owner.RuntimeRoleGrant(ctx, runtimeRole); err != nil {
		return fmt.Errorf("--migrate: grant the runtime role of --database-url: %w", err)
	}
	return nil
}
