package control_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/firedrill/firedrill/drills"
)

// A run's view reads the plan the run recorded on every view, each plan text parsed once: a
// second view answers as the first, and a plan row altered in place shows as it now reads,
// never as the parse kept from before.
func TestRunGetReadsTheRecordedPlanOnEveryView(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alice, _ := f.person("alice", drills.RoleSRE)
	run := f.submit(alice)
	intended := func() []string {
		t.Helper()
		v, err := f.ctl.RunGet(ctx, alice, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range v.Participants {
			if p.Intended {
				names = append(names, p.Name)
			}
		}
		return names
	}
	for i := range 2 {
		if got := intended(); !slices.Equal(got, []string{"kim", "lee"}) {
			t.Fatalf("view %d: intended participants = %v, want the plan's kim and lee", i+1, got)
		}
	}
	db, err := sql.Open("pgx", f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `UPDATE plans SET source = replace(source, 'participant "lee"', 'participant "choi"')`); err != nil {
		t.Fatal(err)
	}
	if got := intended(); !slices.Equal(got, []string{"kim", "choi"}) {
		t.Errorf("after the plan row changed: intended participants = %v, want kim and choi", got)
	}
}
