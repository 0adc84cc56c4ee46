package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
)

// Canary measures a service's data loss (RPO) in a drill: it writes sequenced, timestamped
// rows to the primary's database until the disaster, then reads what the DR copy holds.
type Canary interface {
	// Start creates what the canary needs and begins writing. It returns once the first row
	// is committed, so a run never starts its disaster without a baseline.
	Start(ctx context.Context) error
	// Stop ends the writing (at T0) and returns the last row the primary acknowledged.
	// Writes that fail because the disaster already struck are expected and not errors.
	Stop() (CanaryMark, error)
	// Measure reads the DR copy and compares it with the last acknowledged row.
	Measure(ctx context.Context) (*RPOMeasurement, error)
}

// CanaryCleaner is implemented by a canary that leaves rows in the service's own store: Cleanup
// removes the run's rows from every copy it may write to, once the run no longer needs them
// (after Measure, or when the run ends without a measurement). It returns what it removed and
// what it left, and why, as evidence. It may be called more than once; later calls report the
// first one's result.
type CanaryCleaner interface {
	Cleanup(ctx context.Context) (map[string]any, error)
}

// CanaryFactory builds the canary of one service for one run.
type CanaryFactory interface {
	NewCanary(req *CanaryRequest) (Canary, error)
}

// CanaryRequest is what a canary needs to know.
type CanaryRequest struct {
	RunID   string
	Service *drills.Service
	// Primary is the site written to; DR the site whose copy is read after the failover.
	Primary *drills.Site
	DR      *drills.Site
	Clock   clock.Clock
	Logger  *slog.Logger
}

// CanaryMark is a canary row: its sequence number and the time the primary stamped on it.
type CanaryMark struct {
	Seq int64
	At  time.Time
}

// RPOMeasurement is the data a drill lost for one service.
type RPOMeasurement struct {
	Service string
	// FirstPrimary is the first row the primary acknowledged: with LastPrimary, how much
	// evidence the figure stands on (drills.Canary.Evidenced).
	FirstPrimary CanaryMark
	// LastPrimary is the last row the primary acknowledged; LastDR the last row visible on
	// the DR copy (Seq 0 when none is).
	LastPrimary CanaryMark
	LastDR      CanaryMark
	// RPO is LastPrimary.At - LastDR.At (zero when nothing was lost); LostRows counts the
	// acknowledged rows missing on DR.
	RPO      time.Duration
	LostRows int64
	// Resolution is the canary's write interval: data written between two canary rows is
	// not seen, so RPO is known to within this.
	Resolution time.Duration
	Evidence   map[string]any
}

// CanaryRouter builds each service's canary with the factory of its kind: HTTP for a canary
// block with a url, PostgreSQL for one with a database and table. A nil factory refuses its
// kind, so a run that would not measure its RPO is blocked before it touches anything.
type CanaryRouter struct {
	Postgres CanaryFactory
	HTTP     CanaryFactory
}

// NewCanary implements CanaryFactory.
func (r *CanaryRouter) NewCanary(req *CanaryRequest) (Canary, error) {
	if req == nil || req.Service == nil || req.Service.Canary == nil {
		return nil, errors.New("canary: the service has no canary block")
	}
	f, kind := r.Postgres, "PostgreSQL"
	if req.Service.Canary.URL != "" {
		f, kind = r.HTTP, "HTTP"
	}
	if f == nil {
		return nil, fmt.Errorf("canary of service %s: this runner cannot write %s canaries", req.Service.Name, kind)
	}
	return f.NewCanary(req)
}
