package sitesim

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
)

// exampleEstate mirrors examples/firedrill.hcl (whose parser lives elsewhere).
func exampleEstate() *drills.Estate {
	return &drills.Estate{
		File: "examples/firedrill.hcl",
		Sites: []*drills.Site{
			{Name: "sangam", Role: drills.SiteRolePrimary, Ingress: "http://127.0.0.1:18080",
				Nomad: &drills.NomadEndpoint{Address: "http://127.0.0.1:14646", Region: "kr-sangam", Datacenter: "sangam-1", TokenEnv: "NOMAD_TOKEN_SANGAM"}},
			{Name: "yatap", Role: drills.SiteRoleDR, Ingress: "http://127.0.0.1:18081",
				Nomad: &drills.NomadEndpoint{Address: "http://127.0.0.1:14647", Region: "kr-yatap", Datacenter: "yatap-1", TokenEnv: "NOMAD_TOKEN_YATAP"}},
		},
		Services: []*drills.Service{
			{Name: "auth", Criticality: drills.CriticalityCore, RTO: 30 * time.Minute, NomadJob: "auth"},
			{Name: "payments", Criticality: drills.CriticalityCore, RTO: time.Hour, RPO: 5 * time.Second, DependsOn: []string{"auth"}, NomadJob: "payments"},
			{Name: "remittance", Criticality: drills.CriticalityImportant, RTO: 2 * time.Hour, RPO: 5 * time.Second, DependsOn: []string{"payments"}, NomadJob: "remittance"},
		},
	}
}

func TestFromEstate(t *testing.T) {
	t.Parallel()
	env := map[string]string{"NOMAD_TOKEN_SANGAM": "sangam-token"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	cfg, err := FromEstate(exampleEstate(), false, lookup)
	if err != nil {
		t.Fatalf("FromEstate: %v", err)
	}
	jobs := func(running bool) []JobConfig {
		return []JobConfig{
			{ID: "auth", Running: running},
			{ID: "payments", Running: running, DependsOn: []string{"auth"}},
			{ID: "remittance", Running: running, DependsOn: []string{"payments"}},
		}
	}
	want := []SiteConfig{
		{Name: "sangam", Region: "kr-sangam", Datacenter: "sangam-1", NomadListen: "127.0.0.1:14646", IngressListen: "127.0.0.1:18080",
			Token: "sangam-token", Jobs: jobs(true)},
		{Name: "yatap", Region: "kr-yatap", Datacenter: "yatap-1", NomadListen: "127.0.0.1:14647", IngressListen: "127.0.0.1:18081",
			Jobs: jobs(false)},
	}
	if !reflect.DeepEqual(cfg.Sites, want) {
		t.Errorf("FromEstate = %+v\nwant %+v", cfg.Sites, want)
	}

	cfg, err = FromEstate(exampleEstate(), true, lookup)
	if err != nil {
		t.Fatalf("FromEstate ephemeral: %v", err)
	}
	for _, sc := range cfg.Sites {
		if sc.NomadListen != DefaultListen || sc.IngressListen != DefaultListen {
			t.Errorf("ephemeral site %s listens on %s and %s", sc.Name, sc.NomadListen, sc.IngressListen)
		}
	}

	cfg.StartDelay, cfg.HealthDelay = 10*time.Millisecond, 10*time.Millisecond
	sim := setup(t, cfg)
	ctx := testCtx(t)
	sangam, yatap := sim.Site("sangam"), sim.Site("yatap")
	if code, _ := healthz(t, sangam, "remittance"); code != http.StatusOK {
		t.Errorf("sangam remittance healthz = %d, want 200", code)
	}
	if code, _ := healthz(t, yatap, "remittance"); code != http.StatusServiceUnavailable {
		t.Errorf("yatap remittance healthz = %d, want 503", code)
	}
	if _, _, err := newClient(t, sangam, "").Jobs().List(qo(ctx)); statusCode(t, err) != http.StatusForbidden {
		t.Errorf("sangam without token = %v, want 403", err)
	}
	if _, _, err := newClient(t, sangam, "sangam-token").Jobs().List(qo(ctx)); err != nil {
		t.Errorf("sangam with token: %v", err)
	}
	if _, _, err := newClient(t, yatap, "").Jobs().List(qo(ctx)); err != nil {
		t.Errorf("yatap without ACL: %v", err)
	}

	bad := exampleEstate()
	bad.Services[1].DependsOn = []string{"nope"}
	if _, err := FromEstate(bad, true, lookup); err == nil {
		t.Error("FromEstate with an unknown dependency succeeded")
	}
}
