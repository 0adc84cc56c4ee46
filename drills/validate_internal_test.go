package drills

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
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
			v := &planValidator{cfg: &Estate{}, p: &Plan{}}
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

// No shipped action has required, list or map parameters yet; a made-up spec covers them.
func TestParams(t *testing.T) {
	t.Parallel()
	spec := ActionSpec{Name: "command", Params: map[string]ParamSpec{
		"argv":    {Type: ParamStrings, Required: true, Doc: "The command and its arguments."},
		"env":     {Type: ParamStringMap},
		"retries": {Type: ParamInt},
	}}
	tests := []struct {
		body string
		want string
		ok   func(st *Step) bool
	}{
		{`argv = ["echo", "hi"]
env = { A = "1", B = 2 }
retries = 3`, "", func(st *Step) bool {
			return strings.Join(st.Strings("argv"), " ") == "echo hi" && st.StringMap("env")["B"] == "2" && st.Params["retries"] == int64(3)
		}},
		{`env = {}`, `p.hcl:1:1: step "s": action "command" requires parameter "argv": The command and its arguments.`, nil},
		{`argv = "echo hi"`, `p.hcl:2:8: argv: must be a list of strings`, nil},
		{"argv = [\"x\"]\nenv = [\"A=1\"]", `p.hcl:3:7: env: must be a map of strings`, nil},
		{"argv = [\"x\"]\nenv = { A = null }", `p.hcl:3:7: env: value of "A" must not be null`, nil},
		{"argv = [\"x\"]\nretires = 1", `p.hcl:3:1: action "command" has no parameter "retires"; did you mean "retries"? (its parameters: argv, env, retries)`, nil},
	}
	for _, tt := range tests {
		s := &diagSink{file: "p.hcl"}
		f, hd := hclsyntax.ParseConfig([]byte("step \"s\" {\n"+tt.body+"\n}\n"), "p.hcl", hcl.InitialPos)
		if hd.HasErrors() {
			t.Fatal(hd)
		}
		b := f.Body.(*hclsyntax.Body).Blocks[0].AsHCLBlock()
		attrs, hd := b.Body.JustAttributes()
		if hd.HasErrors() {
			t.Fatal(hd)
		}
		st := &Step{Name: "s", Params: map[string]any{}, ParamPos: map[string]Pos{}}
		s.params(st, b, spec, true, attrs)
		switch {
		case tt.want == "" && (len(s.diags) > 0 || !tt.ok(st)):
			t.Errorf("params(%q) = %v, %v", tt.body, st.Params, s.diags)
		case tt.want != "" && (len(s.diags) != 1 || !strings.Contains(s.diags[0].String(), tt.want)):
			t.Errorf("params(%q) = %v, want %q", tt.body, s.diags, tt.want)
		}
	}
}
