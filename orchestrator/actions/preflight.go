package actions

import (
	"context"
	"log/slog"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
)

// Preflighter checks, before a run touches anything, that the sites can carry the drill. It
// only reads: a pre-flight check never changes a site.
type Preflighter interface {
	// Preflight returns one result per check it made; the checks that do not apply to the
	// plan (a site without Nomad, a service without a database) are left out. It returns
	// when ctx is done, with what it could check.
	Preflight(ctx context.Context, req *PreflightRequest) []PreflightCheck
}

// PreflightRequest is what pre-flight checks need to know.
type PreflightRequest struct {
	RunID  string
	Config *drills.Estate
	Plan   *drills.Plan
	Clock  clock.Clock
	Logger *slog.Logger
}

// PreflightCheck is the result of one pre-flight check.
type PreflightCheck struct {
	// Check names what was checked: "reachable", "capacity", "replication_lag", "freeze", ...
	Check string
	// Site is the site checked; empty for checks of the engine itself (freeze, blackout).
	Site string
	// Subject narrows the check: a database, a service; optional.
	Subject string
	OK      bool
	// Detail says what was seen ("3 of 3 nodes ready and eligible in yatap-1") or why the
	// check failed.
	Detail string
}

// LagReader measures, during a run, how far a DR site's replica of a database lags behind
// the primary's: the max_replication_lag stop condition.
type LagReader interface {
	ReplicationLag(ctx context.Context, primary, dr *drills.Site, database string) (time.Duration, error)
}

// ProbeStatus is what a running probe has seen so far.
type ProbeStatus struct {
	Polls    int
	Failures int
	// Down is true when the last poll failed.
	Down bool
}

// ProbeStatusReporter is implemented by running probes that can say, while they run, what
// they have seen: the probe_failures stop condition needs it.
type ProbeStatusReporter interface {
	Status() ProbeStatus
}
