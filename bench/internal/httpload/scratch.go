package httpload

import (
	"context"
	"os"

	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// Scratch is what one benchmark run works in: workDir and databaseURL when the caller gives
// them, else a temporary directory and a PostgreSQL database named after name, created from
// adminURL. cleanup removes what Scratch made, but the database when kept is not empty: then
// it is logged with kept, a format of its redacted URL that says how to run on it again.
func Scratch(ctx context.Context, workDir, databaseURL, adminURL, name, kept string, logf func(string, ...any)) (dir, dsn string, cleanup func(), err error) {
	var undo []func()
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	dir = workDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "firedrill-"+name+"-"); err != nil {
			return "", "", cleanup, err
		}
		undo = append(undo, func() { os.RemoveAll(dir) })
	}
	dsn = databaseURL
	if dsn == "" {
		var drop func(context.Context) error
		if dsn, drop, err = storetest.CreateDatabase(ctx, adminURL, storetest.DatabaseName(name)); err != nil {
			return "", "", cleanup, err
		}
		if kept != "" {
			logf(kept, store.RedactURL(dsn))
		} else {
			undo = append(undo, func() {
				if err := drop(context.WithoutCancel(ctx)); err != nil {
					logf("%v", err)
				}
			})
		}
	}
	return dir, dsn, cleanup, nil
}
