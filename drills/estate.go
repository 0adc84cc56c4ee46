package drills

import (
	"fmt"
	"time"
)

// SiteRole says what a site is for in a failover.
type SiteRole string

// Site roles.
const (
	SiteRolePrimary SiteRole = "primary"
	SiteRoleDR      SiteRole = "dr"
	SiteRoleBackup  SiteRole = "backup"
)

// Criticality ranks a service. Regulators single out core business functions (핵심업무).
type Criticality string

// Criticalities, most critical first.
const (
	CriticalityCore       Criticality = "core"
	CriticalityImportant  Criticality = "important"
	CriticalitySupporting Criticality = "supporting"
)

// Estate is the estate: every site and service that plans refer to. It is declared in HCL
// (conventionally firedrill.hcl) and parsed by ParseEstate.
type Estate struct {
	// Notify lists where notifications go.
	Notify []*NotifyChannel
	// File is the name the configuration was parsed from (for messages).
	File     string
	Sites    []*Site
	Services []*Service
	// Schedules say when plans run; Blackouts are the windows they name to suppress fires.
	Schedules []*Schedule
	Blackouts []*Blackout
	// DefaultApproval is the policy of every run whose plan and schedule declare none (the
	// estate's top-level approval block).
	DefaultApproval ApprovalPolicy
	// SHA256 is the hex digest of the source bytes, so a run records which estate it used.
	SHA256 string
}

// Site returns the site named name, or nil.
func (c *Estate) Site(name string) *Site {
	for _, s := range c.Sites {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Service returns the service named name, or nil.
func (c *Estate) Service(name string) *Service {
	for _, s := range c.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Schedule returns the schedule named name, or nil.
func (c *Estate) Schedule(name string) *Schedule {
	for _, s := range c.Schedules {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Blackout returns the blackout named name, or nil.
func (c *Estate) Blackout(name string) *Blackout {
	for _, b := range c.Blackouts {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// Site is a place services can run: one Nomad cluster (region/datacenter) and its data stores.
type Site struct {
	Name string
	Role SiteRole
	// Ingress is the base URL under which the site's services answer (a site-local load
	// balancer or GSLB target). Health-check URLs may refer to it as {ingress}.
	Ingress   string
	Nomad     *NomadEndpoint
	Databases []*Database
	Pos       Pos
}

// Database returns the site's database named name, or nil.
func (s *Site) Database(name string) *Database {
	for _, d := range s.Databases {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// NomadEndpoint tells how to reach a site's Nomad cluster. The token is never part of the
// configuration: only the name of the environment variable or file that holds it.
type NomadEndpoint struct {
	// Address is the HTTP API address with scheme, e.g. https://nomad.sangam.example:4646.
	Address    string
	Region     string
	Datacenter string
	// Namespace defaults to "default".
	Namespace string
	// TokenEnv names the environment variable holding the ACL token; optional.
	TokenEnv string
	// TokenFile names a file holding the ACL token; optional, exclusive with TokenEnv.
	TokenFile string
	// CACert, ClientCert and ClientKey are PEM file paths for TLS; optional.
	CACert     string
	ClientCert string
	ClientKey  string
	// TLSServerName overrides the name checked in the server certificate; optional.
	TLSServerName string
	Pos           Pos
}

// Database is a data store of a site. Its DSN, like a token, is only referenced.
type Database struct {
	Name string
	// DSNEnv names the environment variable holding the connection string.
	DSNEnv string
	// DSNFile names a file holding the connection string.
	DSNFile string
	Pos     Pos
}

// Service is a business function with objectives and dependencies.
type Service struct {
	Name        string
	Description string
	Owner       string
	Criticality Criticality
	// RTO is the recovery time objective: the longest acceptable time from disaster to restored.
	RTO time.Duration
	// RPO is the recovery point objective: the most data, in time, that may be lost.
	RPO time.Duration
	// DependsOn lists services that must be restored before this one can be.
	DependsOn []string
	// NomadJob is the ID of the Nomad job that runs the service on every site. Defaults to Name.
	NomadJob string
	// PilotLight is the number of allocations the service's job runs on a DR site in standby
	// (a warm standby kept small); pre-flight requires the plan's to site to run exactly
	// this many. Defaults to 0: the job absent or stopped there.
	PilotLight int
	Checks     []*Check
	// Canary configures the RPO canary writer; nil when RPO is not measured for the service.
	Canary *Canary
	// DrillEvery is the longest time allowed between two passed drills of the service, as a
	// regulation requires (e.g. 365d); zero when none is required. DueStatuses reads it.
	DrillEvery time.Duration
	Pos        Pos
}

// CheckKind says how a health check is performed.
type CheckKind string

// Check kinds.
const (
	CheckHTTP CheckKind = "http"
)

// Check decides whether a service is healthy on a site.
type Check struct {
	Kind CheckKind
	// URL may contain {site} (the site's name) and {ingress} (the site's ingress URL).
	URL string
	// ExpectStatus is the HTTP status that means healthy. Defaults to 200.
	ExpectStatus int
	// ExpectBody, when set, must occur in the response body.
	ExpectBody string
	// Interval is the polling interval. Defaults to DefaultCheckInterval.
	Interval time.Duration
	// Headers are sent with every poll, literal values.
	Headers map[string]string
	// HeadersFromEnv are sent with every poll, each value read from the named environment
	// variable (a secret: never recorded).
	HeadersFromEnv map[string]string
	// CACert is a PEM file of the CA that signs the endpoint's certificate; optional.
	CACert string
	// TLSServerName overrides the name checked in the endpoint's certificate; optional.
	TLSServerName string
	Pos           Pos
}

// DefaultCheckInterval is how often a check is polled when the configuration does not say.
// It bounds the resolution of the measured RTO, so it is kept short.
const DefaultCheckInterval = 50 * time.Millisecond

// Canary configures sequenced writes used to measure data loss (RPO). A PostgreSQL canary
// (Database and Table) writes rows to the primary's database; an HTTP canary (URL) writes
// sequenced markers through the service itself, for stores that are not PostgreSQL.
type Canary struct {
	Database string
	Table    string
	// URL is the HTTP canary's endpoint; {ingress} and {site} are replaced per site. The
	// canary POSTs {"run_id","service","seq"} to the primary's and GETs ?run_id=&service= from
	// the DR site's, which answers the last marker visible there as {"seq","at"}.
	URL      string
	Interval time.Duration
	// MinRows and MinDuration are the least evidence an RPO figure stands on: the canary must
	// have written at least MinRows markers spanning at least MinDuration before T0, else the
	// RPO is not evidenced. Default DefaultCanaryMinRows and DefaultCanaryMinDuration.
	MinRows     int64
	MinDuration time.Duration
	Pos         Pos
}

// Evidenced says whether canary rows 1..rows written over span before T0 are enough for an
// RPO figure, and if not why.
func (c *Canary) Evidenced(rows int64, span time.Duration) (bool, string) {
	minRows, minDur := c.MinRows, c.MinDuration
	if minRows <= 0 {
		minRows = DefaultCanaryMinRows
	}
	if minDur <= 0 {
		minDur = DefaultCanaryMinDuration
	}
	if rows >= minRows && span >= minDur {
		return true, ""
	}
	return false, fmt.Sprintf("the canary wrote %d rows over %s before T0; an RPO figure needs at least %d rows over %s (min_rows, min_duration)",
		rows, formatDuration(span), minRows, formatDuration(minDur))
}
