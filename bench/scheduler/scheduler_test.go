package scheduler_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/bench/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// Environment variables that size the measurement.
const (
	envSchedules = "FIREDRILL_BENCH_SCHEDULES" // default 10000
	envDays      = "FIREDRILL_BENCH_DAYS"      // default 365
	envOut       = "FIREDRILL_BENCH_MARKDOWN_OUT"
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

// TestSmall runs a small simulation so that the harness stays working.
func TestSmall(t *testing.T) {
	t.Parallel()
	rep, err := scheduler.Run(context.Background(), scheduler.Options{Dir: t.TempDir(), Schedules: 50, Days: 62})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fires < 50 || rep.Passes == 0 {
		t.Fatalf("report = %+v: want about two fires per schedule", rep)
	}
}

// BenchmarkSchedulerScale: 10,000 monthly schedules over a simulated year (bench/scheduler).
func BenchmarkSchedulerScale(b *testing.B) {
	for range b.N {
		last := time.Now()
		rep, err := scheduler.Run(context.Background(), scheduler.Options{
			Dir: b.TempDir(), Schedules: num(b, envSchedules), Days: num(b, envDays),
			Progress: func(done, total int) {
				if time.Since(last) > 10*time.Second || done == total {
					last = time.Now()
					fmt.Fprintf(os.Stderr, "scheduler: %d/%d passes\n", done, total)
				}
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		fmt.Print(rep.Markdown())
		if out := os.Getenv(envOut); out != "" {
			if err := os.WriteFile(out, []byte(rep.Markdown()), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(rep.FiresPerSecond, "fires/s")
		b.ReportMetric(float64(rep.SkewP99.Microseconds())/1000, "skew-p99-ms")
	}
}

// envCoDue lists the schedule counts BenchmarkSchedulerCoDue measures, comma-separated.
const envCoDue = "FIREDRILL_BENCH_CODUE" // default "1000,10000"

// envLayouts lists the layouts BenchmarkSchedulerCoDue measures: clustered, uniform or both.
const envLayouts = "FIREDRILL_BENCH_LAYOUTS" // default "clustered,uniform"

// BenchmarkSchedulerCoDue: on PostgreSQL, N schedules firing at one instant (clustered) and N
// spread over a month (uniform), one month simulated, for each N of FIREDRILL_BENCH_CODUE.
func BenchmarkSchedulerCoDue(b *testing.B) {
	sizes := []int{1000, 10000}
	if v := os.Getenv(envCoDue); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("%s=%q: want positive integers separated by commas", envCoDue, v)
			}
			sizes = append(sizes, n)
		}
	}
	layouts := []bool{true, false}
	switch v := os.Getenv(envLayouts); v {
	case "", "clustered,uniform":
	case "clustered":
		layouts = []bool{true}
	case "uniform":
		layouts = []bool{false}
	default:
		b.Fatalf("%s=%q: want clustered, uniform or clustered,uniform", envLayouts, v)
	}
	for range b.N {
		md := scheduler.MarkdownHeader
		for _, n := range sizes {
			for _, clustered := range layouts {
				rep, err := scheduler.Run(context.Background(), scheduler.Options{
					DatabaseURL: storetest.NewDatabase(b), Schedules: n, Days: 31, Clustered: clustered,
				})
				if err != nil {
					b.Fatal(err)
				}
				fmt.Fprint(os.Stderr, rep.MarkdownRow())
				md += rep.MarkdownRow()
			}
		}
		fmt.Print(md)
		if out := os.Getenv(envOut); out != "" {
			if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}
