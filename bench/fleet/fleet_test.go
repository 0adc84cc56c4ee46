package fleet_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/firedrill/firedrill/bench/fleet"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// Environment variables that size the measurement.
const (
	envReplicas = "FIREDRILL_BENCH_REPLICAS" // default 3
	envSolo     = "FIREDRILL_BENCH_SOLO"     // drills run one at a time, default 5
	envTogether = "FIREDRILL_BENCH_TOGETHER" // drills run at once, default 50
	envOut      = "FIREDRILL_BENCH_MARKDOWN_OUT"
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

// TestSmall runs a few drills on two replicas so that the harness stays working.
func TestSmall(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := fleet.Run(ctx, fleet.Options{DatabaseURL: storetest.NewDatabase(t), Replicas: 2, Solo: 1, Together: 4})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Alone.Drills != 1 || rep.Together.Drills != 4 || rep.Together.LagP95 <= 0 {
		t.Fatalf("report = %+v", rep)
	}
}

// BenchmarkFleet: 5 drills alone, then 50 at once, on 3 replicas (bench/fleet).
func BenchmarkFleet(b *testing.B) {
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		rep, err := fleet.Run(ctx, fleet.Options{
			DatabaseURL: storetest.NewDatabase(b), Replicas: num(b, envReplicas), Solo: num(b, envSolo), Together: num(b, envTogether),
			Progress: func(msg string) { fmt.Fprintln(os.Stderr, "fleet:", msg) },
		})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		md := rep.Markdown()
		fmt.Print(md)
		if out := os.Getenv(envOut); out != "" {
			if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(rep.OverheadRatio(), "overhead-ratio")
		b.ReportMetric(rep.LagRatio(), "lag-ratio")
	}
}
