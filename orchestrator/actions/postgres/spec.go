package postgres

import "github.com/firedrill/firedrill/drills"

// Action names.
const (
	ActionPromote          = drills.ActionPostgresPromote
	ActionCheckReplication = drills.ActionPostgresCheckReplication
	ActionFence            = drills.ActionPostgresFence
	ActionUnfence          = drills.ActionPostgresUnfence
)

func spec(name string) drills.ActionSpec {
	s, ok := drills.LookupAction(name)
	if !ok {
		// The names are constants of package drills; a test pins every one.
		panic("postgres: unknown action " + name)
	}
	return s
}
