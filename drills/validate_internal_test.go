package drills

import (
	"strings"
	"testing"
)

// No shipped action forbids a site or for_each yet, so the rules are tested with made-up specs.
func TestCheckAgainstSpec(t *testing.T) {
	t.Parallel()
	at := func(line int) Pos { return Pos{File: "p.hcl", Line: line, Column: 5} }
	tests := []struct {
		name string
		spec ActionSpec
		step *Step
		want string
	}{
		{"site forbidden", ActionSpec{Name: "manual", Site: SiteForbidden, Services: ServicesOptional},
			&Step{Name: "s", Site: "yatap", Pos: at(1), AttrPos: map[string]Pos{"site": at(2)}},
			`p.hcl:2:5: site: action "manual" does not act on a site: remove site`},
		{"site optional", ActionSpec{Name: "manual", Site: SiteOptional, Services: ServicesOptional},
			&Step{Name: "s", Pos: at(1)}, ``},
		{"for_each forbidden", ActionSpec{Name: "manual", Site: SiteOptional, Services: ServicesNone},
			&Step{Name: "s", ForEach: []string{"auth"}, Pos: at(1), AttrPos: map[string]Pos{"for_each": at(3)}},
			`p.hcl:3:5: for_each: action "manual" does not act on services: remove for_each`},
		{"for_each required", ActionSpec{Name: "x", Site: SiteOptional, Services: ServicesRequired},
			&Step{Name: "s", Pos: at(1)},
			`p.hcl:1:5: step "s": action "x" needs for_each`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := &planValidator{cfg: &Config{}, p: &Plan{}}
			v.checkAgainstSpec(tt.step, tt.spec)
			if tt.want == "" {
				if len(v.diags) > 0 {
					t.Errorf("checkAgainstSpec = %v, want none", v.diags)
				}
				return
			}
			if len(v.diags) != 1 || !strings.Contains(v.diags[0].String(), tt.want) {
				t.Errorf("checkAgainstSpec = %v, want %q", v.diags, tt.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, err string
	}{
		{in: "30m", want: "30m0s"},
		{in: "1h30m", want: "1h30m0s"},
		{in: "0s", want: "0s"},
		{in: "0", want: "0s"},
		{in: "1d", want: "24h0m0s"},
		{in: "1d12h", want: "36h0m0s"},
		{in: "2d30m", want: "48h30m0s"},
		{in: "soon", err: `"soon" is not a duration (use e.g. "30m", "1h30m")`},
		{in: "", err: `"" is not a duration`},
		{in: "-5m", err: `"-5m" is negative`},
		{in: "-1d", err: `"-1d" is not a duration`},
		{in: "1d-1h", err: `"1d-1h" is not a duration`},
		{in: "1.5d", err: `"1.5d" is not a duration`},
		{in: "d", err: `"d" is not a duration`},
		{in: "99999999d", err: `is not a duration`},
		{in: "106751d23h47m16.854775807s", want: "2562047h47m16.854775807s"},
		{in: "106751d23h47m16.854775808s", err: `is not a duration`},
	}
	for _, tt := range tests {
		d, err := ParseDuration(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseDuration(%q) = %v, %v, want error %q", tt.in, d, err, tt.err)
		case tt.err == "" && (err != nil || d.String() != tt.want):
			t.Errorf("ParseDuration(%q) = %v, %v, want %s", tt.in, d, err, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"1h0m0s": "1h", "1h2m0s": "1h2m", "30m0s": "30m", "1m0.5s": "1m0.5s", "0s": "0s", "10h0m5s": "10h0m5s"} {
		d, err := ParseDuration(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", in, got, want)
		}
	}
}
