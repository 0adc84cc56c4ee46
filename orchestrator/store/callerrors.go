package store

import (
	"context"
	"errors"

	"gorm.io/gorm"
)

// countCallErrors has gorm report every statement that failed to onError: the database
// refused or could not be reached. Answers that are not failures (no row, a context the
// caller ended) are not reported.
func countCallErrors(db *gorm.DB, onError func()) error {
	after := func(tx *gorm.DB) {
		err := tx.Error
		if err == nil || errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, context.Canceled) {
			return
		}
		onError()
	}
	cb := db.Callback()
	for _, reg := range []error{
		cb.Create().After("gorm:create").Register("firedrill:call_errors", after),
		cb.Query().After("gorm:query").Register("firedrill:call_errors", after),
		cb.Update().After("gorm:update").Register("firedrill:call_errors", after),
		cb.Delete().After("gorm:delete").Register("firedrill:call_errors", after),
		cb.Row().After("gorm:row").Register("firedrill:call_errors", after),
		cb.Raw().After("gorm:raw").Register("firedrill:call_errors", after),
	} {
		if reg != nil {
			return reg
		}
	}
	return nil
}
