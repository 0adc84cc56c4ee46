package drills

import "time"

// The PostgreSQL family: a site's databases (its postgres blocks). Promoting a streaming
// standby and measuring how far it lags.

// PostgreSQL action names.
const (
	ActionPostgresPromote          = "postgres.promote"
	ActionPostgresCheckReplication = "postgres.check_replication"
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
	},
}
