package drills

import (
	"fmt"
	"time"
)

// ServiceObservation is the moment a service first passed its checks on the DR site.
type ServiceObservation struct {
	Service  string
	PassedAt time.Time
	// Resolution is how late the observation may be: the polling interval of the check.
	Resolution time.Duration
	// Method is how the moment was caught (poll, nomad_event_stream, nomad_blocking_query).
	Method string
}

// RecoveryInput is what a run measured, enough to compute each service's recovery.
type RecoveryInput struct {
	Estate *Estate
	Plan   *Plan
	// Site is the DR site the services were restored on.
	Site string
	// T0 is when the disaster was injected; zero when it never was.
	T0           time.Time
	Observations []ServiceObservation
}

// ServiceRecovery is one service's measured recovery against its objective.
type ServiceRecovery struct {
	Service      string
	Criticality  Criticality
	RTOObjective time.Duration
	// Restored: the service and everything it depends on passed their checks.
	Restored   bool
	RestoredAt time.Time
	// RTOActual is RestoredAt - T0; zero when not restored.
	RTOActual time.Duration
	Met       bool
	// Resolution bounds the error of RTOActual: the coarsest check interval involved.
	Resolution time.Duration
	// ResolutionMethod is the Method of the observation that Resolution comes from.
	ResolutionMethod string
	// Reason explains, in a sentence for the report, why the objective was not met.
	Reason string
}

// Recoveries computes each plan service's recovery, in dependency order.
//
// A service counts as restored only once it and every service it depends on have passed their
// checks: payments answering while auth is still down does not serve a single customer. So
// its RestoredAt is the latest of its own first pass and its dependencies' RestoredAt.
func Recoveries(in RecoveryInput) []ServiceRecovery {
	if in.Estate == nil || in.Plan == nil {
		return nil
	}
	first := map[string]ServiceObservation{}
	for _, o := range in.Observations {
		if prev, ok := first[o.Service]; !ok || o.PassedAt.Before(prev.PassedAt) {
			first[o.Service] = o
		}
	}
	order := in.Plan.orderedServices(in.Estate)
	inPlan := make(map[string]bool, len(order))
	for _, n := range order {
		inPlan[n] = true
	}
	done := make(map[string]*ServiceRecovery, len(order))
	out := make([]ServiceRecovery, len(order))
	for i, n := range order {
		svc := in.Estate.Service(n)
		r := &out[i]
		*r = ServiceRecovery{Service: n, Criticality: svc.Criticality, RTOObjective: svc.RTO}
		done[n] = r
		if in.T0.IsZero() {
			r.Reason = "the disaster was never injected (no T0): nothing could be measured"
			continue
		}
		obs, seen := first[n]
		if !seen {
			r.Reason = fmt.Sprintf("never passed its checks on %s", in.Site)
			// The Kakao lesson: name the dependency the plan left behind on the lost site.
			for _, dep := range svc.DependsOn {
				if !inPlan[dep] {
					r.Reason += fmt.Sprintf("; it depends on %q, which this plan does not fail over", dep)
				}
			}
			continue
		}
		r.RestoredAt, r.Resolution, r.ResolutionMethod, r.Restored = obs.PassedAt, obs.Resolution, obs.Method, true
		for _, dep := range svc.DependsOn {
			d := done[dep]
			if !inPlan[dep] || d == nil {
				continue // not failed over by this plan, which validation rejects
			}
			if !d.Restored {
				r.Restored = false
				r.RestoredAt = time.Time{}
				r.Reason = fmt.Sprintf("depends on %q, which was never restored", dep)
				break
			}
			if d.RestoredAt.After(r.RestoredAt) {
				r.RestoredAt = d.RestoredAt
			}
			if d.Resolution > r.Resolution {
				r.Resolution, r.ResolutionMethod = d.Resolution, d.ResolutionMethod
			}
		}
		if !r.Restored {
			r.Resolution, r.ResolutionMethod = 0, ""
			continue
		}
		// A service already healthy on the DR site before T0 (active-active) recovered at
		// once; a negative RTO would mean nothing.
		r.RTOActual = max(0, r.RestoredAt.Sub(in.T0))
		r.Met = r.RTOActual <= r.RTOObjective
		if !r.Met {
			r.Reason = fmt.Sprintf("RTO %s exceeded objective %s", formatDuration(r.RTOActual), formatDuration(r.RTOObjective))
		}
	}
	return out
}

// DrillVerdict sums up a drill's recovery.
type DrillVerdict struct {
	// RTOActual is the drill's RTO: from T0 to the last service restored. When some service
	// was never restored it only covers those that were, and Restored is false.
	RTOActual time.Duration
	// Restored: every service was restored.
	Restored bool
	// RTOsMet: every service met its RTO objective. The drill's objectives also include each
	// service's RPO: see ObjectivesMet and Passed.
	RTOsMet bool
}

// Verdict sums up recoveries computed by Recoveries for a drill whose disaster was injected at t0.
func Verdict(recs []ServiceRecovery, t0 time.Time) DrillVerdict {
	if t0.IsZero() || len(recs) == 0 {
		return DrillVerdict{}
	}
	v := DrillVerdict{Restored: true, RTOsMet: true}
	var last time.Time
	for _, r := range recs {
		v.Restored = v.Restored && r.Restored
		v.RTOsMet = v.RTOsMet && r.Met
		if r.Restored && r.RestoredAt.After(last) {
			last = r.RestoredAt
		}
	}
	if !last.IsZero() {
		v.RTOActual = max(0, last.Sub(t0))
	}
	return v
}
