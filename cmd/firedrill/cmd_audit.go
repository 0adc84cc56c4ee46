package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/web/client"
)

func (a *app) auditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check and search the hash-chained audit log",
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
					"pending": rep.Pending, "head_seq": rep.HeadSeq, "head_hash": rep.HeadHash, "problem": rep.Problem,
				}); err != nil {
					return err
				}
			} else if rep.Problem == nil {
				fmt.Fprintf(a.stdout, "audit log of %s verifies: %d rows, head %d %s\n",
					store.RedactURL(databaseURL), rep.Rows, rep.HeadSeq, rep.HeadHash)
				if rep.Pending > 0 {
					fmt.Fprintf(a.stdout, "%d facts committed during the check wait to be chained; their content matches\n", rep.Pending)
				}
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
	cmd.AddCommand(a.auditListCommand())
	return cmd
}

// auditListCommand is `firedrill audit list`: a client of GET /api/v1/audit.
func (a *app) auditListCommand() *cobra.Command {
	var p control.AuditListParams
	var since, until string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--actor NAME] [--operation OP] [--target T] [--outcome ok|denied|failed] [--since T] [--until T] [--text S]",
		Short: "Search the recorded operations, newest first (through the API: audit.read)",
		Long: `List the operations the server recorded (who did or tried what, to which target, how it
went), newest first, each with its row of the audit chain, and the chain's head. Filters
combine; --since and --until are RFC 3339 times; --text matches the message and needs --since.
When there are more than --limit (the server's default is 50), the next page's --cursor is
printed on stderr (in the JSON, next_cursor).`,
		Args: cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			q := p
			for _, f := range []struct {
				flag, v string
				dst     **time.Time
			}{{"--since", since, &q.Since}, {"--until", until, &q.Until}} {
				if f.v == "" {
					continue
				}
				t, err := time.Parse(time.RFC3339, f.v)
				if err != nil {
					return fmt.Errorf("%s: %q is not an RFC 3339 time (2006-01-02T15:04:05Z)", f.flag, f.v)
				}
				*f.dst = &t
			}
			page, err := c.AuditList(cmd.Context(), &q)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, page)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  AT (UTC)\tACTOR\tOPERATION\tTARGET\tOUTCOME\tAUDIT ROW\tMESSAGE")
			for _, e := range page.Entries {
				row := "-"
				if e.AuditSeq > 0 {
					row = fmt.Sprint(e.AuditSeq)
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format("2006-01-02 15:04:05"), orDash(e.Actor.Name),
					e.Operation, orDash(e.Target), e.Outcome, row, e.Message)
			}
			tw.Flush()
			fmt.Fprintf(a.stdout, "audit chain head: row %d %s\n", page.HeadSeq, page.HeadHash)
			if page.NextCursor != "" {
				fmt.Fprintf(a.stderr, "more operations: --cursor %s\n", page.NextCursor)
			}
			return nil
		}),
	}
	f := list.Flags()
	f.StringVar(&p.Actor, "actor", "", "only operations by this person")
	f.StringVar(&p.Operation, "operation", "", "only this operation (run.submit, user.manage, ...)")
	f.StringVar(&p.Target, "target", "", "only operations on this target (a run ID, a user, a token ID)")
	f.StringVar(&p.Outcome, "outcome", "", "only this outcome: ok, denied or failed")
	f.StringVar(&since, "since", "", "only operations at or after this time (RFC 3339)")
	f.StringVar(&until, "until", "", "only operations before this time (RFC 3339)")
	f.StringVar(&p.Text, "text", "", "only operations whose message contains this (needs --since)")
	f.IntVar(&p.Limit, "limit", 0, "at most this many (default: the server's, 50; at most 500)")
	f.StringVar(&p.Cursor, "cursor", "", "the page after the one that printed this cursor")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return list
}
