package store_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// Every run records the firedrill build that created it, on both dialects.
func TestRunInsertRecordsTheVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, dsn := range map[string]string{
		"sqlite":   "sqlite:" + filepath.Join(t.TempDir(), "firedrill.db"),
		"postgres": storetest.NewDatabase(t),
	} {
		t.Run(name, func(t *testing.T) {
			s, err := store.Open(ctx, store.Config{DatabaseURL: dsn, Version: "v1.2.3", Commit: "abc123+dirty"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if _, err := s.MigrateUp(ctx); err != nil {
				t.Fatal(err)
			}
			b := setup(t, s)
			got, err := s.RunGet(ctx, b.run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.FiredrillVersion != "v1.2.3" || got.FiredrillCommit != "abc123+dirty" {
				t.Errorf("RunGet version %q commit %q, want v1.2.3 abc123+dirty", got.FiredrillVersion, got.FiredrillCommit)
			}
			evs, err := s.RunEventList(ctx, b.run.ID)
			if err != nil || len(evs) == 0 || !jsonHas(evs[0].Data, "firedrill_commit", "abc123+dirty") {
				t.Errorf("run_created event = %v, %v; want the commit in its data", evs, err)
			}
		})
	}
}

// jsonHas reports whether the JSON object doc has key with the string value want.
func jsonHas(doc []byte, key, want string) bool {
	var m map[string]any
	return json.Unmarshal(doc, &m) == nil && m[key] == want
}
