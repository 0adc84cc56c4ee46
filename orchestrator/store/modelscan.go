package store

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// rowScanner is what both database/sql's and pgx's rows offer.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// modelColumns scans rows of a gorm model without gorm: the reads every view of a run makes
// went through gorm's statement building and reflective scan, which cost more than the rows.
// The columns are gorm's own (its schema of the model), so the two cannot drift apart.
type modelColumns[T any] struct {
	names []string
	index [][]int
}

// newModelColumns is T's columns, as gorm maps them; T is a model, so an error is a bug.
func newModelColumns[T any]() *modelColumns[T] {
	sch, err := schema.Parse(new(T), &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		panic(fmt.Sprintf("store: model %T: %v", *new(T), err))
	}
	mc := &modelColumns[T]{}
	for _, f := range sch.Fields {
		if f.DBName == "" || !f.Readable {
			continue
		}
		for _, i := range f.StructField.Index {
			if i < 0 {
				panic(fmt.Sprintf("store: model %T: field %s is behind a pointer", *new(T), f.Name))
			}
		}
		mc.names = append(mc.names, f.DBName)
		mc.index = append(mc.index, f.StructField.Index)
	}
	return mc
}

// list is the select list of the columns, each qualified with alias (none when empty).
func (mc *modelColumns[T]) list(alias string) string {
	var b strings.Builder
	for i, n := range mc.names {
		if i > 0 {
			b.WriteString(", ")
		}
		if alias != "" {
			b.WriteString(alias)
			b.WriteByte('.')
		}
		b.WriteByte('"')
		b.WriteString(n)
		b.WriteByte('"')
	}
	return b.String()
}

// dest appends the addresses of m's fields, in list's order, to dst.
func (mc *modelColumns[T]) dest(dst []any, m *T) []any {
	rv := reflect.ValueOf(m).Elem()
	for _, idx := range mc.index {
		dst = append(dst, rv.FieldByIndex(idx).Addr().Interface())
	}
	return dst
}

// scanAll scans every row of rs.
func (mc *modelColumns[T]) scanAll(rs rowScanner) ([]T, error) {
	var out []T
	dst := make([]any, 0, len(mc.index))
	for rs.Next() {
		var m T
		if err := rs.Scan(mc.dest(dst[:0], &m)...); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rs.Err()
}

// scanModels runs q (a Raw statement selecting mc's columns) and scans its rows.
func scanModels[T any](q *gorm.DB, mc *modelColumns[T]) ([]T, error) {
	rs, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	return mc.scanAll(rs)
}
