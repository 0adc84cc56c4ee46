package orchestrator

import (
	"context"
	"fmt"
	"time"

	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// EventProbe is the timeline entry that sums up what a plan probe saw.
const EventProbe = "probe"

// startProbes starts the plan's continuous probes. A probe that cannot start blocks the run:
// the plan asked for evidence of what users saw, and the drill would not have it.
func (x *execution) startProbes(ctx context.Context) string {
	if len(x.d.Plan.Probes) == 0 {
		return ""
	}
	if x.r.cfg.Probes == nil {
		return "the plan declares probes but this runner cannot run them"
	}
	for _, pr := range x.d.Plan.Probes {
		site := x.d.Estate.Site(pr.Site)
		rp, err := x.r.cfg.Probes.StartProbe(ctx, pr, site, x.r.cfg.Clock)
		if err != nil {
			x.stopProbes(ctx)
			return fmt.Sprintf("probe %s: %v", pr.Name, err)
		}
		x.probes = append(x.probes, rp)
	}
	return ""
}

// stopProbes stops every probe and records each one's summary on the timeline.
func (x *execution) stopProbes(ctx context.Context) {
	probes := x.probes
	x.probes = nil
	for _, rp := range probes {
		sum := rp.Stop()
		data := probeData(sum, x.t0)
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
		err := x.eventAppend(wctx, &store.RunEventAppendParams{
			RunID: x.runID, Epoch: x.epoch, Kind: EventProbe, Message: sum.Name, Data: data, At: x.r.cfg.Clock.Now(),
		})
		cancel()
		if err != nil {
			x.log.WarnContext(ctx, "probe summary not recorded", "probe", sum.Name, "err", err)
		}
	}
}

func probeData(sum actions.ProbeSummary, t0 time.Time) map[string]any {
	d := map[string]any{
		"probe": sum.Name, "url": sum.URL, "interval_ms": sum.Interval.Milliseconds(),
		"polls": sum.Polls, "failures": sum.Failures, "longest_outage_ms": sum.LongestOutage.Milliseconds(),
	}
	if sum.Polls > 0 {
		d["availability"] = float64(sum.Polls-sum.Failures) / float64(sum.Polls)
	}
	if !sum.FirstFailure.IsZero() {
		d["first_failure_at"] = sum.FirstFailure.UTC()
		d["last_failure_at"] = sum.LastFailure.UTC()
		d["last_error"] = sum.LastError
		if !t0.IsZero() {
			d["first_failure_since_t0_ms"] = sum.FirstFailure.Sub(t0).Milliseconds()
			d["last_failure_since_t0_ms"] = sum.LastFailure.Sub(t0).Milliseconds()
		}
	}
	return d
}
