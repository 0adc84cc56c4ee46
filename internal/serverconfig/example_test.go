package serverconfig_test

import (
	"fmt"

	"github.com/firedrill/firedrill/internal/serverconfig"
)

func ExampleParse() {
	cfg, diags := serverconfig.Parse([]byte(`listen = "0.0.0.0:8443"
database {
  url_env = "PG_RUNTIME_URL"
}
`), "firedrill-server.hcl")
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	for _, v := range cfg.Values {
		fmt.Printf("%s at %s: --%s %q, reference %q; overridden by %s\n", v.Key, v.Pos, v.Flag, v.Args, v.RefEnv, v.Env)
	}
	_, diags = serverconfig.Parse([]byte("worker {\n  poll = \"soon\"\n}\n"), "broken.hcl")
	fmt.Println(diags)
	// Output:
	// listen at firedrill-server.hcl:1:1: --listen ["0.0.0.0:8443"], reference ""; overridden by FIREDRILL_LISTEN
	// database.url at firedrill-server.hcl:3:3: --database-url [], reference "PG_RUNTIME_URL"; overridden by FIREDRILL_DATABASE_URL
	// broken.hcl:2:10: worker.poll: "soon" is not a duration such as "30s" or "12h"
}
