package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/orchestrator/store"
)

func (a *app) auditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check the hash-chained audit log",
		Long: `Every run event and every control operation is appended, in the transaction that
records it, to a hash-chained audit log: each row stores the previous row's hash and the
SHA-256 of its own content.`,
	}
	var databaseURL string
	var asJSON bool
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Walk the audit chain and name the first missing or altered row",
		Long: `Walk the audit log from its first row: check that the rows are numbered without a gap,
that each links to the hash of the one before and hashes to its own content, that every run
event and operation it records is still there and unaltered, that no event or operation was
inserted around it, and that every run's state is the one its audited events end in.

Opens the database directly (--database-url, env FIREDRILL_DATABASE_URL); reading is enough,
so the runtime role will do.

Exit codes: 0 the log verifies, 1 a row is missing or altered (named on stderr) or the check
could not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openStore(cmd.Context(), databaseURL, false)
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := st.AuditVerify(cmd.Context(), nil)
			if err != nil {
				return err
			}
			if asJSON {
				if err := writeJSON(a.stdout, map[string]any{
					"database": store.RedactURL(databaseURL), "verified": rep.Problem == nil, "rows": rep.Rows,
					"head_seq": rep.HeadSeq, "head_hash": rep.HeadHash, "problem": rep.Problem,
				}); err != nil {
					return err
				}
			} else if rep.Problem == nil {
				fmt.Fprintf(a.stdout, "audit log of %s verifies: %d rows, head %d %s\n",
					store.RedactURL(databaseURL), rep.Rows, rep.HeadSeq, rep.HeadHash)
			}
			if rep.Problem != nil {
				return fmt.Errorf("audit log of %s does not verify: %s", store.RedactURL(databaseURL), rep.Problem.Message)
			}
			return nil
		},
	}
	verify.Flags().StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
	verify.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.AddCommand(verify)
	return cmd
}
