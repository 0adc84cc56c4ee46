package store_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// heapWatch records the largest heap seen while data flows through it, sampled every few
// calls (ReadMemStats stops the world).
type heapWatch struct {
	calls int
	peak  uint64
}

func (h *heapWatch) sample() {
	h.calls++
	if h.calls%100 != 0 {
		return
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.peak = max(h.peak, m.HeapAlloc)
}

type watchedWriter struct {
	w io.Writer
	h *heapWatch
	n int64
}

func (w *watchedWriter) Write(p []byte) (int, error) {
	w.h.sample()
	w.n += int64(len(p))
	return w.w.Write(p)
}

type watchedReader struct {
	r io.Reader
	h *heapWatch
}

func (r *watchedReader) Read(p []byte) (int, error) {
	r.h.sample()
	return r.r.Read(p)
}

func heapNow() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestBackupStreams: 4,000 operations of 8 KiB (and their 4,000 audit rows, as large) go out
// and back in without the heap growing by anything near the tables' size, and the chain
// verifies in the new database. Not parallel: other tests' allocations would blur the heap.
func TestBackupStreams(t *testing.T) {
	ctx := context.Background()
	src := storetest.Postgres(t)
	const rows = 4000
	if err := src.DBForTest().Exec(`INSERT INTO operations (at, actor_kind, actor_name, operation, outcome, message)
        SELECT now(), 'person', 'alice', 'freeze.on', 'ok', repeat(md5(i::text), 256) FROM generate_series(1, ?) AS i`, rows).Error; err != nil {
		t.Fatal(err)
	}
	// A file, not a buffer: a buffer the size of the tables would be live heap, and raise the
	// collector's goal to let garbage pile up as high.
	file, err := os.Create(filepath.Join(t.TempDir(), "backup.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	base := heapNow()
	h := &heapWatch{}
	w := &watchedWriter{w: file, h: h}
	trailer, err := src.ExportAll(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if trailer.Counts["operations"] != rows || trailer.Counts["audit_log"] != rows || trailer.AuditHead.Seq != rows {
		t.Fatalf("trailer = %+v, want %d operations and audit rows", trailer, rows)
	}
	const bound = 24 << 20
	t.Logf("export: %d MiB written, heap grown by %d KiB", w.n>>20, (int64(h.peak)-int64(base))>>10)
	if grown := int64(h.peak) - int64(base); w.n < 2*bound || grown > bound {
		t.Errorf("export of %d MiB grew the heap by %d MiB, want under %d MiB", w.n>>20, grown>>20, bound>>20)
	}

	dst := storetest.Postgres(t)
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	base = heapNow()
	h = &heapWatch{}
	if _, _, err := dst.Import(ctx, &watchedReader{r: file, h: h}); err != nil {
		t.Fatal(err)
	}
	t.Logf("import: heap grown by %d KiB", (int64(h.peak)-int64(base))>>10)
	if grown := int64(h.peak) - int64(base); grown > bound {
		t.Errorf("import of %d MiB grew the heap by %d MiB, want under %d MiB", w.n>>20, grown>>20, bound>>20)
	}
	rep, err := dst.AuditVerify(ctx, nil)
	if err != nil || rep.Problem != nil || rep.Rows != rows {
		t.Fatalf("AuditVerify after import = %+v, %v; want %d rows verified", rep, err, rows)
	}
	// The identity columns continue after the rows loaded: a new operation gets the next ID
	// and the next link of the chain.
	if err := dst.DBForTest().Exec(`INSERT INTO operations (at, actor_kind, actor_name, operation, outcome) VALUES (now(), 'person', 'bob', 'freeze.off', 'ok')`).Error; err != nil {
		t.Fatalf("insert after import: %v", err)
	}
	if rep, err := dst.AuditVerify(ctx, nil); err != nil || rep.Problem != nil || rep.HeadSeq != rows+1 {
		t.Errorf("AuditVerify after a new operation = %+v, %v; want head %d", rep, err, rows+1)
	}
}

// TestImportRefuses: a database that is not empty, a truncated or altered backup, another
// schema version: refused, and the database is as it was.
func TestImportRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := storetest.Postgres(t)
	if err := src.DBForTest().Exec(`INSERT INTO operations (at, actor_kind, actor_name, operation, outcome)
        SELECT now(), 'person', 'alice', 'freeze.on', 'ok' FROM generate_series(1, 30)`).Error; err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if _, err := src.ExportAll(ctx, &file); err != nil {
		t.Fatal(err)
	}
	backup := file.String()
	lines := strings.SplitAfter(strings.TrimSuffix(backup, "\n"), "\n")

	tests := []struct {
		name, backup, want string
	}{
		{"truncated", strings.Join(lines[:len(lines)-1], ""), "truncated"},
		{"row removed", strings.Join(append(append([]string{}, lines[:5]...), lines[6:]...), ""), "the trailer says"},
		{"other version", strings.Replace(backup, `"schema_version":`, `"schema_version":1`, 1), "schema version"},
		{"not a backup", "hello\n", "line 1"},
		{"unknown table", strings.Replace(backup, `{"table":"operations"`, `{"table":"pg_authid"`, 1), "not a row of a known table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dst := storetest.Postgres(t)
			_, _, err := dst.Import(ctx, bufio.NewReader(strings.NewReader(tt.backup)))
			if !errors.Is(err, store.ErrBackupRefused) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Import(%s) = %v, want ErrBackupRefused saying %q", tt.name, err, tt.want)
			}
			var n int64
			if err := dst.DBForTest().Raw("SELECT (SELECT count(*) FROM operations) + (SELECT count(*) FROM audit_log) + (SELECT seq FROM audit_head)").Scan(&n).Error; err != nil || n != 0 {
				t.Errorf("after a refused import: %d rows, %v; want the database untouched", n, err)
			}
		})
	}
	t.Run("not empty", func(t *testing.T) {
		t.Parallel()
		if _, _, err := src.Import(ctx, strings.NewReader(backup)); !errors.Is(err, store.ErrBackupRefused) || !strings.Contains(err.Error(), "already has rows") {
			t.Fatalf("Import into the source = %v, want refused: already has rows", err)
		}
	})
	t.Run("runtime role", func(t *testing.T) {
		t.Parallel()
		roles := storetest.PostgresRoles(t)
		if _, _, err := roles.Runtime.Import(ctx, strings.NewReader(backup)); err == nil || !strings.Contains(err.Error(), "owner role") {
			t.Fatalf("Import as the runtime role = %v, want it refused, naming the owner role", err)
		}
		var n int64
		if err := roles.Owner.DBForTest().Raw("SELECT count(*) FROM operations").Scan(&n).Error; err != nil || n != 0 {
			t.Errorf("after a refused import: %d operations, %v; want none", n, err)
		}
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		if _, err := storetest.SQLite(t).ExportAll(ctx, io.Discard); err == nil || !strings.Contains(err.Error(), "copying its file") {
			t.Errorf("ExportAll on SQLite = %v, want it to say how a SQLite database is backed up", err)
		}
	})
}
