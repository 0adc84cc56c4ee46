package drills

import "time"

// The PostgreSQL family: a site's databases (its postgres blocks). Promoting a streaming
// standby, measuring how far it lags, and fencing the old primary so that a drill never leaves
// two writable primaries.

// PostgreSQL action names.
const (
	ActionPostgresPromote          = "postgres.promote"
	ActionPostgresCheckReplication = "postgres.check_replication"
	ActionPostgresFence            = "postgres.fence"
	ActionPostgresUnfence          = "postgres.unfence"
)

// postgresActionSpecs are the specs of the PostgreSQL family.
var postgresActionSpecs = []ActionSpec{
	{
		Name:     ActionPostgresPromote,
		Doc:      "Promote the site's streaming standby of a database with pg_promote and wait until it commits a write. A database that is not in recovery is refused (already primary) and left untouched.",
		Site:     SiteRequired,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"database": {Type: ParamString, Required: true, Doc: "Name of the site's postgres block to promote."},
		},
		DefaultTimeout: 3 * time.Minute,
		// A re-run cannot tell its own earlier promotion from someone else's: it refuses as
		// already primary, so an interrupted step needs an operator.
		Idempotent: false,
		Effect:     EffectStart,
		Aliases:    []string{"promote_standby", "failover", "pg_promote"},
	},
	{
		Name:     ActionPostgresCheckReplication,
		Doc:      "Measure how far the site's standby of a database lags behind the same database on the plan's from site, in bytes and in time; fail when it is not a streaming standby or a limit is exceeded.",
		Site:     SiteRequired,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"database":          {Type: ParamString, Required: true, Doc: "Name of the postgres block, on both the step's site (the standby) and the plan's from site (the primary)."},
			"max_lag":           {Type: ParamDuration, Doc: "Largest acceptable replay lag in time. Unset: not checked."},
			"max_lag_bytes":     {Type: ParamInt, Range: true, Min: 0, Max: 1 << 50, Doc: "Largest acceptable replay lag in bytes of WAL. Unset: not checked."},
			"require_streaming": {Type: ParamBool, Doc: "Fail when the standby has no WAL receiver streaming from its primary. Defaults to true."},
		},
		DefaultTimeout: time.Minute,
		Idempotent:     true,
		Aliases:        []string{"check_lag", "replication_lag", "check_standby"},
	}, {
		Name: ActionPostgresFence,
		Doc: "Make the site's database (the old primary, after postgres.promote on the DR site) read-only: ALTER SYSTEM SET default_transaction_read_only = on and pg_reload_conf, then terminate the client sessions that could still write (an open transaction keeps its write access), and prove with a fresh connection that a write is refused. " +
			"It refuses a database in recovery (a standby is not the old primary) and one where a role or database setting turns default_transaction_read_only off (the fence would not hold). " +
			"The fence is a default, not a privilege: a client that runs SET default_transaction_read_only = off can still write; it stops applications that reconnect, and it leaves the database readable. Reverse: postgres.unfence.",
		Site:     SiteRequired,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"database":           {Type: ParamString, Required: true, Doc: "Name of the site's postgres block to fence."},
			"terminate_sessions": {Type: ParamBool, Doc: "Terminate the other client sessions after the reload (their open transactions could still write). Defaults to true."},
			"roles":              {Type: ParamStrings, Doc: "Terminate only the sessions of these roles (the applications'). Unset: every other client session."},
		},
		DefaultTimeout: time.Minute,
		// Setting the same value, reloading and terminating the sessions opened since leave
		// the database as one run does: a re-run after a crash is safe.
		Idempotent: true,
		Effect:     EffectStop,
		Aliases:    []string{"read_only", "fence_primary", "make_read_only"},
	},
	{
		Name:     ActionPostgresUnfence,
		Doc:      "Reverse of postgres.fence, for rollback: ALTER SYSTEM RESET default_transaction_read_only and pg_reload_conf, then prove with a fresh connection that a write commits. A database read-only by its own postgresql.conf stays so, and the step fails saying so.",
		Site:     SiteRequired,
		Services: ServicesNone,
		Params: map[string]ParamSpec{
			"database": {Type: ParamString, Required: true, Doc: "Name of the site's postgres block to unfence."},
		},
		DefaultTimeout: time.Minute,
		// Resetting a reset setting changes nothing.
		Idempotent: true,
		Effect:     EffectStart,
		Aliases:    []string{"read_write", "unfence_primary"},
	},
}
