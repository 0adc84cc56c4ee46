package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestMain lets the test binary be the export's child process, as the benchmark's binary is.
func TestMain(m *testing.M) {
	if os.Getenv(envChild) != "" {
		childMain()
		return
	}
	os.Exit(m.Run())
}

// TestRunSmoke runs the benchmark on a small history: the export in its child process makes
// a bundle that report.Verify accepts (the seeded audit chain, every RTO and RPO recomputed
// from the measurement events), and COPY reads every row the export covers. It asserts no
// timing.
func TestRunSmoke(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const runs, steps, meas = 61, 6, 2
	rep, err := run(ctx, Options{AdminURL: storetest.AdminDSN(), Runs: runs, StepsPerRun: steps, MeasurementsPerRun: meas, Repeat: 2})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	v := rep.Verification
	if v == nil || !v.OK() || !v.SignatureValid || v.AuditRows != rep.Seed.AuditRows || v.Figures == 0 {
		t.Fatalf("verification = %+v, want a valid signature, %d audit rows, figures and no problem", v, rep.Seed.AuditRows)
	}
	if len(rep.Rounds) != 2 {
		t.Fatalf("%d rounds, want 2", len(rep.Rounds))
	}
	for i, rd := range rep.Rounds {
		want := map[string]int64{
			"runs": runs, "plans": 4, "step_results": runs * steps, "measurements": runs * meas,
			"approvals": rep.Seed.Approvals, "run_events": rep.Seed.Events, "audit_log": rep.Seed.AuditRows,
		}
		for table, n := range want {
			if rd.CopyRows[table] != n {
				t.Errorf("round %d: COPY of %s gave %d rows, want %d", i+1, table, rd.CopyRows[table], n)
			}
		}
		if rd.Export.Drills != runs || rd.MaxRSS <= 0 || rd.Export.VmHWM <= 0 || rd.Export.Bytes <= 0 {
			t.Errorf("round %d: export = %+v, peak RSS %d; want %d drills and sizes", i+1, rd.Export, rd.MaxRSS, runs)
		}
	}
	md := rep.Markdown()
	for _, want := range []string{"| 1 |", "| 2 |", "report.Verify", "events.ndjson"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
}
