package detection_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/firedrill/firedrill/bench/detection"
)

// Environment variables that size the measurement (see bench/run.sh).
const (
	envBench     = "FIREDRILL_BENCH"              // 1 runs TestDetectionLag
	envFailovers = "FIREDRILL_BENCH_FAILOVERS"    // event-stream failovers, default 200
	envPoll      = "FIREDRILL_BENCH_POLL"         // 50ms-poll failovers, default 200
	envBaseline  = "FIREDRILL_BENCH_BASELINE"     // 1s-poll failovers, default 200
	envHang      = "FIREDRILL_BENCH_HANG"         // event-stream failovers with a hanging probe, default 200
	envLanes     = "FIREDRILL_BENCH_LANES"        // failovers at once, default 4
	envSeed      = "FIREDRILL_BENCH_SEED"         // order and jitter seed, default random
	envOut       = "FIREDRILL_BENCH_MARKDOWN_OUT" // file to write the table to, optional
)

func optionsFromEnv(tb testing.TB) detection.Options {
	tb.Helper()
	num := func(name string) int {
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
	opt := detection.Options{Failovers: num(envFailovers), PollFailovers: num(envPoll), BaselineFailovers: num(envBaseline),
		HangFailovers: num(envHang), Lanes: num(envLanes)}
	if v := os.Getenv(envSeed); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			tb.Fatalf("%s=%q: want an unsigned integer", envSeed, v)
		}
		opt.Seed = seed
	}
	last := time.Now()
	opt.Progress = func(done, total int) {
		if time.Since(last) >= 10*time.Second || done == total {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "detection: %d/%d failovers\n", done, total)
		}
	}
	return opt
}

// measure runs the measurement and prints its table to stdout (and to envOut when set).
func measure(tb testing.TB, opt detection.Options) *detection.Report {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	rep, err := detection.Run(ctx, opt)
	if err != nil {
		tb.Fatalf("detection.Run: %v", err)
	}
	md := rep.Markdown()
	fmt.Println()
	fmt.Print(md)
	if path := os.Getenv(envOut); path != "" {
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			tb.Fatalf("write %s: %v", path, err)
		}
	}
	return rep
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkDetectionLag performs the whole measurement once, whatever b.N: one iteration is
// hundreds of failovers. Run it with bench/run.sh.
func BenchmarkDetectionLag(b *testing.B) {
	rep := measure(b, optionsFromEnv(b))
	b.ReportMetric(0, "ns/op")
	st, poll, base, hang := rep.Kinds[detection.KindStream], rep.Kinds[detection.KindPoll], rep.Kinds[detection.KindBaseline], rep.Kinds[detection.KindHang]
	b.ReportMetric(ms(st.Median), "p50-ms")
	b.ReportMetric(ms(st.P99), "p99-ms")
	b.ReportMetric(ms(hang.P99), "hang-p99-ms")
	b.ReportMetric(ms(poll.P99), "poll-p99-ms")
	b.ReportMetric(ms(base.P99), "baseline-p99-ms")
}

// TestDetectionLag is the same measurement as a test, for `go test -run` users; it runs only
// with FIREDRILL_BENCH=1 because it takes about a minute.
func TestDetectionLag(t *testing.T) {
	if os.Getenv(envBench) != "1" {
		t.Skipf("set %s=1 to measure the detection lag (about a minute)", envBench)
	}
	measure(t, optionsFromEnv(t))
}

// TestRunSmoke keeps the harness working in the normal test run: a handful of failovers with
// a short baseline interval. It checks that every failover was measured, never how fast.
func TestRunSmoke(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := detection.Run(ctx, detection.Options{
		Failovers: 4, PollFailovers: 2, BaselineFailovers: 2, HangFailovers: 3, BaselineInterval: 200 * time.Millisecond, Lanes: 2, Seed: 1,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := [...]int{detection.KindStream: 4, detection.KindPoll: 2, detection.KindBaseline: 2, detection.KindHang: 3}
	for k, s := range rep.Kinds {
		if len(s.Lags) != want[k] {
			t.Errorf("%s: measured %d failovers, want %d", s.Kind, len(s.Lags), want[k])
		}
		for _, l := range s.Lags {
			if l < 0 {
				t.Errorf("%s: lag %s is negative: PassedAt before sitesim made the service healthy", s.Kind, l)
			}
		}
	}
	// Today's poll never follows Nomad; the hanging probe really hangs.
	if n := rep.Kinds[detection.KindPoll].Methods["poll"]; n != 2 {
		t.Errorf("poll failovers recorded methods %v, want poll for both", rep.Kinds[detection.KindPoll].Methods)
	}
	// A probe that reached the front just before the health instant is answered healthy by
	// sitesim without hanging, so not every hang failover has one; none at all means the
	// front is broken.
	if h := rep.Kinds[detection.KindHang].Hung; h < 1 || h > 3 {
		t.Errorf("%d of 3 hang failovers had a probe hang, want at least 1", h)
	}
}
