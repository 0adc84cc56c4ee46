package actions

import (
	"context"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
)

// Prober starts the continuous probes of a plan.
type Prober interface {
	// StartProbe begins polling; site is nil when the probe names none.
	StartProbe(ctx context.Context, p *drills.Probe, site *drills.Site, clk clock.Clock) (RunningProbe, error)
}

// RunningProbe is a probe polling in the background.
type RunningProbe interface {
	// Stop ends the polling and sums up what the probe saw.
	Stop() ProbeSummary
}

// ProbeSummary is what a probe saw over a run.
type ProbeSummary struct {
	Name     string
	URL      string
	Interval time.Duration
	Polls    int
	Failures int
	// FirstFailure and LastFailure bound the failed polls (zero when none failed).
	FirstFailure time.Time
	LastFailure  time.Time
	// LongestOutage is the longest run of consecutive failed polls, from the first failed
	// poll to the next passing one (or the last poll).
	LongestOutage time.Duration
	LastError     string
}
