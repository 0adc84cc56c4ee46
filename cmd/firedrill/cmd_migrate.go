package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/orchestrator/store"
)

func (a *app) migrateCommand() *cobra.Command {
	var databaseURL, ownerURL, runtimeRole string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply or inspect the database schema migrations",
		Long: `Apply or inspect the versioned SQL migrations embedded in this binary (one set per
database: PostgreSQL and SQLite).

On PostgreSQL, migrations run as the owner role (--migrate-database-url, env
FIREDRILL_MIGRATE_DATABASE_URL; when unset, --database-url), and serve and the CLI connect as a
runtime role (FIREDRILL_DATABASE_URL) that migrate up --runtime-role grants: INSERT and SELECT
only on the timeline, the operations log, the role grants, the findings' history and a run's
participants and notes, SELECT only on the audit log, the usual rights on the working tables
(but never DELETE on findings), and no TRUNCATE, trigger or ownership rights.`,
	}
	cmd.PersistentFlags().StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
	cmd.PersistentFlags().StringVar(&ownerURL, "migrate-database-url", "", "the owner role's postgres://... URL; wins over --database-url (env FIREDRILL_MIGRATE_DATABASE_URL)")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the result as JSON")

	print := func(list []store.MigrationStatus, header string) error {
		if asJSON {
			type row struct {
				Version   int64      `json:"version"`
				Name      string     `json:"name"`
				Applied   bool       `json:"applied"`
				AppliedAt *time.Time `json:"applied_at,omitempty"`
			}
			rows := []row{}
			for _, m := range list {
				r := row{Version: m.Version, Name: m.Name, Applied: m.Applied}
				if !m.AppliedAt.IsZero() {
					at := m.AppliedAt.UTC()
					r.AppliedAt = &at
				}
				rows = append(rows, r)
			}
			return writeJSON(a.stdout, map[string]any{"database": store.RedactURL(databaseURL), "migrations": rows})
		}
		fmt.Fprintln(a.stdout, header)
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
		for _, m := range list {
			applied := "pending"
			if m.Applied {
				applied = "yes"
				if !m.AppliedAt.IsZero() {
					applied = m.AppliedAt.UTC().Format(time.RFC3339)
				}
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Name, applied)
		}
		return tw.Flush()
	}

	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration, then grant the runtime role",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ownerURL != "" {
				databaseURL = ownerURL
			}
			st, err := store.Open(cmd.Context(), store.Config{DatabaseURL: databaseURL, Logger: a.logger})
			if err != nil {
				return fmt.Errorf("--database-url %s: %w", store.RedactURL(databaseURL), err)
			}
			defer st.Close()
			applied, err := st.MigrateUp(cmd.Context())
			if err != nil {
				return err
			}
			if runtimeRole != "" {
				if err := st.RuntimeRoleGrant(cmd.Context(), runtimeRole); err != nil {
					return fmt.Errorf("--runtime-role: %w", err)
				}
			}
			return print(applied, fmt.Sprintf("%d migration(s) applied to %s", len(applied), store.RedactURL(databaseURL)))
		},
	}
	up.Flags().StringVar(&runtimeRole, "runtime-role", "", "PostgreSQL role that serve and the CLI connect as, granted after migrating (env FIREDRILL_RUNTIME_ROLE)")
	cmd.AddCommand(up)
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "List the migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ownerURL != "" {
				databaseURL = ownerURL
			}
			st, err := store.Open(cmd.Context(), store.Config{DatabaseURL: databaseURL, Logger: a.logger})
			if err != nil {
				return fmt.Errorf("--database-url %s: %w", store.RedactURL(databaseURL), err)
			}
			defer st.Close()
			list, err := st.MigrateStatus(cmd.Context())
			if err != nil {
				return err
			}
			return print(list, "migrations of "+store.RedactURL(databaseURL))
		},
	})
	return cmd
}
