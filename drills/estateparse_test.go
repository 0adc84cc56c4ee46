package drills_test

import (
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
)

// primary is a valid site, so that each case below holds only what it tests. It is 7 lines.
const primary = `site "a" {
  role = "primary"
  nomad {
    address = "http://a:4646"
    region  = "r"
  }
}
`

// svc returns a valid service block with extra lines inside, starting on the block's line 2.
func svc(name string, extra ...string) string {
	return "service \"" + name + "\" {\n  criticality = \"core\"\n  rto = \"30m\"\n  rpo = \"0s\"\n" +
		strings.Join(extra, "\n") + "\n}\n"
}

func TestParseEstateDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"unknown attribute", primary + svc("x", `  colour = "red"`),
			`c.hcl:12:3: unsupported argument: an argument named "colour" is not expected here`},
		{"unknown block", primary + "zone \"x\" {}\n", `c.hcl:8:1: unsupported block type`},
		{"syntax error", primary + svc("x", `  owner = `), `c.hcl:12:11: invalid expression`},
		{"duplicate site", primary + primary, `c.hcl:8:6: site "a" is already declared at line 1`},
		{"duplicate service", primary + svc("x") + svc("x"), `c.hcl:14:9: service "x" is already declared at line 8`},
		{"bad name", primary + svc("a b"), `c.hcl:8:9: service name "a b" must start with a letter or digit`},
		{"bad role", strings.Replace(primary, `"primary"`, `"main"`, 1),
			`c.hcl:2:10: role: "main" is not one of "primary", "dr", "backup"`},
		{"missing role", strings.Replace(primary, `role = "primary"`, ``, 1), `c.hcl:1:1: site "a": role is required`},
		{"no primary", strings.Replace(primary, `"primary"`, `"dr"`, 1),
			`c.hcl:1:1: no site has role = "primary"`},
		{"no site", svc("x"), `c.hcl:1:1: the configuration declares no site`},
		{"negative pilot light", primary + svc("x", `  pilot_light = -1`),
			`c.hcl:12:17: pilot_light: -1 is out of range: write a number from 0 to 10000`},
		{"fractional pilot light", primary + svc("x", `  pilot_light = 1.5`),
			`c.hcl:12:17: pilot_light: must be a whole number, got 1.5`},
		{"missing nomad", "site \"a\" {\n  role = \"primary\"\n}\n", `c.hcl:1:1: site "a": a nomad block is required`},
		{"two nomad blocks", strings.Replace(primary, "}\n}", "}\n  nomad {\n    address = \"http://b\"\n    region = \"r\"\n  }\n}", 1),
			`c.hcl:7:3: site "a": only one nomad block is allowed`},
		{"missing address", strings.Replace(primary, `address = "http://a:4646"`, ``, 1), `c.hcl:3:3: nomad: address is required`},
		{"relative address", strings.Replace(primary, `"http://a:4646"`, `"a:4646"`, 1),
			`c.hcl:4:15: address: "a:4646" is not an absolute http or https URL`},
		{"ftp address", strings.Replace(primary, `"http://a:4646"`, `"ftp://a"`, 1),
			`c.hcl:4:15: address: "ftp://a" is not an absolute http or https URL`},
		{"missing region", strings.Replace(primary, `region  = "r"`, ``, 1), `c.hcl:3:3: nomad: region is required`},
		{"token env and file", strings.Replace(primary, `region  = "r"`, "region = \"r\"\n    token_env = \"T\"\n    token_file = \"/t\"", 1),
			`c.hcl:7:5: nomad: token_env and token_file are exclusive`},
		{"bad ingress", strings.Replace(primary, `role = "primary"`, `role = "primary" 
  ingress = "lb.example"`, 1), `c.hcl:3:13: ingress: "lb.example" is not an absolute http or https URL`},
		{"duplicate database", strings.Replace(primary, "}\n}", "}\n  postgres \"l\" { dsn_env = \"A\" }\n  postgres \"l\" { dsn_env = \"B\" }\n}", 1),
			`c.hcl:8:12: site "a": postgres "l" is already declared at line 7`},
		{"database without dsn", strings.Replace(primary, "}\n}", "}\n  postgres \"l\" {}\n}", 1),
			`c.hcl:7:3: postgres "l": dsn_env or dsn_file is required`},
		{"database with both dsns", strings.Replace(primary, "}\n}", "}\n  postgres \"l\" {\n    dsn_env = \"A\"\n    dsn_file = \"/a\"\n  }\n}", 1),
			`c.hcl:9:5: postgres "l": dsn_env and dsn_file are exclusive`},
		{"missing rto", primary + "service \"x\" {\n  criticality = \"core\"\n  rpo = \"0s\"\n}\n",
			`c.hcl:8:1: service "x": rto is required`},
		{"missing criticality", primary + "service \"x\" {\n  rto = \"1h\"\n  rpo = \"0s\"\n}\n",
			`c.hcl:8:1: service "x": criticality is required`},
		{"bad criticality", primary + "service \"x\" {\n  criticality = \"high\"\n  rto = \"1h\"\n  rpo = \"0s\"\n}\n",
			`c.hcl:9:17: criticality: "high" is not one of "core", "important", "supporting"`},
		{"rto not a duration", primary + "service \"x\" {\n  criticality = \"core\"\n  rto = \"soon\"\n  rpo = \"0s\"\n}\n",
			`c.hcl:10:9: rto: "soon" is not a duration (use e.g. "30m", "1h30m")`},
		{"rto without unit", primary + "service \"x\" {\n  criticality = \"core\"\n  rto = 30\n  rpo = \"0s\"\n}\n",
			`c.hcl:10:9: rto: "30" is not a duration`},
		{"negative rpo", primary + "service \"x\" {\n  criticality = \"core\"\n  rto = \"1h\"\n  rpo = \"-5s\"\n}\n",
			`c.hcl:11:9: rpo: "-5s" is negative`},
		{"variable reference", primary + "service \"x\" {\n  criticality = \"core\"\n  rto = var.rto\n  rpo = \"0s\"\n}\n",
			`c.hcl:10:9: rto: references such as "var" are not allowed: write a literal value`},
		{"interpolation", primary + "service \"x\" {\n  criticality = \"core\"\n  rto = \"${local.h}h\"\n  rpo = \"0s\"\n}\n",
			`c.hcl:10:12: rto: references such as "local" are not allowed`},
		{"function call", primary + "service \"x\" {\n  criticality = \"core\"\n  rto = upper(\"1h\")\n  rpo = \"0s\"\n}\n",
			`c.hcl:10:9: function calls not allowed`},
		{"unknown dependency", primary + svc("x", `  depends_on = ["auht"]`) + svc("auth"),
			`c.hcl:12:16: depends_on: unknown service "auht"; did you mean "auth"?`},
		{"self dependency", primary + svc("x", `  depends_on = ["x"]`),
			`c.hcl:12:16: depends_on: service "x" cannot depend on itself`},
		{"duplicate dependency", primary + svc("x", `  depends_on = ["y", "y"]`) + svc("y"),
			`c.hcl:12:16: depends_on: "y" is listed twice`},
		{"depends_on not a list", primary + svc("x", `  depends_on = "y"`) + svc("y"),
			`c.hcl:12:16: depends_on: must be a list of strings`},
		{"cycle", primary + svc("auth", `  depends_on = ["payments"]`) + svc("payments", `  depends_on = ["auth"]`),
			`c.hcl:12:16: dependency cycle: auth -> payments -> auth`},
		{"long cycle found from the middle", primary + svc("z", `  depends_on = ["b"]`) + svc("a", `  depends_on = ["c"]`) +
			svc("b", `  depends_on = ["a"]`) + svc("c", `  depends_on = ["b"]`),
			`c.hcl:18:16: dependency cycle: a -> c -> b -> a`},
		{"check kind", primary + svc("x", `  check "tcp" { url = "http://x" }`), `c.hcl:12:9: check kind "tcp" is not supported`},
		{"check without url", primary + svc("x", `  check "http" {}`), `c.hcl:12:3: check: url is required`},
		{"unknown placeholder", primary + svc("x", `  check "http" { url = "https://{service}.example/healthz" }`),
			`c.hcl:12:24: url: unknown placeholder {service}: only {site} and {ingress} are replaced`},
		{"unbalanced brace", primary + svc("x", `  check "http" { url = "{ingress/healthz" }`),
			`c.hcl:12:24: url: unbalanced brace`},
		{"relative check url", primary + svc("x", `  check "http" { url = "/healthz" }`),
			`c.hcl:12:24: url: "/healthz" is not an absolute http or https URL`},
		{"expect_status", primary + svc("x", `  check "http" {`, `    url = "{ingress}/h"`, `    expect_status = 600`, `  }`),
			`c.hcl:14:21: expect_status: 600 is not an HTTP status (100 to 599)`},
		{"expect_status fraction", primary + svc("x", `  check "http" {`, `    url = "{ingress}/h"`, `    expect_status = 200.5`, `  }`),
			`c.hcl:14:21: expect_status: must be a whole number, got 200.5`},
		{"check interval zero", primary + svc("x", `  check "http" {`, `    url = "{ingress}/h"`, `    interval = "0s"`, `  }`),
			`c.hcl:14:16: interval: must be greater than zero`},
		{"canary without table", primary + svc("x", `  canary { database = "ledger" }`), `c.hcl:12:3: canary: table is required`},
		{"canary without database", primary + svc("x", `  canary { table = "t" }`), `c.hcl:12:3: canary: database is required`},
		{"canary table not an identifier", primary + svc("x", `  canary {`, `    database = "ledger"`, `    table = "t; drop table x"`, `  }`),
			`c.hcl:14:13: table: "t; drop table x" is not a plain SQL identifier`},
		{"http canary with a table", primary + svc("x", `  canary {`, `    url = "{ingress}/x/canary"`, `    table = "t"`, `  }`),
			`c.hcl:14:5: canary: table is for a PostgreSQL canary; an HTTP canary (url) has none`},
		{"http canary relative url", primary + svc("x", `  canary { url = "/x/canary" }`),
			`c.hcl:12:18: url: "/x/canary" must start with {ingress}, http:// or https://`},
		{"canary min_rows zero", primary + svc("x", `  canary {`, `    url = "{ingress}/x/canary"`, `    min_rows = 0`, `  }`),
			`c.hcl:14:16: min_rows: must be at least 1, got 0`},
		{"two canaries", primary + svc("x", `  canary {`, `    database = "l"`, `    table = "t"`, `  }`, `  canary {`, `    database = "l"`, `    table = "t"`, `  }`),
			`c.hcl:16:3: service "x": only one canary block is allowed`},
		{"null", primary + svc("x", `  owner = null`), `c.hcl:12:11: owner: must not be null`},
		{"list in a string", primary + svc("x", `  owner = ["a"]`), `c.hcl:12:11: owner: must be a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, diags := drills.ParseEstate([]byte(tt.src), "c.hcl")
			wantDiag(t, "ParseEstate", diags, tt.want)
		})
	}
}

func TestParseEstateDefaults(t *testing.T) {
	t.Parallel()
	src := primary + svc("x",
		`  check "http" { url = "https://{site}.example/h" }`,
		`  canary {`, `    database = "ledger"`, `    table = "firedrill_canary"`, `  }`)
	src = strings.Replace(src, `rto = "30m"`, `rto = "1d12h"`, 1)
	cfg, diags := drills.ParseEstate([]byte(src), "c.hcl")
	if len(diags) > 0 {
		t.Fatalf("ParseEstate = %v", diags)
	}
	x := cfg.Service("x")
	if x.RTO.String() != "36h0m0s" || x.NomadJob != "x" || x.PilotLight != 0 {
		t.Errorf("service = %+v, want rto 36h, nomad_job x and pilot_light 0", x)
	}
	lit, diags := drills.ParseEstate([]byte(primary+svc("x", `  pilot_light = 2`)), "c.hcl")
	if len(diags) > 0 || lit.Service("x").PilotLight != 2 {
		t.Errorf("ParseEstate(pilot_light = 2) = %v, %v; want pilot light 2", lit.Service("x"), diags)
	}
	if c := x.Checks[0]; c.ExpectStatus != drills.DefaultExpectStatus || c.Interval != drills.DefaultCheckInterval || c.Kind != drills.CheckHTTP {
		t.Errorf("check = %+v, want defaults", c)
	}
	if c := x.Canary; c.Interval != drills.DefaultCanaryInterval || c.Table != "firedrill_canary" ||
		c.MinRows != drills.DefaultCanaryMinRows || c.MinDuration != drills.DefaultCanaryMinDuration {
		t.Errorf("canary = %+v, want defaults", c)
	}
	if got, want := x.Pos, (drills.Pos{File: "c.hcl", Line: 8, Column: 1}); got != want {
		t.Errorf("service pos = %v, want %v", got, want)
	}
}

// Every problem is reported, not only the first.
func TestParseEstateCollectsAllProblems(t *testing.T) {
	t.Parallel()
	src := primary + "service \"x\" {\n  criticality = \"high\"\n  rto = \"soon\"\n  rpo = \"-1s\"\n  depends_on = [\"nope\"]\n}\n"
	_, diags := drills.ParseEstate([]byte(src), "c.hcl")
	want := []string{
		`c.hcl:9:17: criticality`,
		`c.hcl:10:9: rto`,
		`c.hcl:11:9: rpo`,
		`c.hcl:12:16: depends_on`,
	}
	if len(diags) != len(want) {
		t.Fatalf("ParseEstate = %v, want %d diagnostics", diags, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(diags[i].String(), w) {
			t.Errorf("diagnostic %d = %q, want prefix %q", i, diags[i], w)
		}
	}
	if err := diags.Err(); err == nil || !strings.Contains(err.Error(), "\nc.hcl:10:9: rto") {
		t.Errorf("Err() = %v, want the diagnostics one per line", err)
	}
}

func TestParseEstateJSON(t *testing.T) {
	t.Parallel()
	src := `{
  "site": {"a": {"role": "primary", "nomad": {"address": "http://a:4646", "region": "r"}}},
  "service": {"x": {"criticality": "core", "rto": "1h", "rpo": "soon"}}
}`
	cfg, diags := drills.ParseEstate([]byte(src), "c.json")
	wantDiag(t, "ParseEstate(json)", diags, `c.json:3:64: rpo: "soon" is not a duration`)
	if cfg == nil || cfg.Service("x") == nil || cfg.Service("x").RTO.String() != "1h0m0s" {
		t.Errorf("ParseEstate(json) = %+v", cfg)
	}
}

func TestCheckHeadersAndTLS(t *testing.T) {
	t.Parallel()
	src := `
site "a" {
  role = "primary"
  nomad {
    address = "http://127.0.0.1:1"
    region  = "r"
  }
}
service "s" {
  criticality = "core"
  rto         = "1m"
  rpo         = "0s"
  check "http" {
    url              = "https://s.{site}.example/healthz"
    headers          = { "X-Drill" = "yes" }
    headers_from_env = { "Authorization" = "S_TOKEN" }
    ca_cert          = "/etc/bank/ca.pem"
    tls_server_name  = "s.internal"
  }
}
`
	cfg, diags := drills.ParseEstate([]byte(src), "c.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c := cfg.Service("s").Checks[0]
	if c.Headers["X-Drill"] != "yes" || c.HeadersFromEnv["Authorization"] != "S_TOKEN" || c.CACert != "/etc/bank/ca.pem" || c.TLSServerName != "s.internal" {
		t.Errorf("check = %+v", c)
	}
	dup := strings.Replace(src, `"X-Drill" = "yes"`, `"Authorization" = "Bearer x"`, 1)
	_, diags = drills.ParseEstate([]byte(dup), "c.hcl")
	wantDiag(t, "ParseEstate", diags, `c.hcl:16:24: headers_from_env: header "Authorization" is also in headers`)
}
