package drills_test

import (
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
)

func TestRecoveries(t *testing.T) {
	t.Parallel()
	cfg := exampleConfig(t) // auth (rto 30m) <- payments (1h) <- remittance (2h)
	p, diags := drills.ParsePlan(readExample(t, "plans/site-loss.hcl"), "site-loss.hcl")
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	// time.Now carries a monotonic reading, which the arithmetic must keep.
	t0 := time.Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	obs := func(svc string, after, res time.Duration) drills.ServiceObservation {
		return drills.ServiceObservation{Service: svc, PassedAt: at(after), Resolution: res}
	}
	type want struct {
		restored bool
		rto      time.Duration
		met      bool
		res      time.Duration
		reason   string
	}
	tests := []struct {
		name string
		t0   time.Time
		obs  []drills.ServiceObservation
		want map[string]want
	}{
		{
			name: "all within objectives",
			t0:   t0,
			obs: []drills.ServiceObservation{
				obs("remittance", 20*time.Minute, 50*time.Millisecond),
				obs("auth", 10*time.Minute, 50*time.Millisecond),
				obs("auth", 12*time.Minute, time.Second), // a later pass changes nothing
				obs("payments", 15*time.Minute, 50*time.Millisecond),
			},
			want: map[string]want{
				"auth":       {true, 10 * time.Minute, true, 50 * time.Millisecond, ""},
				"payments":   {true, 15 * time.Minute, true, 50 * time.Millisecond, ""},
				"remittance": {true, 20 * time.Minute, true, 50 * time.Millisecond, ""},
			},
		},
		{
			name: "dependency restored later than the service's own pass",
			t0:   t0,
			obs: []drills.ServiceObservation{
				obs("auth", 50*time.Minute, time.Second),
				obs("payments", 5*time.Minute, 50*time.Millisecond),
				obs("remittance", 5*time.Minute, 50*time.Millisecond),
			},
			want: map[string]want{
				"auth":       {true, 50 * time.Minute, false, time.Second, "RTO 50m exceeded objective 30m"},
				"payments":   {true, 50 * time.Minute, true, time.Second, ""},
				"remittance": {true, 50 * time.Minute, true, time.Second, ""},
			},
		},
		{
			name: "dependency never restored",
			t0:   t0,
			obs: []drills.ServiceObservation{
				obs("payments", 5*time.Minute, 50*time.Millisecond),
				obs("remittance", 5*time.Minute, 50*time.Millisecond),
			},
			want: map[string]want{
				"auth":       {false, 0, false, 0, "never passed its checks on yatap"},
				"payments":   {false, 0, false, 0, `depends on "auth", which was never restored`},
				"remittance": {false, 0, false, 0, `depends on "payments", which was never restored`},
			},
		},
		{
			name: "objective exceeded",
			t0:   t0,
			obs: []drills.ServiceObservation{
				obs("auth", time.Minute, 50*time.Millisecond),
				obs("payments", time.Hour+2*time.Minute, 50*time.Millisecond),
				obs("remittance", time.Hour+3*time.Minute, 50*time.Millisecond),
			},
			want: map[string]want{
				"auth":       {true, time.Minute, true, 50 * time.Millisecond, ""},
				"payments":   {true, time.Hour + 2*time.Minute, false, 50 * time.Millisecond, "RTO 1h2m exceeded objective 1h"},
				"remittance": {true, time.Hour + 3*time.Minute, true, 50 * time.Millisecond, ""},
			},
		},
		{
			name: "healthy before the disaster",
			t0:   t0,
			obs: []drills.ServiceObservation{
				obs("auth", -time.Minute, 50*time.Millisecond),
				obs("payments", -time.Minute, 50*time.Millisecond),
				obs("remittance", time.Second, 50*time.Millisecond),
			},
			want: map[string]want{
				"auth":       {true, 0, true, 50 * time.Millisecond, ""},
				"payments":   {true, 0, true, 50 * time.Millisecond, ""},
				"remittance": {true, time.Second, true, 50 * time.Millisecond, ""},
			},
		},
		{
			name: "disaster never injected",
			obs:  []drills.ServiceObservation{obs("auth", time.Minute, 50*time.Millisecond)},
			want: map[string]want{
				"auth":       {false, 0, false, 0, "the disaster was never injected (no T0): nothing could be measured"},
				"payments":   {false, 0, false, 0, "the disaster was never injected (no T0): nothing could be measured"},
				"remittance": {false, 0, false, 0, "the disaster was never injected (no T0): nothing could be measured"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recs := drills.Recoveries(drills.RecoveryInput{Estate: cfg, Plan: p, Site: "yatap", T0: tt.t0, Observations: tt.obs})
			if len(recs) != 3 || recs[0].Service != "auth" || recs[1].Service != "payments" || recs[2].Service != "remittance" {
				t.Fatalf("Recoveries = %+v, want auth, payments, remittance", recs)
			}
			for _, r := range recs {
				w := tt.want[r.Service]
				got := want{r.Restored, r.RTOActual, r.Met, r.Resolution, r.Reason}
				if got != w {
					t.Errorf("Recoveries[%s] = %+v, want %+v", r.Service, got, w)
				}
				if r.Restored && !r.RestoredAt.Equal(tt.t0.Add(r.RTOActual)) && r.RTOActual > 0 {
					t.Errorf("Recoveries[%s].RestoredAt = %v, want T0 + %v", r.Service, r.RestoredAt, r.RTOActual)
				}
				if r.RTOObjective != cfg.Service(r.Service).RTO || r.Criticality != cfg.Service(r.Service).Criticality {
					t.Errorf("Recoveries[%s] objective = %v %v", r.Service, r.RTOObjective, r.Criticality)
				}
			}
		})
	}
}

func TestVerdict(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	ok := func(after time.Duration, met bool) drills.ServiceRecovery {
		return drills.ServiceRecovery{Restored: true, RestoredAt: t0.Add(after), RTOActual: after, Met: met}
	}
	tests := []struct {
		name string
		t0   time.Time
		recs []drills.ServiceRecovery
		want drills.DrillVerdict
	}{
		{"all met", t0, []drills.ServiceRecovery{ok(time.Minute, true), ok(3*time.Minute, true), ok(2*time.Minute, true)},
			drills.DrillVerdict{RTOActual: 3 * time.Minute, Restored: true, RTOsMet: true}},
		{"one missed", t0, []drills.ServiceRecovery{ok(time.Minute, true), ok(2*time.Hour, false)},
			drills.DrillVerdict{RTOActual: 2 * time.Hour, Restored: true}},
		{"one not restored", t0, []drills.ServiceRecovery{ok(time.Minute, true), {}},
			drills.DrillVerdict{RTOActual: time.Minute}},
		{"no t0", time.Time{}, []drills.ServiceRecovery{ok(time.Minute, true)}, drills.DrillVerdict{}},
		{"no services", t0, nil, drills.DrillVerdict{}},
	}
	for _, tt := range tests {
		if got := drills.Verdict(tt.recs, tt.t0); got != tt.want {
			t.Errorf("%s: Verdict = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestRecoveriesKeepTheMethodOfTheirResolution(t *testing.T) {
	t.Parallel()
	cfg := exampleConfig(t) // auth <- payments <- remittance
	p, diags := drills.ParsePlan(readExample(t, "plans/site-loss.hcl"), "site-loss.hcl")
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	t0 := time.Now()
	recs := drills.Recoveries(drills.RecoveryInput{Estate: cfg, Plan: p, Site: "yatap", T0: t0, Observations: []drills.ServiceObservation{
		{Service: "auth", PassedAt: t0.Add(time.Minute), Resolution: 50 * time.Millisecond, Method: "poll"},
		{Service: "payments", PassedAt: t0.Add(2 * time.Minute), Resolution: 2 * time.Millisecond, Method: "nomad_event_stream"},
		{Service: "remittance", PassedAt: t0.Add(3 * time.Minute), Resolution: time.Millisecond, Method: "nomad_event_stream"},
	}})
	// A service's resolution is the coarsest of its own and its dependencies': so is its method.
	want := map[string]string{"auth": "poll", "payments": "poll", "remittance": "poll"}
	for _, r := range recs {
		if r.ResolutionMethod != want[r.Service] || r.Resolution != 50*time.Millisecond {
			t.Errorf("%s: resolution %s by %q, want 50ms by %q", r.Service, r.Resolution, r.ResolutionMethod, want[r.Service])
		}
	}
}
