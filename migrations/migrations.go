// Package migrations holds firedrill's versioned database schema as goose SQL files, one folder
// per dialect (postgres/, sqlite/), embedded in the binary. The two folders must describe the
// same schema; orchestrator/store applies them (`firedrill migrate up`) and its tests check that
// they agree with the store's models. Nothing here runs by itself: migrations are applied only
// when asked.
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql. Use fs.Sub(FS, dialect) to get one dialect's files.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
