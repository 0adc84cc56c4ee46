package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

func main() {
	if os.Getenv(envChild) != "" {
		childMain()
		return
	}
	var opt Options
	var out string
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	fs.IntVar(&opt.Runs, "runs", DefaultRuns, "runs to seed")
	fs.IntVar(&opt.StepsPerRun, "steps", 0, "step results per run (default 20)")
	fs.IntVar(&opt.MeasurementsPerRun, "measurements", 0, "measurements per run (default 3)")
	fs.IntVar(&opt.Repeat, "n", DefaultRepeat, "times the COPY and the export are each measured, taking turns")
	fs.BoolVar(&opt.NoVerify, "no-verify", false, "do not verify the first bundle")
	fs.StringVar(&opt.DatabaseURL, "database-url", "", "a PostgreSQL database to use, empty (default: create one through FIREDRILL_TEST_DATABASE_URL or the local PostgreSQL, dropped at the end)")
	fs.BoolVar(&opt.Seeded, "seeded", false, "the -database-url database already holds this benchmark's history (kept with -keep-database): do not seed")
	fs.BoolVar(&opt.KeepDatabase, "keep-database", false, "do not drop the database it created")
	fs.StringVar(&opt.WorkDir, "workdir", "", "directory for the bundles (default a temporary one, removed)")
	fs.StringVar(&out, "markdown-out", os.Getenv("FIREDRILL_BENCH_MARKDOWN_OUT"), "also write the tables to this file (env FIREDRILL_BENCH_MARKDOWN_OUT)")
	_ = fs.Parse(os.Args[1:])
	opt.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Hour)
	defer cancel()
	rep, err := run(ctx, opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report bench:", err)
		os.Exit(1)
	}
	md := rep.Markdown()
	fmt.Print(md)
	if out != "" {
		if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "report bench:", err)
			os.Exit(1)
		}
	}
}
