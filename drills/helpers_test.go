package drills_test

import (
	"os"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
)

// exampleConfig and examplePlan are the shipped examples, which must stay valid.
func readExample(t testing.TB, name string) []byte {
	t.Helper()
	src, err := os.ReadFile("../examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func exampleConfig(t testing.TB) *drills.Estate {
	t.Helper()
	cfg, diags := drills.ParseEstate(readExample(t, "firedrill.hcl"), "firedrill.hcl")
	if len(diags) > 0 {
		t.Fatalf("ParseConfig(firedrill.hcl) = %v, want no diagnostics", diags)
	}
	return cfg
}

// wantDiag fails unless diags hold exactly one diagnostic containing want ("file:line:col: msg").
func wantDiag(t *testing.T, call string, diags drills.Diagnostics, want string) {
	t.Helper()
	if len(diags) != 1 || !strings.Contains(diags[0].String(), want) {
		t.Errorf("%s = %d diagnostics:\n%v\nwant exactly one containing %q", call, len(diags), diags, want)
	}
}
