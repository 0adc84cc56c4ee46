package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
	"github.com/firedrill/firedrill/report"
)

// backupRows is a backup read back: each table's rows in the file's order, and the rest.
type backupRows struct {
	header  store.BackupHeader
	tables  map[string][]map[string]json.RawMessage
	trailer store.BackupTrailer
	lines   []string // the row lines, verbatim
}

func readBackup(t *testing.T, data []byte) *backupRows {
	t.Helper()
	b := &backupRows{tables: map[string][]map[string]json.RawMessage{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var l struct {
			Header  *store.BackupHeader        `json:"header"`
			Table   string                     `json:"table"`
			Row     map[string]json.RawMessage `json:"row"`
			Trailer *store.BackupTrailer       `json:"trailer"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("backup line: %v", err)
		}
		switch {
		case l.Header != nil:
			b.header = *l.Header
		case l.Trailer != nil:
			b.trailer = *l.Trailer
		default:
			b.tables[l.Table] = append(b.tables[l.Table], l.Row)
			b.lines = append(b.lines, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return b
}

// exportAll is the backup of dsn, through the store at whatever version dsn is.
func exportAll(t *testing.T, ctx context.Context, dsn string) *backupRows {
	t.Helper()
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var buf bytes.Buffer
	if _, err := st.ExportAll(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	return readBackup(t, buf.Bytes())
}

// cloneDatabase copies the database of dsn (no one may be connected to it) into a new one,
// dropped when the test ends.
func cloneDatabase(t *testing.T, ctx context.Context, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	from := strings.TrimPrefix(u.Path, "/")
	to := fmt.Sprintf("%s_c%d", from, time.Now().UnixNano()%1e6)
	admin, err := pgx.Connect(ctx, storetest.AdminDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{to}.Sanitize()+" TEMPLATE "+pgx.Identifier{from}.Sanitize()); err != nil {
		t.Fatalf("clone %s: %v", from, err)
	}
	t.Cleanup(func() {
		ctx := context.WithoutCancel(ctx)
		if c, err := pgx.Connect(ctx, storetest.AdminDSN()); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{to}.Sanitize()+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u.Path = "/" + to
	return u.String()
}

// TestDemoHistoryUpgradesAndMoves: a year of history recorded by serve --demo on PostgreSQL
// (runs with their events, approvals, operations, findings, a published report and its
// bundle, users, tokens) survives an upgrade from each of the last schema versions and a move
// to a new database with export-all and import, the audit chain verifying after each, and the
// report bundle exported before the move still verifying and linking into the moved chain.
func TestDemoHistoryUpgradesAndMoves(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	t.Cleanup(cancel) // the parallel subtests run after this function returns
	src := storetest.NewDatabase(t)
	keyPath := filepath.Join(t.TempDir(), "signing.pem")
	demo := startDemoServer(t, ctx, "--database-url", src, "--signing-key", keyPath)
	demo.stop() // the database must be idle to be cloned
	original := exportAll(t, ctx, src)
	for _, table := range []string{"runs", "run_events", "operations", "audit_log", "approvals", "findings", "reports", "report_chunks", "report_runs", "users", "api_tokens"} {
		if len(original.tables[table]) == 0 {
			t.Fatalf("the demo history has no %s: nothing to keep", table)
		}
	}
	known := original.header.SchemaVersion

	// Upgrades. How the previous version's database is made: the history is recorded by this
	// binary at the newest schema, then the newest migrations are rolled back (goose down to
	// version v), which removes only what they added: the database is then what version v
	// holds of the same history. No older binary is needed (none is kept), and every row of
	// every table version v has is checked, byte for byte, after `firedrill migrate up`.
	for _, from := range []int64{known - 3, known - 2, known - 1} {
		t.Run("upgrade from "+strconv.FormatInt(from, 10), func(t *testing.T) {
			t.Parallel()
			db := cloneDatabase(t, ctx, src)
			st, err := store.Open(ctx, store.Config{DatabaseURL: db})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.MigrateDownTo(ctx, from); err != nil {
				t.Fatal(err)
			}
			st.Close()
			before := exportAll(t, ctx, db)
			if before.header.SchemaVersion != from {
				t.Fatalf("rolled back to %d, want %d", before.header.SchemaVersion, from)
			}
			env := map[string]string{"FIREDRILL_DATABASE_URL": db}
			if res := runCLI(t, ctx, env, "serve", "--listen", "127.0.0.1:0"); res.code != exitError || !strings.Contains(res.stderr, "at version "+strconv.FormatInt(from, 10)) {
				t.Errorf("serve on version %d without --migrate: exit %d %q, want 1 naming the version", from, res.code, res.stderr)
			}
			if res := runCLI(t, ctx, env, "migrate", "up"); res.code != exitOK {
				t.Fatalf("migrate up: exit %d\n%s", res.code, res.stderr)
			}
			after := exportAll(t, ctx, db)
			for table, rows := range before.tables {
				got := after.tables[table]
				if len(got) != len(rows) {
					t.Errorf("%s: %d rows after the upgrade, %d before", table, len(got), len(rows))
					continue
				}
			rowsOf:
				for i, row := range rows {
					for col, v := range row {
						if w, ok := got[i][col]; !ok || !bytes.Equal(w, v) {
							t.Errorf("%s row %d column %s: %s after the upgrade, %s before (first difference of the table)", table, i, col, w, v)
							break rowsOf
						}
					}
				}
			}
			// What the upgrade adds back from the history (00014 names each report's runs)
			// is what the history itself wrote.
			if from >= 12 && !reflect.DeepEqual(after.tables["report_runs"], original.tables["report_runs"]) {
				t.Errorf("report_runs after upgrading from %d = %d rows, want the %d the export recorded", from, len(after.tables["report_runs"]), len(original.tables["report_runs"]))
			}
			if res := runCLI(t, ctx, env, "audit", "verify"); res.code != exitOK {
				t.Errorf("audit verify after the upgrade: exit %d\n%s%s", res.code, res.stdout, res.stderr)
			}
		})
	}

	t.Run("export-all and import", func(t *testing.T) {
		t.Parallel()
		db := cloneDatabase(t, ctx, src) // the source stays idle for the upgrades' clones
		file := filepath.Join(t.TempDir(), "firedrill.jsonl")
		if res := runCLI(t, ctx, map[string]string{"FIREDRILL_DATABASE_URL": db}, "export-all", "--out", file); res.code != exitOK {
			t.Fatalf("export-all: exit %d\n%s", res.code, res.stderr)
		}
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("backup file mode = %v, %v; want 0600", fi.Mode(), err)
		}
		moved := storetest.NewDatabase(t)
		env := map[string]string{"FIREDRILL_DATABASE_URL": moved}
		if res := runCLI(t, ctx, env, "migrate", "up"); res.code != exitOK {
			t.Fatalf("migrate up: exit %d\n%s", res.code, res.stderr)
		}
		if res := runCLI(t, ctx, env, "import", file); res.code != exitOK || !strings.Contains(res.stdout, "imported") {
			t.Fatalf("import: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		if res := runCLI(t, ctx, env, "audit", "verify"); res.code != exitOK {
			t.Errorf("audit verify after the move: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		// Every row of every table, as it was.
		again := exportAll(t, ctx, moved)
		if !reflect.DeepEqual(again.lines, original.lines) || !reflect.DeepEqual(again.trailer, original.trailer) {
			t.Errorf("the moved database's export differs from the original's: %d rows vs %d, trailer %+v vs %+v",
				len(again.lines), len(original.lines), again.trailer, original.trailer)
		}
		// A second import into the same database is refused.
		if res := runCLI(t, ctx, env, "import", file); res.code != exitError || !strings.Contains(res.stderr, "already has rows") {
			t.Errorf("second import: exit %d %q, want 1: already has rows", res.code, res.stderr)
		}

		// The report bundle exported before the move: the same bytes come out of the new
		// database, they verify, and the chain head they name is in the moved chain.
		pubPEM := runCLI(t, ctx, nil, "report", "public-key", "--signing-key", keyPath)
		pub, err := report.ParsePublicKeyPEM([]byte(pubPEM.stdout))
		if err != nil {
			t.Fatalf("public key: %v\n%s", err, pubPEM.stderr)
		}
		bundle := func(dsn string) []byte {
			st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			list, err := st.ReportList(ctx, &store.ReportListParams{State: "published"})
			if err != nil || len(list) == 0 {
				t.Fatalf("published reports: %v, %v", list, err)
			}
			var b bytes.Buffer
			if _, err := st.ReportBundleCopy(ctx, list[0].ID, &b); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}
		before, after := bundle(src), bundle(moved)
		if !bytes.Equal(before, after) {
			t.Fatalf("the bundle out of the moved database (%d bytes) differs from the original (%d bytes)", len(after), len(before))
		}
		v, err := report.Verify(bytes.NewReader(after), int64(len(after)), pub)
		if err != nil || !v.OK() {
			t.Fatalf("report verify after the move = %+v, %v", v, err)
		}
		conn, err := pgx.Connect(ctx, moved)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var hash string
		if err := conn.QueryRow(ctx, "SELECT hash FROM audit_log WHERE seq = $1", v.AuditHead.Seq).Scan(&hash); err != nil || hash != v.AuditHead.Hash {
			t.Errorf("audit row %d of the moved chain = %q, %v; the bundle names %s", v.AuditHead.Seq, hash, err, v.AuditHead.Hash)
		}

		// The moved database keeps recording: a new drill's events and operations take new
		// IDs and extend the chain, which still verifies.
		if res := runCLI(t, ctx, env, "demo"); res.code != exitOK {
			t.Fatalf("a drill on the moved database: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		if res := runCLI(t, ctx, env, "audit", "verify", "--json"); res.code != exitOK || !strings.Contains(res.stdout, `"verified": true`) {
			t.Errorf("audit verify after a new drill: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
	})
}
