package drills_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
)

// chain is an estate where c depends on b, b on a, and d and e stand alone.
func chain(t *testing.T) *drills.Estate {
	t.Helper()
	src := primary + svc("d") + svc("c", `  depends_on = ["b"]`) + svc("b", `  depends_on = ["a"]`) + svc("a") + svc("e")
	cfg, diags := drills.ParseEstate([]byte(src), "c.hcl")
	if len(diags) > 0 {
		t.Fatalf("ParseConfig = %v", diags)
	}
	return cfg
}

func TestTopoOrder(t *testing.T) {
	t.Parallel()
	cfg := chain(t)
	tests := []struct {
		names, want []string
	}{
		{[]string{"a", "b", "c"}, []string{"a", "b", "c"}},
		{[]string{"c", "b", "a"}, []string{"a", "b", "c"}},
		{[]string{"e", "c", "d", "a", "b"}, []string{"e", "d", "a", "b", "c"}},
		// b is not asked for, but c still needs a through it.
		{[]string{"c", "a"}, []string{"a", "c"}},
		{[]string{"d", "e"}, []string{"d", "e"}},
		{nil, []string{}},
	}
	for _, tt := range tests {
		got, err := drills.TopoOrder(cfg, tt.names)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("TopoOrder(%v) = %v, %v, want %v", tt.names, got, err, tt.want)
		}
	}
	if _, err := drills.TopoOrder(cfg, []string{"a", "zz"}); err == nil || !strings.Contains(err.Error(), `unknown service "zz"`) {
		t.Errorf("TopoOrder(unknown) = %v, want unknown service", err)
	}
}

func TestTopoOrderCycle(t *testing.T) {
	t.Parallel()
	cfg := chain(t)
	cfg.Service("a").DependsOn = []string{"c"} // as if built by hand, bypassing ParseConfig
	_, err := drills.TopoOrder(cfg, []string{"a", "b", "c"})
	var diags drills.Diagnostics
	if !errors.As(err, &diags) || !strings.Contains(err.Error(), "c.hcl:14:1: dependency cycle: c -> b -> a -> c") {
		t.Errorf("TopoOrder(cycle) = %v, want the cycle as Diagnostics", err)
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	cfg := exampleConfig(t)
	src := strings.ReplaceAll(string(readExample(t, "plans/site-loss.hcl")), `["auth", "payments", "remittance"]`, `["remittance", "auth", "payments"]`)
	p, diags := drills.ParsePlan([]byte(src), "site-loss.hcl")
	if len(diags) > 0 {
		t.Fatalf("ParsePlan = %v", diags)
	}
	keys := func(insts []drills.StepInstance) []string {
		var out []string
		for _, in := range insts {
			out = append(out, in.Key)
		}
		return out
	}
	insts, err := p.Expand(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		// drain_site takes no services; run_job starts dependencies first.
		"lose-sangam",
		"start-on-yatap[auth]", "start-on-yatap[payments]", "start-on-yatap[remittance]",
		"wait-allocations", "verify",
	}
	if got := keys(insts); !slices.Equal(got, want) {
		t.Errorf("Expand = %v, want %v", got, want)
	}
	if insts[0].Service != "" || insts[0].Step != p.Steps[0] || insts[1].Service != "auth" || insts[4].Service != "" {
		t.Errorf("Expand instances = %+v", insts)
	}
	rb, err := p.ExpandRollback(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		// stop_job stops dependents first.
		"stop-on-yatap[remittance]", "stop-on-yatap[payments]", "stop-on-yatap[auth]",
		"return-to-sangam",
	}
	if got := keys(rb); !slices.Equal(got, want) {
		t.Errorf("ExpandRollback = %v, want %v", got, want)
	}

	var names []string
	for _, s := range p.ServicesOf(cfg, insts[5]) {
		names = append(names, s.Name)
	}
	if want := []string{"auth", "payments", "remittance"}; !slices.Equal(names, want) {
		t.Errorf("ServicesOf(verify) = %v, want %v", names, want)
	}
	if got := p.ServicesOf(cfg, insts[3]); len(got) != 1 || got[0].Name != "remittance" {
		t.Errorf("ServicesOf(start-on-yatap[remittance]) = %v", got)
	}
}
