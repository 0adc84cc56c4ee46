package drills_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
)

func TestPassed(t *testing.T) {
	t.Parallel()
	met := func(svc string) drills.ServiceObjectives {
		return drills.ServiceObjectives{Service: svc, RTO: drills.EvidenceMet, RPO: drills.EvidenceMet}
	}
	noRPO := drills.ServiceObjectives{Service: "b", RTO: drills.EvidenceMet, RPO: drills.EvidenceNotEvidenced}
	missedRPO := drills.ServiceObjectives{Service: "b", RTO: drills.EvidenceMet, RPO: drills.EvidenceMissed}
	tests := []struct {
		name     string
		state    drills.RunState
		forced   bool
		services []drills.ServiceObjectives
		passed   bool
		drillOfA bool
		drillOfB bool
	}{
		{"all measured and met", drills.RunSucceeded, false, []drills.ServiceObjectives{met("a"), met("b")}, true, true, true},
		{"forced", drills.RunSucceeded, true, []drills.ServiceObjectives{met("a"), met("b")}, false, false, false},
		{"rolled back", drills.RunRolledBack, false, []drills.ServiceObjectives{met("a"), met("b")}, false, false, false},
		{"an RPO not evidenced", drills.RunSucceeded, false, []drills.ServiceObjectives{met("a"), noRPO}, false, true, false},
		{"an RPO missed", drills.RunSucceeded, false, []drills.ServiceObjectives{met("a"), missedRPO}, false, true, false},
		{"nothing measured", drills.RunSucceeded, false, nil, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := drills.Passed(tt.state, tt.forced, tt.services); got != tt.passed {
				t.Errorf("Passed = %v, want %v", got, tt.passed)
			}
			// Every objective of every service measured and met, whatever the run's state.
			wantMet := len(tt.services) == 2 && tt.services[1].Met()
			if got := drills.ObjectivesMet(tt.services); got != wantMet {
				t.Errorf("ObjectivesMet = %v, want %v", got, wantMet)
			}
			if got := drills.CountsAsDrillOf(tt.state, tt.forced, "a", tt.services); got != tt.drillOfA {
				t.Errorf("CountsAsDrillOf(a) = %v, want %v", got, tt.drillOfA)
			}
			if got := drills.CountsAsDrillOf(tt.state, tt.forced, "b", tt.services); got != tt.drillOfB {
				t.Errorf("CountsAsDrillOf(b) = %v, want %v", got, tt.drillOfB)
			}
		})
	}
}

func TestEvidenceOf(t *testing.T) {
	t.Parallel()
	if drills.EvidenceOf(false, true) != drills.EvidenceNotEvidenced || drills.EvidenceOf(true, true) != drills.EvidenceMet ||
		drills.EvidenceOf(true, false) != drills.EvidenceMissed {
		t.Fatal("EvidenceOf: an objective not measured must be not evidenced, whatever met says")
	}
}

func TestCanaryEvidenced(t *testing.T) {
	t.Parallel()
	c := &drills.Canary{MinRows: 10, MinDuration: time.Second}
	tests := []struct {
		rows int64
		span time.Duration
		ok   bool
	}{
		{1, 0, false}, {10, 900 * time.Millisecond, false}, {9, time.Minute, false}, {10, time.Second, true},
	}
	for _, tt := range tests {
		ok, why := c.Evidenced(tt.rows, tt.span)
		if ok != tt.ok || (ok == (why != "")) {
			t.Errorf("Evidenced(%d, %s) = %v, %q; want %v", tt.rows, tt.span, ok, why, tt.ok)
		}
		if !ok && !strings.Contains(why, "at least 10 rows over 1s") {
			t.Errorf("Evidenced(%d, %s) reason %q does not name the minimum", tt.rows, tt.span, why)
		}
	}
	// A zero minimum is the default, never "no minimum".
	if ok, _ := (&drills.Canary{}).Evidenced(1, 0); ok {
		t.Error("Evidenced with zero minimums accepted one row")
	}
}
