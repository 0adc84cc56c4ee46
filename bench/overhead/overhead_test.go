package overhead_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/firedrill/firedrill/bench/overhead"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// Environment variables that size the measurement (see README.md). The database comes from
// storetest: a fresh one under FIREDRILL_TEST_DATABASE_URL (default the local PostgreSQL).
const (
	envSteps = "FIREDRILL_BENCH_STEPS"        // steps of the plan, default 1000
	envReps  = "FIREDRILL_BENCH_REPETITIONS"  // repetitions of each kind, default 5
	envOut   = "FIREDRILL_BENCH_MARKDOWN_OUT" // file to write the table to, optional
)

func num(tb testing.TB, name string) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		tb.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// BenchmarkOrchestrationOverhead performs the whole measurement once, whatever b.N: one
// iteration is thousands of committed transactions. Run it with bench/overhead/run.sh.
func BenchmarkOrchestrationOverhead(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	last := time.Now()
	rep, err := overhead.Run(ctx, overhead.Options{
		DatabaseURL: storetest.NewDatabase(b),
		Steps:       num(b, envSteps),
		Repetitions: num(b, envReps),
		Progress: func(done, total int) {
			if time.Since(last) >= 10*time.Second || done == total {
				last = time.Now()
				fmt.Fprintf(os.Stderr, "overhead: %d/%d repetitions\n", done, total)
			}
		},
	})
	if err != nil {
		b.Fatalf("overhead.Run: %v", err)
	}
	md := rep.Markdown()
	fmt.Println()
	fmt.Print(md)
	if path := os.Getenv(envOut); path != "" {
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			b.Fatalf("write %s: %v", path, err)
		}
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(us(rep.RunnerPerStep()), "runner-us/step")
	b.ReportMetric(us(rep.BarePerStep()), "bare-us/step")
	b.ReportMetric(rep.Ratio(), "ratio")
}

// TestRunSmoke keeps the harness working in the normal test run: a 20-step plan, twice, and
// its baseline. It checks that every repetition was measured, never how fast.
func TestRunSmoke(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := overhead.Run(ctx, overhead.Options{DatabaseURL: storetest.NewDatabase(t), Steps: 20, Repetitions: 2})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rep.Runner.Samples) != 2 || len(rep.Bare.Samples) != 2 {
		t.Errorf("Run measured %d runner and %d bare repetitions, want 2 and 2", len(rep.Runner.Samples), len(rep.Bare.Samples))
	}
	if rep.Runner.Median <= 0 || rep.Bare.Median <= 0 {
		t.Errorf("Run medians = %s runner, %s bare; want both positive", rep.Runner.Median, rep.Bare.Median)
	}
}

func TestPlanParses(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 3, 1000} {
		d, err := overhead.Drill(n)
		if err != nil {
			t.Fatalf("Drill(%d): %v", n, err)
		}
		if got := len(d.Plan.Steps); got != n {
			t.Errorf("Drill(%d) has %d steps, want %d", n, got, n)
		}
	}
}
