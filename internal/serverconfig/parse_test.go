package serverconfig_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/internal/serverconfig"
)

// Every problem is reported at the place to edit, naming the field.
func TestParseBrokenFiles(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		// want is "line:col: message fragment" of the first problem.
		want string
	}{
		{"syntax", "listen = \n", "1:10: Invalid expression"},
		{"unknown setting", "listn = \"127.0.0.1:8080\"\n", `1:1: Unsupported argument: An argument named "listn" is not expected here; did you mean "listen"?`},
		{"unknown block", "databse {\n}\n", `1:1: Unsupported block type`},
		{"listen not host:port", "listen = \"8080\"\n", `1:10: listen: "8080" is not host:port`},
		{"a password in the database URL", "database {\n  url = \"postgres://fd:hunter2@db/fd\"\n}\n", "2:9: database.url: a URL with a password is a secret"},
		{"a password in a DSN", "database {\n  migration_url = \"host=db user=fd password=hunter2\"\n}\n", "2:19: database.migration_url: a URL with a password is a secret"},
		{"a URL and its reference", "database {\n  url = \"sqlite:fd.db\"\n  url_env = \"PG_URL\"\n}\n", "3:3: database.url: give one of url, url_env or url_file, not both url and url_env"},
		{"not a variable name", "database {\n  url_env = \"PG URL\"\n}\n", `2:13: database.url_env: "PG URL" is not an environment variable name`},
		{"the client secret written", "oidc {\n  client_secret = \"s3cret\"\n}\n", "2:3: oidc.client_secret: a secret is never written in this file"},
		{"both client secret references", "oidc {\n  client_secret_env = \"A\"\n  client_secret_file = \"b\"\n}\n", "1:1: oidc: give client_secret_env or client_secret_file, not both"},
		{"a certificate without its key", "tls {\n  cert_file = \"c.pem\"\n}\n", "1:1: tls: give both cert_file and key_file, or neither"},
		{"a bad duration", "worker {\n  poll = \"soon\"\n}\n", `2:10: worker.poll: "soon" is not a duration`},
		{"a negative duration", "scheduler {\n  tick = \"-1s\"\n}\n", "2:10: scheduler.tick: must be greater than zero"},
		{"concurrency zero", "worker {\n  concurrency = 0\n}\n", "2:17: worker.concurrency: must be a whole number"},
		{"concurrency a string", "worker {\n  concurrency = \"four\"\n}\n", "2:17: worker.concurrency: must be a number"},
		{"not a bool", "console {\n  secure_cookies = \"yes\"\n}\n", "2:20: console.secure_cookies: must be true or false"},
		{"not a time zone", "report_time_zone = \"Seoul\"\n", `1:20: report_time_zone: "Seoul" is not an IANA time zone`},
		{"issuer not a URL", "oidc {\n  issuer = \"sso.bank\"\n}\n", `2:12: oidc.issuer: "sso.bank" is not an absolute http(s) URL`},
		{"role map a list", "oidc {\n  role_map = [\"a=b\"]\n}\n", "2:14: oidc.role_map: must be an object"},
		{"role map without roles", "oidc {\n  role_map = { ops = [] }\n}\n", `2:14: oidc.role_map: "ops" must be a claim value without '=' mapped to at least one role`},
		{"an unknown role", "oidc {\n  role_map = { ops = [\"root\"] }\n}\n", `2:14: oidc.role_map: "root" is not a role (`},
		{"scopes a string", "oidc {\n  scopes = \"email\"\n}\n", "2:12: oidc.scopes: must be a list of strings"},
		{"log level unknown", "log {\n  level = \"loud\"\n}\n", `2:11: log.level: "loud" is not one of debug, info, warn, error`},
		{"a reference", "listen = local.addr\n", `1:10: listen: references such as "local" are not allowed`},
		{"a block twice", "log {\n}\nlog {\n}\n", "3:1: log: the block is already written at line 1"},
		{"an empty path", "signing_key_file = \"\"\n", "1:20: signing_key_file: must not be empty"},
		{"a webhook without its key", "notify \"ops\" {\n  kind = \"webhook\"\n  url = \"https://hooks.bank.example/x\"\n}\n", `1:1: notify "ops": a webhook needs exactly one of key_env or key_file`},
		{"a notify twice", "notify \"a\" {\n  kind = \"slack\"\n  url_env = \"S\"\n}\nnotify \"a\" {\n  kind = \"slack\"\n  url_env = \"S\"\n}\n", `5:8: notify "a" is already declared at line 1`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := serverconfig.Parse([]byte(tt.src), "server.hcl")
			if !diags.HasErrors() {
				t.Fatalf("no error for\n%s", tt.src)
			}
			got := strings.TrimPrefix(diags[0].String(), "server.hcl:")
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("first problem = %q, want it to start with %q (all: %v)", got, tt.want, diags)
			}
			if strings.Contains(diags.Error(), "hunter2") || strings.Contains(diags.Error(), "s3cret") {
				t.Errorf("a problem repeats the secret: %v", diags)
			}
		})
	}
}

// Every problem in a file is reported, in order, not just the first.
func TestParseReportsEveryProblem(t *testing.T) {
	_, diags := serverconfig.Parse([]byte("listen = \"x\"\nworker {\n  poll = \"soon\"\n  concurrency = -1\n}\n"), "s.hcl")
	var got []string
	for _, d := range diags {
		got = append(got, d.Pos.String())
	}
	if want := []string{"s.hcl:1:10", "s.hcl:3:10", "s.hcl:4:17"}; !slices.Equal(got, want) {
		t.Errorf("positions = %v, want %v (%v)", got, want, diags)
	}
}

func TestParseValues(t *testing.T) {
	src := `listen = ":8443"
estate = "estate/firedrill.hcl"
database {
  url_file = "/run/secrets/db"
  migration_url = "postgres://owner@db/fd?sslmode=verify-full"
}
oidc {
  role_map = { "it-audit" = ["auditor"], "dr" = ["sre", "compliance"] }
  scopes = ["email"]
}
`
	cfg, diags := serverconfig.Parse([]byte(src), "/etc/firedrill/server.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for key, want := range map[string][]string{
		"listen":                 {":8443"},
		"estate":                 {"/etc/firedrill/estate/firedrill.hcl"},
		"database.migration_url": {"postgres://owner@db/fd?sslmode=verify-full"},
		"oidc.role_map":          {"dr=sre,compliance", "it-audit=auditor"},
		"oidc.scopes":            {"email"},
	} {
		v, ok := cfg.Value(key)
		if !ok || !slices.Equal(v.Args, want) {
			t.Errorf("%s = %q (written: %v), want %q", key, v.Args, ok, want)
		}
	}
	if v, _ := cfg.Value("database.url"); v.RefFile != "/run/secrets/db" || len(v.Args) != 0 {
		t.Errorf("database.url = %+v, want only the file reference", v)
	}
	if v, _ := cfg.Value("listen"); v.Pos.String() != "/etc/firedrill/server.hcl:1:1" {
		t.Errorf("listen at %s", v.Pos)
	}
}

// The shipped example is a valid configuration.
func TestExampleParses(t *testing.T) {
	src, err := os.ReadFile("../../examples/firedrill-server.hcl")
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := serverconfig.Parse(src, "firedrill-server.hcl")
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	if len(cfg.Notify) != 1 || len(cfg.Values) < 20 {
		t.Errorf("example: %d settings, %d notify targets", len(cfg.Values), len(cfg.Notify))
	}
}

func TestEnvVars(t *testing.T) {
	vars := serverconfig.EnvVars()
	for _, want := range []string{"FIREDRILL_SERVER_CONFIG", "FIREDRILL_DATABASE_URL", "FIREDRILL_MIGRATE_DATABASE_URL", "FIREDRILL_LISTEN", "FIREDRILL_TLS_CERT_FILE", "FIREDRILL_OIDC_CLIENT_SECRET"} {
		if !slices.Contains(vars, want) {
			t.Errorf("EnvVars() lacks %s", want)
		}
	}
	for _, v := range vars {
		if !strings.HasPrefix(v, "FIREDRILL_") || strings.ToUpper(v) != v {
			t.Errorf("%s is not FIREDRILL_ upper snake case", v)
		}
	}
	if slices.Contains(vars, "FIREDRILL_CONFIG") == false {
		t.Error("the estate's FIREDRILL_CONFIG is a setting (estate) too")
	}
}

func TestPasswordsAreRefusedInEveryForm(t *testing.T) {
	for _, url := range []string{
		"postgres://fd:pw@db/fd",
		"postgres://fd:@db/fd",
		"postgres://fd@db/fd?sslmode=require&password=pw",
		"host=db user=fd password=pw",
		"host=db user=fd PASSWORD = pw",
	} {
		_, diags := serverconfig.Parse([]byte("database {\n  url = \""+url+"\"\n}\n"), "s.hcl")
		if !diags.HasErrors() || !strings.Contains(diags.Error(), "s.hcl:2:9: database.url: a URL with a password") {
			t.Errorf("url %q: %v, want it refused at 2:9", url, diags)
		}
	}
	for _, url := range []string{"postgres://fd@db/fd?sslmode=verify-full", "sqlite:/var/lib/firedrill/fd.db", "host=db user=fd passfile=/etc/pgpass"} {
		if _, diags := serverconfig.Parse([]byte("database {\n  url = \""+url+"\"\n}\n"), "s.hcl"); len(diags) > 0 {
			t.Errorf("url %q refused: %v", url, diags)
		}
	}
}
