package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	var opt Options
	var endpoints, out string
	fs := flag.NewFlagSet("console", flag.ExitOnError)
	fs.IntVar(&opt.Runs, "runs", DefaultRuns, "runs to seed")
	fs.IntVar(&opt.StepsPerRun, "steps", 0, "step results per run (default 20)")
	fs.IntVar(&opt.MeasurementsPerRun, "measurements", 0, "measurements per run (default 3)")
	fs.Float64Var(&opt.Rate, "rate", DefaultRate, "requests per second, to one endpoint at a time")
	fs.DurationVar(&opt.Duration, "duration", DefaultDuration, "measured time per endpoint")
	fs.IntVar(&opt.Rounds, "rounds", DefaultRounds, "slices the measured time of each endpoint is cut into; endpoints take turns in random order")
	fs.DurationVar(&opt.Warmup, "warmup", DefaultWarmup, "unmeasured load per endpoint before measuring")
	fs.StringVar(&endpoints, "endpoints", strings.Join(Endpoints, ","), "endpoints to measure, comma-separated; healthz is always measured")
	fs.Uint64Var(&opt.Seed, "seed", 0, "seed of the round order and the run IDs (default random)")
	fs.StringVar(&opt.DatabaseURL, "database-url", "", "a PostgreSQL database to use, empty (default: create one through FIREDRILL_TEST_DATABASE_URL or the local PostgreSQL, dropped at the end)")
	fs.BoolVar(&opt.Seeded, "seeded", false, "the -database-url database already holds this benchmark's history (kept with -keep-database): do not seed")
	fs.BoolVar(&opt.KeepDatabase, "keep-database", false, "do not drop the database it created")
	fs.StringVar(&opt.Binary, "binary", "", "firedrill binary to serve with (default: build cmd/firedrill)")
	fs.DurationVar(&opt.Timeout, "timeout", DefaultTimeout, "bound of one request")
	fs.StringVar(&opt.WorkDir, "workdir", "", "directory for the binary, the estate, the key and the server log (default a temporary one, removed)")
	fs.StringVar(&out, "markdown-out", os.Getenv("FIREDRILL_BENCH_MARKDOWN_OUT"), "also write the tables to this file (env FIREDRILL_BENCH_MARKDOWN_OUT)")
	runViews := fs.Int("run-views", 0, "instead of the load: read this many random run views in this process, one at a time (needs -database-url and -seeded), and print their CPU and allocations")
	_ = fs.Parse(os.Args[1:])
	opt.Endpoints = strings.Split(endpoints, ",")
	opt.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	if *runViews > 0 {
		if opt.DatabaseURL == "" || !opt.Seeded {
			fmt.Fprintln(os.Stderr, "console bench: -run-views reads a seeded history: give -database-url and -seeded")
			os.Exit(2)
		}
		rep, err := measureRunViews(ctx, opt.DatabaseURL, opt.Runs, *runViews, opt.Seed)
		if err != nil {
			fmt.Fprintln(os.Stderr, "console bench:", err)
			os.Exit(1)
		}
		fmt.Print(rep)
		return
	}
	rep, err := run(ctx, opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "console bench:", err)
		os.Exit(1)
	}
	md := rep.Markdown()
	fmt.Print(md)
	if out != "" {
		if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "console bench:", err)
			os.Exit(1)
		}
	}
}
