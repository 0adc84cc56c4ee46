package store_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestMigrationsMatchModels fails the day a model field is added without a migration, or a
// migration adds a column no model maps, or a type or nullability drifts between the two.
func TestMigrationsMatchModels(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		db := s.DBForTest()
		for _, model := range store.AllModelsForTest() {
			sch, err := schema.Parse(model, &sync.Map{}, db.NamingStrategy)
			if err != nil {
				t.Fatalf("parse model %T: %v", model, err)
			}
			t.Run(sch.Table, func(t *testing.T) {
				cols, err := db.Migrator().ColumnTypes(model)
				if err != nil {
					t.Fatalf("ColumnTypes(%s): %v", sch.Table, err)
				}
				if len(cols) == 0 {
					t.Fatalf("table %s has no columns (missing from the migration?)", sch.Table)
				}
				byName := map[string]gorm.ColumnType{}
				for _, c := range cols {
					byName[c.Name()] = c
				}
				fields := map[string]*schema.Field{}
				for _, f := range sch.Fields {
					if f.DBName == "" {
						continue
					}
					fields[f.DBName] = f
					col, ok := byName[f.DBName]
					if !ok {
						t.Errorf("%s.%s (field %s) has no column in the migration", sch.Table, f.DBName, f.Name)
						continue
					}
					wantFamily := goFamily(f.FieldType)
					gotFamily := dbFamily(col.DatabaseTypeName())
					if s.Dialect() == store.DialectSQLite && wantFamily == "json" && gotFamily == "text" {
						gotFamily = "json" // SQLite keeps JSON in TEXT (checked by json_valid)
					}
					if wantFamily != gotFamily {
						t.Errorf("%s.%s: column type %s (%s), field %s is %s (%s)",
							sch.Table, f.DBName, col.DatabaseTypeName(), gotFamily, f.Name, f.FieldType, wantFamily)
					}
					nullable, ok := col.Nullable()
					if !ok {
						t.Errorf("%s.%s: nullability unknown", sch.Table, f.DBName)
						continue
					}
					wantNullable := f.FieldType.Kind() == reflect.Pointer
					if nullable != wantNullable {
						t.Errorf("%s.%s: column nullable=%v, field %s (%s) nullable=%v",
							sch.Table, f.DBName, nullable, f.Name, f.FieldType, wantNullable)
					}
				}
				for name := range byName {
					if _, ok := fields[name]; !ok {
						t.Errorf("%s.%s is in the migration but no model field maps it", sch.Table, name)
					}
				}
			})
		}
	})
}

func goFamily(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return "time"
	case t.Name() == "jsonDoc":
		return "json"
	case t == reflect.TypeFor[[]byte]():
		return "bytes"
	}
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "int"
	}
	return "unknown " + t.String()
}

func dbFamily(typ string) string {
	switch strings.ToLower(typ) {
	case "text", "varchar", "character varying":
		return "text"
	case "timestamptz", "timestamp with time zone", "datetime":
		return "time"
	case "jsonb", "json":
		return "json"
	case "bool", "boolean":
		return "bool"
	case "bytea", "blob":
		return "bytes"
	case "int2", "int4", "int8", "integer", "bigint", "smallint":
		return "int"
	}
	return "unknown " + typ
}

func TestMigrateStatusUpDown(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		assertAllApplied := func(when string) {
			t.Helper()
			sts, err := s.MigrateStatus(ctx)
			if err != nil {
				t.Fatalf("%s: MigrateStatus: %v", when, err)
			}
			if len(sts) == 0 {
				t.Fatalf("%s: MigrateStatus = no migrations", when)
			}
			for _, st := range sts {
				if !st.Applied || st.AppliedAt.IsZero() || st.AppliedAt.Location() != time.UTC {
					t.Errorf("%s: MigrateStatus %d %s = applied %v at %v, want applied in UTC", when, st.Version, st.Name, st.Applied, st.AppliedAt)
				}
			}
			if sts[0].Version != 1 || sts[0].Name != "00001_initial.sql" {
				t.Errorf("%s: first migration = %d %q, want 1 00001_initial.sql", when, sts[0].Version, sts[0].Name)
			}
			if err := s.SchemaCheck(ctx); err != nil {
				t.Errorf("%s: SchemaCheck = %v, want nil", when, err)
			}
		}
		assertAllApplied("after up")

		again, err := s.MigrateUp(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second MigrateUp = %v, %v; want nothing applied", again, err)
		}

		down, err := s.MigrateDownTo(ctx, 0)
		if err != nil || len(down) == 0 {
			t.Fatalf("MigrateDownTo(0) = %v, %v; want every migration rolled back", down, err)
		}
		err = s.SchemaCheck(ctx)
		if !errors.Is(err, store.ErrSchemaOutdated) || !strings.Contains(err.Error(), "1") {
			t.Fatalf("SchemaCheck after down = %v, want ErrSchemaOutdated naming version 1", err)
		}
		if s.DBForTest().Migrator().HasTable("runs") {
			t.Errorf("table runs still exists after down")
		}

		up, err := s.MigrateUp(ctx)
		if err != nil || len(up) != len(down) {
			t.Fatalf("MigrateUp after down = %v, %v; want %d applied", up, err, len(down))
		}
		for _, m := range up {
			if !m.Applied {
				t.Errorf("MigrateUp result %d not marked applied", m.Version)
			}
		}
		assertAllApplied("after down and up")
	})
}

func TestSchemaCheckFreshDatabase(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if err := s.SchemaCheck(ctx); !errors.Is(err, store.ErrSchemaOutdated) {
		t.Fatalf("SchemaCheck on empty database = %v, want ErrSchemaOutdated", err)
	}
	applied, err := s.MigrateUp(ctx)
	if err != nil || len(applied) == 0 || applied[0].Version != 1 {
		t.Fatalf("MigrateUp = %v, %v; want version 1 applied first", applied, err)
	}
	if err := s.SchemaCheck(ctx); err != nil {
		t.Fatalf("SchemaCheck after up = %v", err)
	}
}

// TestMigrationBackfillsActors: rows written before 00005, with actors as free text, come out
// as typed actors; a migration down and up again keeps them.
func TestMigrationBackfillsActors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.MigrateDownTo(ctx, 4); err != nil {
			t.Fatalf("MigrateDownTo(4): %v", err)
		}
		db := s.DBForTest()
		now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO plans (id, name, file, sha256, source, created_at) VALUES ('p1', 'site-loss', '', 'abc123', 'plan', ?)`, []any{now}},
			{`INSERT INTO runs (id, plan_id, plan_name, state, triggered_by, created_at, updated_at) VALUES
				('r-cli', 'p1', 'site-loss', 'pending', 'cli:alice (forced: dependency validation skipped)', ?, ?),
				('r-sched', 'p1', 'site-loss', 'pending', 'schedule:nightly', ?, ?),
				('r-demo', 'p1', 'site-loss', 'pending', 'demo', ?, ?),
				('r-none', 'p1', 'site-loss', 'pending', '', ?, ?)`, []any{now, now, now, now, now, now, now, now}},
			{`UPDATE runs SET abort_requested_at = ?, abort_requested_by = 'firedrill (stop condition) rto_budget', abort_reason = 'over' WHERE id = 'r-sched'`, []any{now}},
			{`UPDATE runs SET abort_requested_at = ?, abort_requested_by = 'cli:bob', abort_reason = 'interrupted' WHERE id = 'r-cli'`, []any{now}},
			{`INSERT INTO users (name, roles, disabled, created_at, updated_at) VALUES ('alice', '["sre","compliance"]', false, ?, ?)`, []any{now, now}},
			{`INSERT INTO approvals (id, run_id, approver, roles, decision, comment, decided_at) VALUES ('a1', 'r-demo', 'kim', '["compliance"]', 'approve', '', ?)`, []any{now}},
			{`INSERT INTO freezes (id, reason, set_by, set_at, lifted_by, lifted_at) VALUES ('f1', 'quarter end', 'alice', ?, 'bob', ?)`, []any{now, now}},
			{`INSERT INTO schedules (name, plan_name, spec, paused, paused_by, paused_reason, updated_at) VALUES
				('nightly', 'site-loss', '{}', true, 'estate', 'gone', ?), ('weekly', 'site-loss', '{}', true, 'alice', 'maintenance', ?)`, []any{now, now}},
			{`INSERT INTO step_results (id, run_id, seq, step_key, action, state, started_at) VALUES ('s1', 'r-demo', 1, 'call', 'manual', 'running', ?)`, []any{now}},
			{`INSERT INTO step_decisions (id, run_id, step_id, step_key, decision, decided_by, decided_at) VALUES ('d1', 'r-demo', 's1', 'call', 'done', 'cli:carol', ?)`, []any{now}},
		} {
			if err := db.Exec(q.sql, q.args...).Error; err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
		if _, err := s.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp: %v", err)
		}
		check := func() {
			t.Helper()
			local := func(n string) drills.Actor { return drills.Actor{Kind: drills.ActorLocal, Name: n, Via: drills.ViaCLI} }
			runs := map[string]struct {
				by     drills.Actor
				forced bool
				abort  drills.Actor
				cond   string
			}{
				"r-cli":   {local("alice"), true, local("bob"), ""},
				"r-sched": {drills.Actor{Kind: drills.ActorSchedule, Name: "nightly"}, false, drills.Actor{Kind: drills.ActorStopCondition, Name: "rto_budget"}, "rto_budget"},
				"r-demo":  {drills.Actor{Kind: drills.ActorSystem, Name: "demo"}, false, drills.Actor{}, ""},
				"r-none":  {drills.Actor{Kind: drills.ActorSystem, Name: "unknown"}, false, drills.Actor{}, ""},
			}
			for id, want := range runs {
				r, err := s.RunGet(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if r.RequestedBy != want.by || r.Forced != want.forced || r.AbortRequestedBy != want.abort || r.AbortStopCondition != want.cond || r.PlanSHA256 != "abc123" {
					t.Errorf("run %s = requested by %+v forced %v abort by %+v (%q) plan %q; want %+v", id, r.RequestedBy, r.Forced, r.AbortRequestedBy, r.AbortStopCondition, r.PlanSHA256, want)
				}
			}
			if a, err := s.ApprovalList(ctx, "r-demo"); err != nil || len(a) != 1 || a[0].By != local("kim") {
				t.Errorf("approvals = %+v, %v", a, err)
			}
			if f, err := s.FreezeLatest(ctx); err != nil || f.SetBy != local("alice") || f.LiftedBy != local("bob") {
				t.Errorf("freeze = %+v, %v", f, err)
			}
			if n, err := s.ScheduleGet(ctx, "nightly"); err != nil || !n.Orphaned || n.PausedBy != store.ScheduleOrphanedBy {
				t.Errorf("orphaned schedule = %+v, %v", n, err)
			}
			if w, err := s.ScheduleGet(ctx, "weekly"); err != nil || w.PausedBy != local("alice") || w.Orphaned {
				t.Errorf("paused schedule = %+v, %v", w, err)
			}
			if d, err := s.StepDecisionGet(ctx, "s1"); err != nil || d.By != local("carol") {
				t.Errorf("decision = %+v, %v", d, err)
			}
			legacy := drills.Actor{Kind: drills.ActorSystem, Name: "legacy"}
			if u, err := s.UserGet(ctx, "alice"); err != nil || u.CreatedBy != legacy {
				t.Errorf("user = %+v, %v", u, err)
			}
			if g, err := s.RoleGrantList(ctx, "alice"); err != nil || len(g) != 2 || g[0].By != legacy || g[0].Change != store.RoleChangeGrant {
				t.Errorf("legacy grants = %+v, %v", g, err)
			}
		}
		check()
		if _, err := s.MigrateDownTo(ctx, 4); err != nil {
			t.Fatalf("MigrateDownTo(4) with data: %v", err)
		}
		var triggered string
		if err := db.Raw(`SELECT triggered_by FROM runs WHERE id = 'r-cli'`).Scan(&triggered).Error; err != nil || triggered != "cli:alice (forced: dependency validation skipped)" {
			t.Errorf("triggered_by after down = %q, %v", triggered, err)
		}
		// role_grants is gone with 00005; the legacy grants come back from the users' roles.
		if _, err := s.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp again: %v", err)
		}
		check()
	})
}

// TestSchemaCheckNewerDatabase: a database a newer firedrill migrated (a version this binary
// has no file for) is refused, naming both versions, and SchemaVersion reports them.
func TestSchemaCheckNewerDatabase(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		current, known, err := s.SchemaVersion(ctx)
		if err != nil || current != known || known == 0 {
			t.Fatalf("SchemaVersion = %d, %d, %v; want the binary's newest twice", current, known, err)
		}
		newer := known + 1
		if err := s.DBForTest().Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)", newer, true).Error; err != nil {
			t.Fatal(err)
		}
		err = s.SchemaCheck(ctx)
		if !errors.Is(err, store.ErrSchemaNewer) {
			t.Fatalf("SchemaCheck = %v, want ErrSchemaNewer", err)
		}
		for _, v := range []int64{newer, known} {
			if !strings.Contains(err.Error(), strconv.FormatInt(v, 10)) {
				t.Errorf("SchemaCheck = %q, want it to name version %d", err, v)
			}
		}
		if err := s.Health(ctx); !errors.Is(err, store.ErrSchemaNewer) {
			t.Errorf("Health = %v, want ErrSchemaNewer", err)
		}
		if current, _, err := s.SchemaVersion(ctx); err != nil || current != newer {
			t.Errorf("SchemaVersion current = %d, %v; want %d", current, err, newer)
		}
	})
}
