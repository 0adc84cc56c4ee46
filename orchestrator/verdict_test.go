package orchestrator_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// writeEstate writes the example estate, edited by the replacements old -> new, to a file.
func writeEstate(t *testing.T, replacements ...string) string {
	t.Helper()
	src, err := os.ReadFile("../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	for i := 0; i+1 < len(replacements); i += 2 {
		if !strings.Contains(s, replacements[i]) {
			t.Fatalf("the example estate no longer contains %q", replacements[i])
		}
		s = strings.Replace(s, replacements[i], replacements[i+1], 1)
	}
	path := filepath.Join(t.TempDir(), "firedrill.hcl")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The simulated services replicate asynchronously (sitesim.DefaultReplicationLag, 300ms):
// an RPO objective below that lag is missed, the drill does not pass, and the run is not
// auth's drill for the due dates; the other services are.
func TestReplicationLagAboveTheObjectiveMissesTheRPO(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)
	estate := writeEstate(t, `rpo         = "1s" # asynchronous`, `rpo         = "50ms" # asynchronous`)
	b := setupFiles(t, st, estate, "../examples/plans/site-loss.hcl", nil, nil)
	ctx := context.Background()
	run, out := b.run(t, ctx)
	if out.State != drills.RunSucceeded || out.Passed() || out.ObjectivesMet {
		t.Fatalf("outcome = %s (%s), passed %v, objectives met %v; want succeeded, not passed", out.State, out.Reason, out.Passed(), out.ObjectivesMet)
	}
	ms, err := st.MeasurementList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		o := m.Objectives(true)
		want := drills.EvidenceMet
		if m.Service == "auth" {
			want = drills.EvidenceMissed
			if m.RPOActual == nil || *m.RPOActual <= 50e6 || m.RPOLostRows == nil || *m.RPOLostRows == 0 ||
				!strings.Contains(m.Reason, "exceeded objective 50ms") {
				t.Errorf("auth RPO %v, lost %v, reason %q; want above 50ms with lost rows, named in the reason", m.RPOActual, m.RPOLostRows, m.Reason)
			}
		}
		if o.RPO != want || o.RTO != drills.EvidenceMet {
			t.Errorf("%s: objectives %+v, want RTO met, RPO %s", m.Service, o, want)
		}
	}
	last, err := st.LastPassedRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := last["auth"]; ok || len(last) != 2 {
		t.Errorf("LastPassedRuns = %v; want payments and remittance only", last)
	}
}
