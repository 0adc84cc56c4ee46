package store

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Limits of an import's memory: a line (a report chunk is 1 MiB, 1.4 MiB in base64) and the
// rows sent in one INSERT.
const (
	backupMaxLine   = 16 << 20
	backupBatchRows = 500
	backupBatchSize = 1 << 20
)

// Import loads a backup ExportAll wrote into this database, in one transaction: everything or
// nothing. The database must be PostgreSQL, migrated to the version the backup was taken at,
// which must be this binary's, and empty (freshly migrated; its genesis audit head is replaced
// by the backup's). It runs as the owner role: the triggers that would audit the rows again, or
// refuse the runs of a published report, are disabled while the rows go in (ALTER TABLE ...
// DISABLE TRIGGER USER, inside the transaction; foreign keys are still checked). The trailer's
// counts and audit head must match what was loaded. It reads one line at a time and sends the
// rows in batches: memory does not grow with the backup.
func (s *Store) Import(ctx context.Context, r io.Reader) (*BackupHeader, *BackupTrailer, error) {
	if s.dialect != DialectPostgres {
		return nil, nil, errors.New("import: backups go into PostgreSQL databases")
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), backupMaxLine)
	lineNo := 0
	next := func() (*backupLine, error) {
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrBackupRefused, lineNo+1, err)
			}
			return nil, nil
		}
		lineNo++
		var l backupLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrBackupRefused, lineNo, err)
		}
		return &l, nil
	}
	first, err := next()
	if err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	if first == nil || first.Header == nil {
		return nil, nil, fmt.Errorf("import: %w: line 1 is not a firedrill backup header", ErrBackupRefused)
	}
	h := first.Header
	if h.Format != BackupFormat {
		return nil, nil, fmt.Errorf("import: %w: backup format %d, this firedrill reads %d", ErrBackupRefused, h.Format, BackupFormat)
	}
	if h.Dialect != DialectPostgres {
		return nil, nil, fmt.Errorf("import: %w: a %q backup; this firedrill imports PostgreSQL backups", ErrBackupRefused, h.Dialect)
	}
	p, err := s.provider()
	if err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	current, known, err := s.schemaVersions(ctx, p)
	if err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	if h.SchemaVersion != known || current != known {
		return nil, nil, fmt.Errorf("import: %w: the backup is of schema version %d, the database is at %d and this firedrill at %d; import into a database migrated to the backup's version with the firedrill release that wrote it (then upgrade)",
			ErrBackupRefused, h.SchemaVersion, current, known)
	}

	tx, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	tables, err := backupTables(ctx, tx)
	if err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	byName := map[string]backupTable{}
	for _, t := range tables {
		byName[t.name] = t
	}
	if got, want := slices.Sorted(slices.Values(h.Tables)), slices.Sorted(maps.Keys(byName)); !slices.Equal(got, want) {
		return nil, nil, fmt.Errorf("import: %w: the backup's tables %v are not the database's %v", ErrBackupRefused, got, want)
	}
	var owner string
	var owns bool
	if err := tx.QueryRowContext(ctx, `SELECT tableowner, pg_has_role(current_user, tableowner, 'MEMBER') FROM pg_tables
        WHERE schemaname = current_schema() AND tablename = 'audit_log'`).Scan(&owner, &owns); err != nil {
		return nil, nil, fmt.Errorf("import: owner of the tables: %w", err)
	}
	if !owns {
		return nil, nil, fmt.Errorf("import: %w: connect as the owner role (%s), which owns the tables: the runtime role may not load the record", ErrBackupRefused, owner)
	}
	if err := importEmpty(ctx, tx, tables); err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, "ALTER TABLE "+pgx.Identifier{t.name}.Sanitize()+" DISABLE TRIGGER USER"); err != nil {
			return nil, nil, fmt.Errorf("import: disable the triggers of %s (import runs as the owner role): %w", t.name, err)
		}
	}

	counts := map[string]int64{}
	b := &importBatch{}
	pos := -1 // index in h.Tables of the table being loaded
	var trailer *BackupTrailer
	for {
		l, err := next()
		if err != nil {
			return nil, nil, fmt.Errorf("import: %w", err)
		}
		if l == nil {
			break
		}
		if trailer != nil {
			return nil, nil, fmt.Errorf("import: %w: line %d follows the trailer", ErrBackupRefused, lineNo)
		}
		if l.Trailer != nil {
			trailer = l.Trailer
			continue
		}
		t, ok := byName[l.Table]
		if !ok || len(l.Row) == 0 {
			return nil, nil, fmt.Errorf("import: %w: line %d: not a row of a known table", ErrBackupRefused, lineNo)
		}
		if pos < 0 || h.Tables[pos] != t.name {
			at := slices.Index(h.Tables, t.name)
			if at < pos {
				return nil, nil, fmt.Errorf("import: %w: line %d: a row of %s after those of %s, out of the header's order", ErrBackupRefused, lineNo, t.name, h.Tables[pos])
			}
			if err := b.flush(ctx, tx); err != nil {
				return nil, nil, fmt.Errorf("import: %w", err)
			}
			pos = at
		}
		row, err := rowFromBackup(t, l.Row)
		if err != nil {
			return nil, nil, fmt.Errorf("import: %w: line %d: %v", ErrBackupRefused, lineNo, err)
		}
		b.add(t.name, row)
		counts[t.name]++
		if len(b.rows) >= backupBatchRows || b.size >= backupBatchSize {
			if err := b.flush(ctx, tx); err != nil {
				return nil, nil, fmt.Errorf("import: %w", err)
			}
		}
	}
	if err := b.flush(ctx, tx); err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	if trailer == nil {
		return nil, nil, fmt.Errorf("import: %w: no trailer after line %d: the backup is truncated", ErrBackupRefused, lineNo)
	}
	for _, name := range h.Tables {
		if counts[name] != trailer.Counts[name] {
			return nil, nil, fmt.Errorf("import: %w: %d rows of %s loaded, the trailer says %d", ErrBackupRefused, counts[name], name, trailer.Counts[name])
		}
	}
	var head AuditHeadRef
	if err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&head.Seq, &head.Hash); err != nil {
		return nil, nil, fmt.Errorf("import: %w: audit head: %v", ErrBackupRefused, err)
	}
	if head != trailer.AuditHead {
		return nil, nil, fmt.Errorf("import: %w: the audit head loaded is %d %s, the trailer says %d %s", ErrBackupRefused, head.Seq, head.Hash, trailer.AuditHead.Seq, trailer.AuditHead.Hash)
	}
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, "ALTER TABLE "+pgx.Identifier{t.name}.Sanitize()+" ENABLE TRIGGER USER"); err != nil {
			return nil, nil, fmt.Errorf("import: enable the triggers of %s: %w", t.name, err)
		}
		for _, c := range t.serialCols {
			// The next generated ID comes after the rows loaded.
			q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(MAX(%s), 0) + 1, false) FROM %s",
				quoteLiteral(pgx.Identifier{t.name}.Sanitize()), quoteLiteral(c), pgx.Identifier{c}.Sanitize(), pgx.Identifier{t.name}.Sanitize())
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return nil, nil, fmt.Errorf("import: sequence of %s.%s: %w", t.name, c, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	s.schemaOKUntil.Store(0)
	return h, trailer, nil
}

// importEmpty refuses a database that holds anything but a fresh migration's rows, then takes
// out the genesis audit head the backup replaces.
func importEmpty(ctx context.Context, tx *sql.Tx, tables []backupTable) error {
	for _, t := range tables {
		q := "SELECT EXISTS (SELECT 1 FROM " + pgx.Identifier{t.name}.Sanitize() + ")"
		if t.name == "audit_head" {
			q = "SELECT EXISTS (SELECT 1 FROM audit_head WHERE seq <> 0)"
		}
		var any bool
		if err := tx.QueryRowContext(ctx, q).Scan(&any); err != nil {
			return fmt.Errorf("is %s empty: %w", t.name, err)
		}
		if any {
			return fmt.Errorf("%w: table %s already has rows; import only into a new, freshly migrated database", ErrBackupRefused, t.name)
		}
	}
	_, err := tx.ExecContext(ctx, "DELETE FROM audit_head")
	return err
}

// rowFromBackup turns a backup's row into what jsonb_populate_recordset reads: its bytea
// columns from base64 to PostgreSQL's hex text.
func rowFromBackup(t backupTable, row json.RawMessage) (json.RawMessage, error) {
	if len(t.byteaCols) == 0 {
		if !json.Valid(row) || !bytes.HasPrefix(bytes.TrimSpace(row), []byte("{")) {
			return nil, errors.New("the row is not a JSON object")
		}
		return row, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(row, &m); err != nil {
		return nil, fmt.Errorf("the row is not a JSON object: %v", err)
	}
	for _, c := range t.byteaCols {
		v, ok := m[c]
		if !ok || string(v) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("column %s: want base64 in a string: %v", c, err)
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("column %s: %v", c, err)
		}
		enc, _ := json.Marshal(`\x` + hex.EncodeToString(raw))
		m[c] = enc
	}
	return json.Marshal(m)
}

// importBatch holds the rows of one table that go in with one INSERT.
type importBatch struct {
	table string
	rows  []json.RawMessage
	size  int
}

func (b *importBatch) add(table string, row json.RawMessage) {
	b.table = table
	b.rows = append(b.rows, row)
	b.size += len(row)
}

func (b *importBatch) flush(ctx context.Context, tx *sql.Tx) error {
	if len(b.rows) == 0 {
		return nil
	}
	var arr strings.Builder
	arr.Grow(b.size + len(b.rows) + 2)
	arr.WriteByte('[')
	for i, r := range b.rows {
		if i > 0 {
			arr.WriteByte(',')
		}
		arr.Write(r)
	}
	arr.WriteByte(']')
	t := pgx.Identifier{b.table}.Sanitize()
	q := "INSERT INTO " + t + " OVERRIDING SYSTEM VALUE SELECT * FROM jsonb_populate_recordset(NULL::" + t + ", $1::jsonb)"
	if _, err := tx.ExecContext(ctx, q, arr.String()); err != nil {
		return fmt.Errorf("load %d rows of %s: %w", len(b.rows), b.table, err)
	}
	b.rows, b.size = b.rows[:0], 0
	return nil
}
