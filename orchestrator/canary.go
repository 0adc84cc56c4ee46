package orchestrator

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// canaryTimeout bounds starting a canary and reading the DR copy.
const canaryTimeout = 30 * time.Second

// startCanaries starts the data-loss canary of every plan service that configures one. It
// returns a reason to block the run when one cannot start: a drill that would not measure its
// RPO must not touch production.
func (x *execution) startCanaries(ctx context.Context) string {
	x.canaries = map[string]actions.Canary{}
	x.canaryMarks = map[string]actions.CanaryMark{}
	x.canaryErrs = map[string]error{}
	if !x.t0.IsZero() {
		// A takeover past T0 (see resume.go).
		x.canariesAfterTakeover()
		return ""
	}
	for _, name := range x.d.Plan.Services {
		svc := x.d.Estate.Service(name)
		if svc == nil || svc.Canary == nil {
			continue
		}
		if x.r.cfg.Canaries == nil {
			return fmt.Sprintf("service %s configures a canary but this runner cannot write one", name)
		}
		c, err := x.r.cfg.Canaries.NewCanary(&actions.CanaryRequest{
			RunID: x.runID, Service: svc, Primary: x.d.Estate.Site(x.d.Plan.From), DR: x.d.Estate.Site(x.d.Plan.To),
			Clock: x.r.cfg.Clock, Logger: x.log.With("service", name),
		})
		if err != nil {
			x.stopCanaries()
			return fmt.Sprintf("canary of %s: %v", name, err)
		}
		sctx, cancel := context.WithTimeout(ctx, canaryTimeout)
		err = c.Start(sctx)
		cancel()
		if err != nil {
			x.stopCanaries()
			x.cleanupCanaries(ctx)
			return fmt.Sprintf("canary of %s could not write to %s: %v", name, x.d.Plan.From, err)
		}
		x.canaries[name] = c
		x.log.InfoContext(ctx, "canary writing", "service", name)
	}
	return ""
}

// stopCanaries stops every canary still writing and keeps its last acknowledged row.
func (x *execution) stopCanaries() {
	for name, c := range x.canaries {
		if _, stopped := x.canaryMarks[name]; stopped {
			continue
		}
		if _, failed := x.canaryErrs[name]; failed {
			continue
		}
		mark, err := c.Stop()
		if err != nil {
			x.canaryErrs[name] = err
			continue
		}
		x.canaryMarks[name] = mark
	}
}

// cleanupCanaries removes the rows the stopped canaries wrote to the services' own databases,
// so that drills never accumulate them there, and returns, per service, what was removed and
// what was left (a fenced or unreachable copy) as evidence.
func (x *execution) cleanupCanaries(ctx context.Context) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, c := range x.canaries {
		cl, ok := c.(actions.CanaryCleaner)
		if !ok || c == nil {
			continue
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), canaryTimeout)
		ev, err := cl.Cleanup(cctx)
		cancel()
		if err != nil {
			x.log.WarnContext(ctx, "canary rows not removed", "service", name, "err", err)
		} else {
			x.log.InfoContext(ctx, "canary rows removed", "service", name)
		}
		out[name] = ev
	}
	return out
}

// canaryProgress is a canary that reports the markers acknowledged so far, so the runner can
// hold the disaster until its RPO figure will stand on enough evidence.
type canaryProgress interface {
	Progress() (first, last actions.CanaryMark)
}

// awaitCanaryEvidence waits, before T0, until every canary that reports its progress has
// written the least evidence its block asks for (drills.Canary.Evidenced), or until a bound
// of twice the time that should take plus canaryTimeout. A canary still short of it then is
// measured and reported not evidenced.
func (x *execution) awaitCanaryEvidence(ctx context.Context) {
	for name, c := range x.canaries {
		p, ok := c.(canaryProgress)
		cfg := x.d.Estate.Service(name).Canary
		if !ok || cfg == nil {
			continue
		}
		need := max(cfg.MinDuration, time.Duration(cfg.MinRows)*cfg.Interval)
		deadline := x.r.cfg.Clock.Now().Add(2*need + 5*time.Second)
		logged := false
		for {
			first, last := p.Progress()
			if ok, _ := cfg.Evidenced(last.Seq, last.At.Sub(first.At)); ok || !x.r.cfg.Clock.Now().Before(deadline) {
				break
			}
			if !logged {
				x.log.InfoContext(ctx, "waiting for canary evidence before the disaster", "service", name,
					"min_rows", cfg.MinRows, "min_duration", cfg.MinDuration.String())
				logged = true
			}
			t := x.r.cfg.Clock.NewTimer(cfg.Interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
		}
	}
}

// rpoResult is one service's measured data loss, or why it could not be measured.
type rpoResult struct {
	objective time.Duration
	m         *actions.RPOMeasurement
	err       error
	// notEvidenced says why a figure that was measured does not stand on enough evidence.
	notEvidenced string
	met          bool
}

// measureCanaries reads each DR copy after the drill. Only a drill whose disaster struck
// has a data loss to measure.
func (x *execution) measureCanaries(ctx context.Context) map[string]*rpoResult {
	x.stopCanaries()
	out := map[string]*rpoResult{}
	if x.t0.IsZero() {
		x.cleanupCanaries(ctx)
		return out
	}
	defer func() {
		for name, ev := range x.cleanupCanaries(ctx) {
			if r := out[name]; r != nil && r.m != nil {
				r.m.Evidence["cleanup"] = ev
			}
		}
	}()
	for name, c := range x.canaries {
		r := &rpoResult{objective: x.d.Estate.Service(name).RPO}
		out[name] = r
		if err := x.canaryErrs[name]; err != nil {
			r.err = err
			continue
		}
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), canaryTimeout)
		r.m, r.err = c.Measure(mctx)
		cancel()
		if r.err == nil {
			// Rows 1..LastPrimary.Seq were acknowledged before T0.
			cfg := x.d.Estate.Service(name).Canary
			if ok, why := cfg.Evidenced(r.m.LastPrimary.Seq, r.m.LastPrimary.At.Sub(r.m.FirstPrimary.At)); !ok {
				r.notEvidenced = why
			}
		}
		r.met = r.err == nil && r.notEvidenced == "" && r.m.RPO <= r.objective
		switch {
		case r.err != nil:
			x.log.WarnContext(ctx, "data loss not measured", "service", name, "err", r.err)
		case r.notEvidenced != "":
			x.log.WarnContext(ctx, "data loss not evidenced", "service", name, "why", r.notEvidenced)
		default:
			x.log.InfoContext(ctx, "data loss measured", "service", name, "rpo_ms", r.m.RPO.Milliseconds(), "lost_rows", r.m.LostRows)
		}
	}
	return out
}

// apply writes the RPO into a measurement.
func (r *rpoResult) apply(m *store.MeasurementInput) {
	m.RPOMet = &r.met
	if r.err != nil {
		m.Reason = joinReason(m.Reason, "RPO not evidenced: it could not be measured: "+r.err.Error())
		return
	}
	rpo, lost := r.m.RPO, r.m.LostRows
	m.RPOInputs = &drills.RPOInputs{
		FirstPrimarySeq: r.m.FirstPrimary.Seq, FirstPrimaryAt: r.m.FirstPrimary.At.UTC(),
		LastPrimarySeq: r.m.LastPrimary.Seq, LastPrimaryAt: r.m.LastPrimary.At.UTC(),
		LastDRSeq: r.m.LastDR.Seq, LastDRAt: r.m.LastDR.At.UTC(), Evidenced: r.notEvidenced == "",
	}
	if r.notEvidenced != "" {
		// The figure is kept in the evidence, but it is no RPO: it stands on too little.
		m.Reason = joinReason(m.Reason, "RPO not evidenced: "+r.notEvidenced)
	} else {
		m.RPOActual, m.RPOLostRows = &rpo, &lost
	}
	if r.notEvidenced == "" && !r.met {
		m.Reason = joinReason(m.Reason, fmt.Sprintf("RPO %s (%d rows lost) exceeded objective %s", rpo, lost, r.objective))
	}
	ev := map[string]any{
		"rpo": map[string]any{
			"last_primary_seq": r.m.LastPrimary.Seq, "last_primary_at": r.m.LastPrimary.At.UTC(),
			"last_dr_seq": r.m.LastDR.Seq, "last_dr_at": r.m.LastDR.At.UTC(),
			"first_primary_seq": r.m.FirstPrimary.Seq, "first_primary_at": r.m.FirstPrimary.At.UTC(),
			"lost_rows": lost, "rpo_ms": rpo.Milliseconds(), "resolution_ms": r.m.Resolution.Milliseconds(),
			"evidenced": r.notEvidenced == "", "not_evidenced_reason": r.notEvidenced,
			"detail": r.m.Evidence,
		},
	}
	if b, err := json.Marshal(ev); err == nil {
		m.Evidence = b
	}
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// finishBlocked ends a run that pre-flight refused: nothing was touched.
func (x *execution) finishBlocked(ctx context.Context, reason string) (*Outcome, error) {
	met := false
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if err := x.closeInterrupted(wctx, drills.RunBlocked); err != nil {
		return nil, err
	}
	if err := x.runFinish(wctx, &store.RunFinishParams{
		RunID: x.runID, Epoch: x.epoch, State: drills.RunBlocked, Reason: reason, At: x.r.cfg.Clock.Now(), ObjectivesMet: &met,
	}); err != nil {
		return nil, fmt.Errorf("record end of run %s: %w", x.runID, err)
	}
	x.log.WarnContext(ctx, "run blocked", "reason", reason)
	return &Outcome{RunID: x.runID, State: drills.RunBlocked, Reason: reason}, nil
}
