package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/orchestrator/store"
)

func (a *app) migrateCommand() *cobra.Command {
	var databaseURL string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply or inspect the database schema migrations",
		Long: `Apply or inspect the versioned SQL migrations embedded in this binary (one set per
database: PostgreSQL and SQLite).`,
	}
	cmd.PersistentFlags().StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
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

	cmd.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := store.Open(cmd.Context(), store.Config{DatabaseURL: databaseURL, Logger: a.logger})
			if err != nil {
				return fmt.Errorf("--database-url %s: %w", store.RedactURL(databaseURL), err)
			}
			defer st.Close()
			applied, err := st.MigrateUp(cmd.Context())
			if err != nil {
				return err
			}
			return print(applied, fmt.Sprintf("%d migration(s) applied to %s", len(applied), store.RedactURL(databaseURL)))
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "List the migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
