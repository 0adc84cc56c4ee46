package store_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

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
