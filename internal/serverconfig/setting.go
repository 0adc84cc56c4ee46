package serverconfig

import "slices"

// Kind is the type of a setting's value, which decides how the file writes it and how it is
// checked.
type Kind int

const (
	// String is a string the flag checks itself.
	String Kind = iota
	// Path is a file path; a relative one is taken from the configuration file's directory.
	Path
	// Bool is true or false.
	Bool
	// Duration is a Go duration string ("30s", "12h"), positive.
	Duration
	// Int is a positive whole number.
	Int
	// List is a list of strings, given to the flag one element at a time.
	List
	// RoleMap is an object of claim value = [roles], given to the flag as "value=role,role".
	RoleMap
	// Address is host:port.
	Address
	// TimeZone is an IANA time zone name.
	TimeZone
	// URL is an absolute http or https URL.
	URL
	// SecretURL is a database URL: written as <name>_env (the variable holding it) or
	// <name>_file (the file holding it), or literally only when it holds no password.
	SecretURL
)

// Setting is one value of the server configuration: where it is written in the file, and the
// serve flag and environment variable that override it.
type Setting struct {
	// Key is the setting's place in the file: "listen", "database.url", "oidc.role_map".
	Key string
	// Flag is serve's flag for it, without the dashes.
	Flag string
	// Env is the environment variable that overrides the file (and the flag overrides).
	Env  string
	Kind Kind
	// Secret marks a value that is never printed: only where it came from.
	Secret bool
	// AlsoEnv are further variables whose presence overrides the file: the OIDC client secret
	// given as a value in FIREDRILL_OIDC_CLIENT_SECRET overrides the file's reference to it.
	AlsoEnv []string
	// OneOf, when set, are the only values allowed.
	OneOf []string
	// Doc says what it is, for config check and the README.
	Doc string
}

// settings are every setting, in the order config check prints them.
var settings = []Setting{
	{Key: "listen", Flag: "listen", Env: "FIREDRILL_LISTEN", Kind: Address, Doc: "address to serve on, host:port"},
	{Key: "estate", Flag: "config", Env: "FIREDRILL_CONFIG", Kind: Path, Doc: "the estate file (firedrill.hcl) whose schedules and notify blocks serve works from"},
	{Key: "signing_key_file", Flag: "signing-key", Env: "FIREDRILL_SIGNING_KEY", Kind: Path, Doc: "the institution's Ed25519 report signing key (PKCS#8 PEM), generated there on first use"},
	{Key: "institution", Flag: "institution", Env: "FIREDRILL_INSTITUTION", Doc: "the institution named on every report's cover"},
	{Key: "report_time_zone", Flag: "report-time-zone", Env: "FIREDRILL_REPORT_TIME_ZONE", Kind: TimeZone, Doc: "IANA time zone a report period's days begin in"},
	{Key: "database.url", Flag: "database-url", Env: "FIREDRILL_DATABASE_URL", Kind: SecretURL, Secret: true, Doc: "the runtime role's database URL (postgres://... or sqlite:PATH)"},
	{Key: "database.migration_url", Flag: "migrate-database-url", Env: "FIREDRILL_MIGRATE_DATABASE_URL", Kind: SecretURL, Secret: true, Doc: "the migration (owner) role's database URL"},
	{Key: "database.migrate", Flag: "migrate", Env: "FIREDRILL_MIGRATE", Kind: Bool, Doc: "apply pending migrations at start, as the migration role (else a schema behind the binary is refused)"},
	{Key: "tls.cert_file", Flag: "tls-cert-file", Env: "FIREDRILL_TLS_CERT_FILE", Kind: Path, Doc: "PEM certificate chain served over TLS; with tls.key_file"},
	{Key: "tls.key_file", Flag: "tls-key-file", Env: "FIREDRILL_TLS_KEY_FILE", Kind: Path, Doc: "PEM private key of tls.cert_file"},
	{Key: "console.secure_cookies", Flag: "secure-cookies", Env: "FIREDRILL_SECURE_COOKIES", Kind: Bool, Doc: "mark console cookies Secure without TLS here (behind a TLS-terminating proxy)"},
	{Key: "console.session_idle", Flag: "session-idle", Env: "FIREDRILL_SESSION_IDLE", Kind: Duration, Doc: "a console session unused this long ends"},
	{Key: "console.session_max_age", Flag: "session-max-age", Env: "FIREDRILL_SESSION_MAX_AGE", Kind: Duration, Doc: "a console session ends this long after sign-in"},
	{Key: "oidc.issuer", Flag: "oidc-issuer", Env: "FIREDRILL_OIDC_ISSUER", Kind: URL, Doc: "the identity provider's issuer URL; without it, local accounts only"},
	{Key: "oidc.client_id", Flag: "oidc-client-id", Env: "FIREDRILL_OIDC_CLIENT_ID", Doc: "firedrill's client ID at the identity provider"},
	{Key: "oidc.client_secret_env", Flag: "oidc-client-secret-env", Env: "FIREDRILL_OIDC_CLIENT_SECRET_ENV", AlsoEnv: []string{"FIREDRILL_OIDC_CLIENT_SECRET", "FIREDRILL_OIDC_CLIENT_SECRET_FILE"}, Doc: "the environment variable holding the client secret"},
	{Key: "oidc.client_secret_file", Flag: "oidc-client-secret-file", Env: "FIREDRILL_OIDC_CLIENT_SECRET_FILE", Kind: Path, AlsoEnv: []string{"FIREDRILL_OIDC_CLIENT_SECRET", "FIREDRILL_OIDC_CLIENT_SECRET_ENV"}, Doc: "the file holding the client secret"},
	{Key: "oidc.redirect_url", Flag: "oidc-redirect-url", Env: "FIREDRILL_OIDC_REDIRECT_URL", Kind: URL, Doc: "firedrill's /auth/callback as browsers reach it"},
	{Key: "oidc.role_claim", Flag: "oidc-role-claim", Env: "FIREDRILL_OIDC_ROLE_CLAIM", Doc: "the ID token claim mapped to roles"},
	{Key: "oidc.role_map", Flag: "oidc-role-map", Env: "FIREDRILL_OIDC_ROLE_MAP", Kind: RoleMap, Doc: "claim value = [firedrill roles]"},
	{Key: "oidc.username_claim", Flag: "oidc-username-claim", Env: "FIREDRILL_OIDC_USERNAME_CLAIM", Doc: "the ID token claim naming the firedrill user"},
	{Key: "oidc.scopes", Flag: "oidc-scope", Env: "FIREDRILL_OIDC_SCOPE", Kind: List, Doc: "scopes asked for besides openid"},
	{Key: "worker.concurrency", Flag: "concurrency", Env: "FIREDRILL_CONCURRENCY", Kind: Int, Doc: "runs this replica executes at once"},
	{Key: "worker.poll", Flag: "poll", Env: "FIREDRILL_POLL", Kind: Duration, Doc: "how often an idle worker looks for runs"},
	{Key: "worker.lease_for", Flag: "lease-for", Env: "FIREDRILL_LEASE_FOR", Kind: Duration, Doc: "how long a claim on a run lasts without renewal"},
	{Key: "scheduler.tick", Flag: "schedule-tick", Env: "FIREDRILL_SCHEDULE_TICK", Kind: Duration, Doc: "longest wait between two scheduler passes"},
	{Key: "scheduler.lease_for", Flag: "schedule-lease-for", Env: "FIREDRILL_SCHEDULE_LEASE_FOR", Kind: Duration, Doc: "how long the scheduler lease lasts without renewal"},
	{Key: "findings.due", Flag: "finding-due", Env: "FIREDRILL_FINDING_DUE", Kind: Duration, Doc: "how long after a run ends the findings it reveals are due"},
	{Key: "findings.retest_profile", Flag: "retest-profile", Env: "FIREDRILL_RETEST_PROFILE", Doc: "the regulator profile whose retest deadline findings fall due within, unless findings.due"},
	{Key: "log.level", Flag: "log-level", Env: "FIREDRILL_LOG_LEVEL", OneOf: []string{"debug", "info", "warn", "error"}, Doc: "debug, info, warn or error"},
	{Key: "log.format", Flag: "log-format", Env: "FIREDRILL_LOG_FORMAT", OneOf: []string{"text", "json"}, Doc: "text or json"},
}

// EnvServerConfig names the server configuration file; serve's --server-config overrides it.
// It is not FIREDRILL_CONFIG, which names the estate.
const EnvServerConfig = "FIREDRILL_SERVER_CONFIG"

// Settings returns every setting, in the order config check prints them.
func Settings() []Setting { return slices.Clone(settings) }

// EnvVars returns every environment variable firedrill serve reads for its configuration:
// FIREDRILL_SERVER_CONFIG and each setting's, including the OIDC client secret's value. The
// deployment files must name only these.
func EnvVars() []string {
	vars := []string{EnvServerConfig}
	for _, s := range settings {
		vars = append(vars, s.Env)
		vars = append(vars, s.AlsoEnv...)
	}
	slices.Sort(vars)
	return slices.Compact(vars)
}

// Lookup returns the setting written at key ("tls.cert_file").
func Lookup(key string) (Setting, bool) {
	i := slices.IndexFunc(settings, func(s Setting) bool { return s.Key == key })
	if i < 0 {
		return Setting{}, false
	}
	return settings[i], true
}
