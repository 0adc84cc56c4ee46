package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/orchestrator/store"
)

// backupSensitivity is what the backup commands' help says of the file.
const backupSensitivity = `The backup is as sensitive as the database: it holds the argon2id password hashes and the
API tokens' hashes as the database keeps them, the estate and plans, every run's evidence and
the report bundles. Keep it where the database's own backups are kept (mode 0600 when written
to a file). Console sessions are not in it (people sign in again), nor the leases and the
scheduler replicas of the old cluster.`

func (a *app) exportAllCommand() *cobra.Command {
	var databaseURL, out string
	cmd := &cobra.Command{
		Use:   "export-all [--out FILE]",
		Short: "Write a backup of the whole PostgreSQL database as JSON lines",
		Long: `Write every table of the database (runs, steps, events, operations, the audit log and its
head, approvals, schedules' fires, findings, reports and their bundles, users, role grants,
tokens' hashes, notifications) as JSON lines: a header with the schema version, one line
{"table": ..., "row": {...}} per row, table by table in the order of their foreign keys (bytea
as base64), and a trailer with each table's count and the audit chain's head. It reads one
consistent snapshot (serve may keep running) and streams: memory does not grow with the
database. Restore with firedrill import into a new database at the same schema version.

Opens the database directly (--database-url, env FIREDRILL_DATABASE_URL); reading is enough,
so the runtime role will do. Writes to standard output, or to --out (created mode 0600, not
overwritten; removed again if the export fails).

Exit codes: 0 the backup is written, 1 it is not.

` + backupSensitivity,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openStore(cmd.Context(), databaseURL, false)
			if err != nil {
				return err
			}
			defer st.Close()
			var w io.Writer = a.stdout
			var f *os.File
			if out != "" {
				f, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				defer f.Close()
				w = f
			}
			trailer, err := st.ExportAll(cmd.Context(), w)
			if err != nil {
				if f != nil {
					_ = os.Remove(out) // a partial backup must not pass for one
				}
				return err
			}
			if f != nil {
				if err := f.Close(); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
			}
			var rows int64
			for _, n := range trailer.Counts {
				rows += n
			}
			fmt.Fprintf(a.stderr, "exported %d rows of %d tables from %s, audit head %d %s\n",
				rows, len(trailer.Counts), store.RedactURL(databaseURL), trailer.AuditHead.Seq, trailer.AuditHead.Hash)
			return nil
		},
	}
	cmd.Flags().StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... (env FIREDRILL_DATABASE_URL)")
	cmd.Flags().StringVar(&out, "out", "", "file to write the backup to, created mode 0600 (default: standard output)")
	return cmd
}

func (a *app) importCommand() *cobra.Command {
	var databaseURL string
	cmd := &cobra.Command{
		Use:   "import BACKUP|-",
		Short: "Load a backup written by export-all into a new PostgreSQL database",
		Long: `Load a backup written by firedrill export-all ("-": standard input) into a new database,
migrated first (firedrill migrate up) to the backup's schema version, which must be this
binary's: import into a database at another version, or one that already holds anything, is
refused and changes nothing. To move to a newer release: import with the release that wrote
the backup, then upgrade. It loads in one transaction, so an import that fails (a truncated or
damaged file, counts or audit head that do not match the trailer) leaves the database as it
was: fix the cause and run it again. Then firedrill audit verify checks the chain, and report
bundles exported before the move still link into it.

It runs as the owner role (--database-url, env FIREDRILL_DATABASE_URL; the one migrate up
uses): the triggers that would audit the rows a second time are disabled while they go in.

Exit codes: 0 everything is loaded, 1 nothing is (the reason on stderr).

` + backupSensitivity,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r := cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			st, err := a.openStore(cmd.Context(), databaseURL, false)
			if err != nil {
				return err
			}
			defer st.Close()
			h, trailer, err := st.Import(cmd.Context(), bufio.NewReaderSize(r, 1<<16))
			if err != nil {
				return err
			}
			var rows int64
			for _, n := range trailer.Counts {
				rows += n
			}
			fmt.Fprintf(a.stdout, "imported %d rows of %d tables (schema version %d, exported %s) into %s, audit head %d %s\n",
				rows, len(trailer.Counts), h.SchemaVersion, h.ExportedAt.UTC().Format("2006-01-02T15:04:05Z"), store.RedactURL(databaseURL),
				trailer.AuditHead.Seq, trailer.AuditHead.Hash)
			return nil
		},
	}
	cmd.Flags().StringVar(&databaseURL, "database-url", defaultDatabaseURL, "the new database's postgres://... URL, as its owner (env FIREDRILL_DATABASE_URL)")
	return cmd
}
