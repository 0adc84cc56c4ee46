package serverconfig_test

import (
	"os"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/internal/serverconfig"
)

// Whatever the input, Parse does not panic, positions name the caller's file and a real
// line, and a literal password never comes back in a message.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../../examples/firedrill-server.hcl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example, false)
	f.Add([]byte("database {\n  url = \"postgres://u:pw@h/d\"\n}\n"), false)
	f.Add([]byte(`{"listen": ":8080", "database": {"url_env": "PG"}, "notify": {"a": {"kind": "slack", "url_env": "S"}}}`), true)
	f.Add([]byte("oidc {\n  role_map = { a = [\"b\"] }\n}\n"), false)
	f.Fuzz(func(t *testing.T, src []byte, json bool) {
		name := "fuzz.hcl"
		if json {
			name = "fuzz.json"
		}
		cfg, diags := serverconfig.Parse(src, name)
		for _, d := range diags {
			if d.Pos.File != name || d.Pos.Line < 0 || (d.Pos.Line > 0 && d.Pos.Column < 1) || d.Msg == "" {
				t.Fatalf("diagnostic %q at %+v", d.Msg, d.Pos)
			}
		}
		if cfg == nil {
			t.Fatal("Parse returned no Config")
		}
		if diags.HasErrors() {
			return
		}
		for _, v := range cfg.Values {
			if _, ok := serverconfig.Lookup(v.Key); !ok {
				t.Fatalf("value of unknown setting %q", v.Key)
			}
			if v.Secret && len(v.Args) == 1 && strings.Contains(v.Args[0], ":pw@") {
				t.Fatalf("%s accepted a literal password", v.Key)
			}
		}
	})
}
