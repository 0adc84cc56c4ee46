package drills_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
)

// testProfile is a small profile with one clause per kind of evidence the rules speak to, so
// each reason's clause can be checked.
func testProfile() *drills.Profile {
	threeHours := 3 * time.Hour
	return &drills.Profile{
		ID: "test", FrequencyMonths: 12, RetestWithin: drills.DefaultRetestWithin,
		Ceilings: []drills.Ceiling{{Criticality: []string{"core"}, RTO: &threeHours, Source: "art. 9"}},
		Clauses: []drills.Clause{
			{ID: "freq", Evidence: []string{drills.EvidenceDrillFrequency, drills.EvidenceDrillPassed}},
			{ID: "rto", Evidence: []string{drills.EvidenceRTOWithin, drills.EvidenceRPOWithin}},
			{ID: "deps", Evidence: []string{drills.EvidenceDependenciesCovered}},
			{ID: "fix", Evidence: []string{drills.EvidenceFindingsClosed}},
		},
	}
}

func year2026(t *testing.T) drills.Period {
	t.Helper()
	p, err := drills.ParsePeriod("2026", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(10 * time.Hour)
}

func dur(d time.Duration) *time.Duration { return &d }

// svc is a service of the Kakao-like estate: auth <- payments <- remittance.
func facts(name, criticality string, deps ...string) drills.ServiceFacts {
	return drills.ServiceFacts{Name: name, Criticality: criticality, DependsOn: deps, RTOObjective: time.Hour, RPOObjective: time.Second}
}

// met is a service a drill failed over that met both objectives: RTO 20m, RPO 300ms.
func met(name string) drills.DrillService {
	return drills.DrillService{
		Objectives: drills.ServiceObjectives{Service: name, RTO: drills.EvidenceMet, RPO: drills.EvidenceMet},
		RTO:        dur(20 * time.Minute), RPO: dur(300 * time.Millisecond),
	}
}

// drill is a run on date that succeeded and failed over services.
func drill(id, date string, services ...drills.DrillService) drills.DrillFacts {
	return drills.DrillFacts{RunID: id, Plan: "site-loss", At: day(date), State: drills.RunSucceeded, Services: services}
}

type wantService struct {
	status drills.ComplianceStatus
	codes  []string // reason codes, in order
}

func TestEvaluateCompliance(t *testing.T) {
	t.Parallel()
	now := day("2027-01-15")
	kakao := []drills.ServiceFacts{facts("auth", "core"), facts("payments", "core", "auth"), facts("remittance", "important", "payments")}
	due := func(s string) *time.Time { d := day(s); return &d }
	tests := []struct {
		name     string
		now      time.Time
		period   string
		services []drills.ServiceFacts
		drills   []drills.DrillFacts
		findings []drills.FindingFacts
		want     map[string]wantService
		overall  drills.ComplianceStatus
	}{
		{
			name:     "drilled once and passed within objectives",
			services: []drills.ServiceFacts{facts("auth", "core")},
			drills:   []drills.DrillFacts{drill("r1", "2026-05-02", met("auth"))},
			want:     map[string]wantService{"auth": {drills.Compliant, nil}},
			overall:  drills.Compliant,
		},
		{
			name:     "not drilled in the period",
			services: []drills.ServiceFacts{facts("auth", "core")},
			want:     map[string]wantService{"auth": {drills.NonCompliant, []string{drills.ReasonNotDrilled}}},
			overall:  drills.NonCompliant,
		},
		{
			// The Kakao lesson: payments and remittance were failed over, auth never was.
			name:     "a dependency never failed over",
			services: kakao,
			drills:   []drills.DrillFacts{drill("r1", "2026-05-02", met("payments"), met("remittance"))},
			want: map[string]wantService{
				"auth":       {drills.NonCompliant, []string{drills.ReasonNotDrilled}},
				"payments":   {drills.AtRisk, []string{drills.ReasonDependencyNotFailedOver}},
				"remittance": {drills.AtRisk, []string{drills.ReasonDependencyNotFailedOver}},
			},
			overall: drills.NonCompliant,
		},
		{
			name:     "the dependency failed over in an earlier drill of the period",
			services: kakao,
			drills: []drills.DrillFacts{
				drill("r2", "2026-05-02", met("payments"), met("remittance")),
				drill("r1", "2026-03-01", met("auth")), // given out of order on purpose
			},
			want: map[string]wantService{
				"auth": {drills.Compliant, nil}, "payments": {drills.Compliant, nil}, "remittance": {drills.Compliant, nil},
			},
			overall: drills.Compliant,
		},
		{
			name:     "the dependency failed over only after the latest drill",
			services: kakao[:2],
			drills: []drills.DrillFacts{
				drill("r1", "2026-03-01", met("payments")),
				drill("r2", "2026-05-02", met("auth")),
			},
			want: map[string]wantService{
				"auth":     {drills.Compliant, nil},
				"payments": {drills.AtRisk, []string{drills.ReasonDependencyNotFailedOver}},
			},
			overall: drills.AtRisk,
		},
		{
			name:     "a dependency in the same drill that was not restored does not count",
			services: kakao[:2],
			drills: []drills.DrillFacts{func() drills.DrillFacts {
				d := drill("r1", "2026-03-01", met("auth"), met("payments"))
				d.Services[0].RTO, d.Services[0].Objectives.RTO = nil, drills.EvidenceNotEvidenced
				d.Services[0].Reason = "auth never answered on yatap"
				return d
			}()},
			want: map[string]wantService{
				"auth":     {drills.NonCompliant, []string{drills.ReasonLatestFailed, drills.ReasonRTONotEvidenced}},
				"payments": {drills.NonCompliant, []string{drills.ReasonLatestFailed, drills.ReasonDependencyNotFailedOver}},
			},
			overall: drills.NonCompliant,
		},
		{
			// A forced run skipped the checks that make it a drill: it fails nothing over.
			name:     "a dependency failed over only in a forced run",
			services: kakao[:2],
			drills: []drills.DrillFacts{
				func() drills.DrillFacts { d := drill("r1", "2026-03-01", met("auth")); d.Forced = true; return d }(),
				drill("r2", "2026-05-02", met("payments")),
			},
			want: map[string]wantService{
				"auth":     {drills.NonCompliant, []string{drills.ReasonLatestFailed}},
				"payments": {drills.AtRisk, []string{drills.ReasonDependencyNotFailedOver}},
			},
			overall: drills.NonCompliant,
		},
		{
			name:     "the latest drill failed after an earlier one passed",
			services: []drills.ServiceFacts{facts("auth", "core")},
			drills: []drills.DrillFacts{
				drill("r1", "2026-03-01", met("auth")),
				func() drills.DrillFacts {
					d := drill("r2", "2026-09-01", met("auth"))
					d.State = drills.RunFailed
					return d
				}(),
			},
			want:    map[string]wantService{"auth": {drills.NonCompliant, []string{drills.ReasonLatestFailed}}},
			overall: drills.NonCompliant,
		},
		{
			name:     "a failed drill followed by a passing one",
			services: []drills.ServiceFacts{facts("auth", "core")},
			drills: []drills.DrillFacts{
				func() drills.DrillFacts {
					d := drill("r1", "2026-03-01", met("auth"))
					d.State = drills.RunRolledBack
					return d
				}(),
				drill("r2", "2026-09-01", met("auth")),
			},
			want:    map[string]wantService{"auth": {drills.Compliant, nil}},
			overall: drills.Compliant,
		},
		{
			name:     "a forced drill never passes",
			services: []drills.ServiceFacts{facts("auth", "core")},
			drills:   []drills.DrillFacts{func() drills.DrillFacts { d := drill("r1", "2026-03-01", met("auth")); d.Forced = true; return d }()},
			want:     map[string]wantService{"auth": {drills.NonCompliant, []string{drills.ReasonLatestFailed}}},
			overall:  drills.NonCompliant,
		},
		{
			name:     "a blocked run is not a drill",
			services: []drills.ServiceFacts{facts("auth", "core")},
			drills: []drills.DrillFacts{func() drills.DrillFacts {
				d := drill("r1", "2026-03-01", met("auth"))
				d.State = drills.RunBlocked
				return d
			}()},
			want:    map[string]wantService{"auth": {drills.NonCompliant, []string{drills.ReasonNotDrilled}}},
			overall: drills.NonCompliant,
		},
		{
			name:     "a run after now has not happened",
			now:      day("2026-06-01"),
			services: []drills.ServiceFacts{facts("auth", "core")},
			drills:   []drills.DrillFacts{drill("r1", "2026-09-01", met("auth"))},
			want:     map[string]wantService{"auth": {drills.NonCompliant, []string{drills.ReasonNotDrilled}}},
			overall:  drills.NonCompliant,
		},
		{
			name:     "RTO over its objective and over the ceiling",
			services: []drills.ServiceFacts{facts("auth", "core")},
			drills: []drills.DrillFacts{func() drills.DrillFacts {
				d := drill("r1", "2026-03-01", met("auth"))
				d.Services[0].RTO, d.Services[0].Objectives.RTO = dur(3*time.Hour+12*time.Minute), drills.EvidenceMissed
				return d
			}()},
			want: map[string]wantService{"auth": {drills.NonCompliant, []string{
				drills.ReasonLatestFailed, drills.ReasonRTOOverObjective, drills.ReasonRTOOverCeiling}}},
			overall: drills.NonCompliant,
		},
		{
			name: "an objective above the ceiling puts the service at risk even when met",
			services: []drills.ServiceFacts{func() drills.ServiceFacts {
				s := facts("auth", "core")
				s.RTOObjective = 4 * time.Hour
				return s
			}()},
			drills:  []drills.DrillFacts{drill("r1", "2026-03-01", met("auth"))},
			want:    map[string]wantService{"auth": {drills.AtRisk, []string{drills.ReasonRTOObjectiveOverCeiling}}},
			overall: drills.AtRisk,
		},
		{
			name: "the ceiling applies only to its criticality",
			services: []drills.ServiceFacts{func() drills.ServiceFacts {
				s := facts("reports", "supporting")
				s.RTOObjective = 8 * time.Hour
				return s
			}()},
			drills: []drills.DrillFacts{func() drills.DrillFacts {
				d := drill("r1", "2026-03-01", met("reports"))
				d.Services[0].RTO = dur(5 * time.Hour)
				return d
			}()},
			want:    map[string]wantService{"reports": {drills.Compliant, nil}},
			overall: drills.Compliant,
		},
		{
			name:     "an RPO not evidenced is at risk, not met",
			services: []drills.ServiceFacts{facts("auth", "core")},
			drills: []drills.DrillFacts{func() drills.DrillFacts {
				d := drill("r1", "2026-03-01", met("auth"))
				d.Services[0].RPO, d.Services[0].Objectives.RPO = nil, drills.EvidenceNotEvidenced
				d.Services[0].Reason = "too few canary rows before T0"
				return d
			}()},
			// Not evidenced also means the drill did not pass (drills.Passed).
			want:    map[string]wantService{"auth": {drills.NonCompliant, []string{drills.ReasonLatestFailed, drills.ReasonRPONotEvidenced}}},
			overall: drills.NonCompliant,
		},
		{
			name:     "findings: open is at risk, overdue is non-compliant, covered says nothing",
			services: []drills.ServiceFacts{facts("auth", "core"), facts("payments", "core")},
			drills:   []drills.DrillFacts{drill("r1", "2026-03-01", met("auth"), met("payments"))},
			findings: []drills.FindingFacts{
				{ID: "F-1", Title: "DNS TTL too long", Service: "auth", Severity: drills.SeverityMedium, Status: drills.FindingInProgress, DueAt: due("2027-03-01")},
				{ID: "F-2", Title: "no runbook for the ledger", Service: "payments", Severity: drills.SeverityHigh, Status: drills.FindingFixed, DueAt: due("2026-12-01")},
				{ID: "F-3", Title: "retested", Service: "payments", Severity: drills.SeverityLow, Status: drills.FindingRetested},
				{ID: "F-4", Title: "accepted", Service: "auth", Severity: drills.SeverityCritical, Status: drills.FindingRiskAccepted, DueAt: due("2026-01-01")},
			},
			want: map[string]wantService{
				"auth":     {drills.AtRisk, []string{drills.ReasonFindingOpen}},
				"payments": {drills.NonCompliant, []string{drills.ReasonFindingOverdue}},
			},
			overall: drills.NonCompliant,
		},
		{
			name: "scheduled drills skipped by a blackout are stated and counted against what was due",
			services: []drills.ServiceFacts{func() drills.ServiceFacts {
				s := facts("auth", "core")
				s.TestsDue = 2
				s.SkippedFires = []drills.SkippedFire{
					{Schedule: "half-yearly", At: day("2026-12-20"), Reason: `blackout "year-end"`},
					{Schedule: "half-yearly", At: day("2025-12-20"), Reason: "outside the period"},
				}
				return s
			}()},
			drills: []drills.DrillFacts{drill("r1", "2026-06-20", met("auth"))},
			want: map[string]wantService{"auth": {drills.NonCompliant, []string{
				drills.ReasonDrilledLessThanRequired, drills.ReasonFiresSkipped}}},
			overall: drills.NonCompliant,
		},
		{
			name:     "a quarter without a drill, within 12 months of one",
			period:   "2026-Q3",
			now:      day("2026-10-02"),
			services: []drills.ServiceFacts{facts("auth", "core")},
			drills:   []drills.DrillFacts{drill("r1", "2026-02-01", met("auth"))},
			want:     map[string]wantService{"auth": {drills.Compliant, []string{drills.ReasonDrilledBeforePeriod}}},
			overall:  drills.Compliant,
		},
		{
			name:     "a quarter whose last drill is more than 12 months old",
			period:   "2026-Q3",
			now:      day("2026-10-02"),
			services: []drills.ServiceFacts{facts("auth", "core")},
			drills:   []drills.DrillFacts{drill("r1", "2025-08-01", met("auth"))},
			want:     map[string]wantService{"auth": {drills.NonCompliant, []string{drills.ReasonNotDrilled}}},
			overall:  drills.NonCompliant,
		},
		{
			name:   "a quarter whose scheduled drill did not run, though the frequency is kept",
			period: "2026-Q3",
			now:    day("2026-10-02"),
			services: []drills.ServiceFacts{func() drills.ServiceFacts {
				s := facts("auth", "core")
				s.TestsDue = 1
				return s
			}()},
			drills:  []drills.DrillFacts{drill("r1", "2026-02-01", met("auth"))},
			want:    map[string]wantService{"auth": {drills.NonCompliant, []string{drills.ReasonDrilledLessThanRequired}}},
			overall: drills.NonCompliant,
		},
		{
			name:     "the year is not over: last year's drill still counts",
			now:      day("2026-06-01"),
			services: []drills.ServiceFacts{facts("auth", "core")},
			drills:   []drills.DrillFacts{drill("r1", "2025-09-01", met("auth"))},
			want:     map[string]wantService{"auth": {drills.Compliant, []string{drills.ReasonDrilledBeforePeriod}}},
			overall:  drills.Compliant,
		},
		{
			name:     "two years need two drills, and the last within 12 months of the end",
			period:   "2025-01-01..2026-12-31",
			services: []drills.ServiceFacts{facts("auth", "core")},
			drills:   []drills.DrillFacts{drill("r1", "2025-03-01", met("auth"))},
			want: map[string]wantService{"auth": {drills.NonCompliant, []string{
				drills.ReasonDrilledLessThanRequired, drills.ReasonDrillOverdue}}},
			overall: drills.NonCompliant,
		},
		{
			name:     "a finding of no declared service is the estate's",
			services: []drills.ServiceFacts{facts("auth", "core")},
			drills:   []drills.DrillFacts{drill("r1", "2026-03-01", met("auth"))},
			findings: []drills.FindingFacts{{ID: "F-9", Title: "call tree out of date", Severity: drills.SeverityLow, Status: drills.FindingOpen}},
			want:     map[string]wantService{"auth": {drills.Compliant, nil}},
			overall:  drills.AtRisk,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			period := year2026(t)
			if tt.period != "" {
				var err error
				if period, err = drills.ParsePeriod(tt.period, nil); err != nil {
					t.Fatal(err)
				}
			}
			in := drills.ComplianceInput{Profile: testProfile(), Period: period, Now: now,
				Services: tt.services, Drills: tt.drills, Findings: tt.findings}
			if !tt.now.IsZero() {
				in.Now = tt.now
			}
			got := drills.EvaluateCompliance(in)
			if got.Status != tt.overall {
				t.Errorf("EvaluateCompliance().Status = %s, want %s\n%s", got.Status, tt.overall, describe(got))
			}
			if len(got.Services) != len(tt.services) {
				t.Fatalf("EvaluateCompliance() judged %d services, want %d", len(got.Services), len(tt.services))
			}
			for i, sc := range got.Services {
				if sc.Service != tt.services[i].Name {
					t.Errorf("service %d = %s, want %s (estate order)", i, sc.Service, tt.services[i].Name)
				}
				w := tt.want[sc.Service]
				var codes []string
				for _, r := range sc.Reasons {
					codes = append(codes, r.Code)
					if r.Text("en") == "" || r.Text("ko") == "" || strings.Contains(r.Text("en"), "%!") || strings.Contains(r.Text("ko"), "%!") {
						t.Errorf("%s: reason %s words as %q / %q", sc.Service, r.Code, r.Text("en"), r.Text("ko"))
					}
				}
				if sc.Status != w.status || !slices.Equal(codes, w.codes) {
					t.Errorf("%s = %s %v, want %s %v\n%s", sc.Service, sc.Status, codes, w.status, w.codes, describe(got))
				}
			}
		})
	}
}

// TestKakaoLesson is the headline: with the example estate and a year in which auth was never
// failed over, payments is at risk, in words a compliance officer understands.
func TestKakaoLesson(t *testing.T) {
	t.Parallel()
	est := exampleConfig(t)
	var services []drills.ServiceFacts
	for _, s := range est.Services {
		services = append(services, drills.ServiceFacts{
			Name: s.Name, Criticality: string(s.Criticality), DependsOn: s.DependsOn,
			RTOObjective: s.RTO, RPOObjective: s.RPO,
		})
	}
	if est.Service("payments") == nil || !slices.Contains(est.Service("payments").DependsOn, "auth") {
		t.Fatal("the example estate no longer has payments depending on auth")
	}
	var failedOver []drills.DrillService
	for _, s := range est.Services {
		if s.Name != "auth" {
			failedOver = append(failedOver, met(s.Name))
		}
	}
	in := drills.ComplianceInput{
		Profile: testProfile(), Period: year2026(t), Now: day("2027-01-10"), Services: services,
		Drills: []drills.DrillFacts{drill("7f3a", "2026-04-18", failedOver...)},
	}
	got := drills.EvaluateCompliance(in)
	var payments *drills.ServiceCompliance
	for i := range got.Services {
		if got.Services[i].Service == "payments" {
			payments = &got.Services[i]
		}
	}
	if payments == nil || payments.Status != drills.AtRisk {
		t.Fatalf("payments = %+v, want at_risk\n%s", payments, describe(got))
	}
	i := slices.IndexFunc(payments.Reasons, func(r drills.Reason) bool { return r.Code == drills.ReasonDependencyNotFailedOver })
	if i < 0 {
		t.Fatalf("payments reasons = %v, want %s", payments.Reasons, drills.ReasonDependencyNotFailedOver)
	}
	r := payments.Reasons[i]
	if r.Clause != "deps" || r.Args["dependency"] != "auth" || r.Status != drills.AtRisk {
		t.Errorf("reason = %+v, want clause deps, dependency auth, at_risk", r)
	}
	wantEN := "payments was drilled, but auth, which it depends on, was never failed over in 2026: the drill does not show payments can run on the DR site"
	if got := r.Text("en"); got != wantEN {
		t.Errorf("Text(en) =\n%s\nwant\n%s", got, wantEN)
	}
	wantKO := "payments 서비스는 훈련을 실시했으나, 의존하는 auth 서비스는 2026년에 한 번도 재해복구센터로 전환되지 않았습니다. " +
		"따라서 이 훈련만으로는 payments 서비스가 재해복구센터에서 정상 운영될 수 있음을 입증하지 못합니다."
	if got := r.Text("ko"); got != wantKO {
		t.Errorf("Text(ko) =\n%s\nwant\n%s", got, wantKO)
	}
	// The clause map: dependencies at risk, frequency broken (auth was never drilled).
	for clause, want := range map[string]drills.ComplianceStatus{"deps": drills.AtRisk, "freq": drills.NonCompliant, "fix": drills.Compliant} {
		if status := got.ClauseStatus(clause); status != want {
			t.Errorf("ClauseStatus(%s) = %s, want %s", clause, status, want)
		}
	}
	if payments.LatestRunID != "7f3a" || !payments.LatestPassed || payments.DrillsRun != 1 || payments.DrillsRequired != 1 {
		t.Errorf("payments = %+v, want latest 7f3a passed, 1 of 1 drills", payments)
	}
}

// TestTransitiveDependencyNamesThePath: remittance depends on auth through payments; the
// reason says so.
func TestTransitiveDependencyNamesThePath(t *testing.T) {
	t.Parallel()
	in := drills.ComplianceInput{
		Profile: testProfile(), Period: year2026(t), Now: day("2027-01-10"),
		Services: []drills.ServiceFacts{facts("auth", "core"), facts("payments", "core", "auth"), facts("remittance", "important", "payments")},
		Drills:   []drills.DrillFacts{drill("r1", "2026-04-18", met("payments"), met("remittance"))},
	}
	got := drills.EvaluateCompliance(in)
	rem := got.Services[2]
	if len(rem.Reasons) != 1 {
		t.Fatalf("remittance reasons = %+v, want one (auth through payments)", rem.Reasons)
	}
	want := "remittance was drilled, but auth, which it depends on through payments, was never failed over in 2026: the drill does not show remittance can run on the DR site"
	if got := rem.Reasons[0].Text("en"); got != want {
		t.Errorf("Text(en) =\n%s\nwant\n%s", got, want)
	}
	if got := rem.Reasons[0].Text("ko"); !strings.Contains(got, "payments 서비스를 거쳐 의존하는 auth 서비스는") {
		t.Errorf("Text(ko) = %s, want it to name the path through payments", got)
	}
}

func TestServiceComplianceFigures(t *testing.T) {
	t.Parallel()
	older := drill("r1", "2026-02-01", met("auth"))
	older.Services[0].RTO = dur(25 * time.Minute)
	latest := drill("r2", "2026-08-01", met("auth"))
	latest.Services[0].RPO, latest.Services[0].Objectives.RPO = nil, drills.EvidenceNotEvidenced
	got := drills.EvaluateCompliance(drills.ComplianceInput{
		Profile: testProfile(), Period: year2026(t), Now: day("2027-01-10"),
		Services: []drills.ServiceFacts{facts("auth", "core")}, Drills: []drills.DrillFacts{older, latest},
	})
	sc := got.Services[0]
	if sc.DrillsRun != 2 || sc.DrillsPassed != 1 || sc.LatestRunID != "r2" || sc.LatestPassed {
		t.Errorf("counts = run %d passed %d latest %s (%v), want 2, 1, r2 (not passed)", sc.DrillsRun, sc.DrillsPassed, sc.LatestRunID, sc.LatestPassed)
	}
	// RTO and RPO are of the latest drill that measured them.
	if sc.RTO == nil || *sc.RTO != 20*time.Minute || sc.RTORunID != "r2" {
		t.Errorf("RTO = %v from %s, want 20m from r2", sc.RTO, sc.RTORunID)
	}
	if sc.RPO == nil || *sc.RPO != 300*time.Millisecond || sc.RPORunID != "r1" {
		t.Errorf("RPO = %v from %s, want 300ms from r1", sc.RPO, sc.RPORunID)
	}
	if sc.RTOCeiling == nil || *sc.RTOCeiling != 3*time.Hour || sc.RPOCeiling != nil {
		t.Errorf("ceilings = %v, %v, want 3h and none", sc.RTOCeiling, sc.RPOCeiling)
	}
	if sc.RTOEvidence != drills.EvidenceMet || sc.RPOEvidence != drills.EvidenceNotEvidenced {
		t.Errorf("evidence = %s, %s, want met, not_evidenced", sc.RTOEvidence, sc.RPOEvidence)
	}
	for _, r := range sc.Reasons {
		if r.Clause == "" {
			t.Errorf("reason %s has no clause; the profile has one for its evidence", r.Code)
		}
	}
}

func TestEvaluateComplianceIsDeterministic(t *testing.T) {
	t.Parallel()
	in := drills.ComplianceInput{
		Profile: testProfile(), Period: year2026(t), Now: day("2027-01-10"),
		Services: []drills.ServiceFacts{facts("auth", "core"), facts("payments", "core", "auth")},
		Drills:   []drills.DrillFacts{drill("r1", "2026-04-18", met("payments"))},
		Findings: []drills.FindingFacts{{ID: "F-1", Service: "auth", Status: drills.FindingOpen}},
	}
	a, b := describe(drills.EvaluateCompliance(in)), describe(drills.EvaluateCompliance(in))
	if a != b {
		t.Errorf("two evaluations differ:\n%s\n%s", a, b)
	}
}

func describe(r drills.ComplianceResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s\n", r.Profile, r.Period.Name, r.Status)
	for _, s := range r.Services {
		fmt.Fprintf(&b, "  %s %s (%d/%d run, %d passed)\n", s.Service, s.Status, s.DrillsRun, s.DrillsRequired, s.DrillsPassed)
		for _, rs := range s.Reasons {
			fmt.Fprintf(&b, "    %s [%s] %s\n", rs.Code, rs.Status, rs.Text("en"))
		}
	}
	for _, rs := range r.Reasons {
		fmt.Fprintf(&b, "  estate: %s [%s] %s\n", rs.Code, rs.Status, rs.Text("en"))
	}
	return b.String()
}

func TestCeilingsForTakesTheStrictest(t *testing.T) {
	t.Parallel()
	eight, three, rpoCeiling := 8*time.Hour, 3*time.Hour, 5*time.Second
	p := &drills.Profile{Ceilings: []drills.Ceiling{
		{RTO: &eight, RPO: &rpoCeiling, Source: "every service"},
		{Criticality: []string{"core", "important"}, RTO: &three, Source: "core"},
	}}
	tests := []struct {
		criticality string
		rto, rpo    time.Duration
	}{
		{"core", three, rpoCeiling},
		{"important", three, rpoCeiling},
		{"supporting", eight, rpoCeiling},
	}
	for _, tt := range tests {
		rto, rpo := p.CeilingsFor(tt.criticality)
		if rto == nil || rpo == nil || *rto != tt.rto || *rpo != tt.rpo {
			t.Errorf("CeilingsFor(%s) = %v, %v, want %v, %v", tt.criticality, rto, rpo, tt.rto, tt.rpo)
		}
	}
	// The reason names the source of the ceiling that bound.
	got := drills.EvaluateCompliance(drills.ComplianceInput{
		Profile: p, Period: year2026(t), Now: day("2027-01-10"),
		Services: []drills.ServiceFacts{func() drills.ServiceFacts { s := facts("auth", "core"); s.RTOObjective = 4 * time.Hour; return s }()},
		Drills:   []drills.DrillFacts{drill("r1", "2026-03-01", met("auth"))},
	})
	rs := got.Services[0].Reasons
	if len(rs) != 1 || rs[0].Code != drills.ReasonRTOObjectiveOverCeiling || rs[0].Args["ceiling_source"] != "core" {
		t.Errorf("reasons = %+v, want the objective over the core ceiling, citing it", rs)
	}
}
