package store

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// A backup (firedrill export-all) is JSON lines: one header line, then one line per row,
// table by table in the order of their foreign keys (a row's references come before it), then
// one trailer line:
//
//	{"header":{"firedrill_backup":1,"dialect":"postgres","schema_version":14,...,"tables":["plans",...]}}
//	{"table":"runs","row":{"id":"...","state":"succeeded",...}}
//	{"trailer":{"counts":{"runs":12,...},"audit_head":{"seq":310,"hash":"..."}}}
//
// A row is the table's row as PostgreSQL's to_jsonb writes it (timestamps in UTC, JSON columns
// as JSON), bytea columns as base64. It holds everything, the record and the audit chain
// included, with the password and token hashes as the database keeps them; what it leaves out
// is what only the old cluster means: goose's version table (the header says the version),
// console sessions (people sign in again), and leases and scheduler replicas (the new
// cluster's replicas take them anew; a run's own lease expires and another replica resumes it).

// BackupFormat is the version of the backup's line format.
const BackupFormat = 1

// backupSkipped are the tables a backup leaves out (see above).
var backupSkipped = []string{"goose_db_version", "console_sessions", "leases", "scheduler_replicas"}

// backupOrder orders the rows of a table that references itself: a report that replaces another
// comes after it.
var backupOrder = map[string]string{"reports": "created_at, id"}

// BackupHeader is a backup's first line.
type BackupHeader struct {
	Format           int       `json:"firedrill_backup"`
	Dialect          Dialect   `json:"dialect"`
	SchemaVersion    int64     `json:"schema_version"`
	ExportedAt       time.Time `json:"exported_at"`
	FiredrillVersion string    `json:"firedrill_version,omitempty"`
	// Tables are the tables whose rows follow, in that order.
	Tables []string `json:"tables"`
}

// BackupTrailer is a backup's last line: an import checks it before committing, so a truncated
// or edited file is refused.
type BackupTrailer struct {
	Counts    map[string]int64 `json:"counts"`
	AuditHead AuditHeadRef     `json:"audit_head"`
}

// AuditHeadRef is the audit chain's last row as a backup records it.
type AuditHeadRef struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// backupLine is one line of a backup: exactly one of its fields is set.
type backupLine struct {
	Header  *BackupHeader   `json:"header,omitempty"`
	Table   string          `json:"table,omitempty"`
	Row     json.RawMessage `json:"row,omitempty"`
	Trailer *BackupTrailer  `json:"trailer,omitempty"`
}

// backupTable is one table a backup carries.
type backupTable struct {
	name       string
	orderBy    string   // the primary key's columns, or backupOrder's
	byteaCols  []string // written as base64
	serialCols []string // whose sequence an import moves past the rows
}

// ErrBackupRefused: the backup cannot go into this database (another schema version or dialect,
// a database that is not empty, a damaged or truncated file); nothing was written.
var ErrBackupRefused = errors.New("backup refused")

// ExportAll writes a backup of the whole database to w, read in one snapshot (a REPEATABLE READ,
// read-only transaction: serve may keep running), row by row: memory does not grow with the
// tables. PostgreSQL only. It returns the trailer it wrote.
func (s *Store) ExportAll(ctx context.Context, w io.Writer) (*BackupTrailer, error) {
	if s.dialect != DialectPostgres {
		return nil, errors.New("export-all: backups are of PostgreSQL databases; a SQLite database is backed up by copying its file while no firedrill uses it")
	}
	// Chain what is pending, so that the backup's chain covers every fact committed before
	// it; facts committed after that and before the snapshot travel as pending rows.
	if _, err := s.AuditChain(ctx); err != nil {
		return nil, fmt.Errorf("export-all: %w", err)
	}
	tx, err := s.sqlDB.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("export-all: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	// A large table takes longer to send than a statement is allowed at run time.
	if _, err := tx.ExecContext(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
		return nil, fmt.Errorf("export-all: %w", err)
	}
	version, err := dbVersionTx(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("export-all: %w", err)
	}
	tables, err := backupTables(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("export-all: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	header := &BackupHeader{Format: BackupFormat, Dialect: s.dialect, SchemaVersion: version,
		ExportedAt: utcMS(s.clock.Now()), FiredrillVersion: s.version}
	for _, t := range tables {
		header.Tables = append(header.Tables, t.name)
	}
	if err := writeBackupLine(bw, backupLine{Header: header}); err != nil {
		return nil, fmt.Errorf("export-all: %w", err)
	}
	trailer := &BackupTrailer{Counts: map[string]int64{}}
	for _, t := range tables {
		n, err := exportTable(ctx, tx, bw, t)
		if err != nil {
			return nil, fmt.Errorf("export-all: table %s: %w", t.name, err)
		}
		trailer.Counts[t.name] = n
	}
	if err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&trailer.AuditHead.Seq, &trailer.AuditHead.Hash); err != nil {
		return nil, fmt.Errorf("export-all: audit head: %w", err)
	}
	if err := writeBackupLine(bw, backupLine{Trailer: trailer}); err != nil {
		return nil, fmt.Errorf("export-all: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("export-all: %w", err)
	}
	return trailer, tx.Commit()
}

func writeBackupLine(w *bufio.Writer, l backupLine) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return w.WriteByte('\n')
}

// exportTable streams one table's rows to w, each as to_jsonb writes it with its bytea
// columns replaced by their base64.
func exportTable(ctx context.Context, tx *sql.Tx, w *bufio.Writer, t backupTable) (int64, error) {
	expr := "to_jsonb(t)"
	for _, c := range t.byteaCols {
		col := pgx.Identifier{c}.Sanitize()
		// encode breaks its base64 every 76 characters: one line per row is cleaner without.
		expr += fmt.Sprintf(" || jsonb_build_object(%s, replace(encode(t.%s, 'base64'), E'\\n', ''))", quoteLiteral(c), col)
	}
	q := fmt.Sprintf("SELECT (%s)::text FROM %s AS t ORDER BY %s", expr, pgx.Identifier{t.name}.Sanitize(), t.orderBy)
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	prefix := `{"table":` + quoteJSON(t.name) + `,"row":`
	var n int64
	var row []byte
	for rows.Next() {
		if err := rows.Scan(&row); err != nil {
			return n, err
		}
		if _, err := w.WriteString(prefix); err != nil {
			return n, err
		}
		if _, err := w.Write(row); err != nil {
			return n, err
		}
		if _, err := w.WriteString("}\n"); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// backupTables lists the tables a backup carries, each after every table it references (ties
// by name), with what export and import need to know of their columns.
func backupTables(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]backupTable, error) {
	names, err := queryStrings(ctx, q, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
	if err != nil {
		return nil, err
	}
	names = slices.DeleteFunc(names, func(n string) bool { return slices.Contains(backupSkipped, n) })
	refs := map[string][]string{}
	rows, err := q.QueryContext(ctx, `SELECT c.relname, r.relname FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE k.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var from, to string
		if err := rows.Scan(&from, &to); err != nil {
			rows.Close()
			return nil, err
		}
		if from != to {
			refs[from] = append(refs[from], to)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var ordered []string
	done := map[string]bool{}
	for len(ordered) < len(names) {
		progressed := false
		for _, n := range names {
			if done[n] || slices.ContainsFunc(refs[n], func(r string) bool { return !done[r] && slices.Contains(names, r) }) {
				continue
			}
			done[n], progressed = true, true
			ordered = append(ordered, n)
		}
		if !progressed {
			return nil, errors.New("the tables' foreign keys form a cycle")
		}
	}
	out := make([]backupTable, 0, len(ordered))
	for _, n := range ordered {
		t := backupTable{name: n, orderBy: backupOrder[n]}
		if t.orderBy == "" {
			pk, err := queryStrings(ctx, q, `SELECT a.attname FROM pg_index i
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`, pgx.Identifier{n}.Sanitize())
			if err != nil {
				return nil, err
			}
			if len(pk) == 0 {
				return nil, fmt.Errorf("table %s has no primary key to order its rows by", n)
			}
			for i, c := range pk {
				pk[i] = pgx.Identifier{c}.Sanitize()
			}
			t.orderBy = strings.Join(pk, ", ")
		}
		if t.byteaCols, err = queryStrings(ctx, q, `SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = $1 AND data_type = 'bytea' ORDER BY ordinal_position`, n); err != nil {
			return nil, err
		}
		if t.serialCols, err = queryStrings(ctx, q, `SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = $1 AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')
            ORDER BY ordinal_position`, n); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func queryStrings(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// dbVersionTx is the newest migration applied, read in tx (goose's table).
func dbVersionTx(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
