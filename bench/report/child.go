package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/firedrill/firedrill/drills"
	oreport "github.com/firedrill/firedrill/orchestrator/report"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
	"github.com/firedrill/firedrill/report"
	"github.com/firedrill/firedrill/report/pdf"
)

// The child process is this program with envChild set; it exports one bundle and prints an
// ExportResult as JSON.
const (
	envChild = "FIREDRILL_BENCH_REPORT_CHILD"
	envDSN   = "FIREDRILL_BENCH_REPORT_DSN"
	envKey   = "FIREDRILL_BENCH_REPORT_KEY"
	envOut   = "FIREDRILL_BENCH_REPORT_OUT"
	// EnvCPUProfile, when set, is where the child writes a CPU profile of its export.
	EnvCPUProfile = "FIREDRILL_BENCH_REPORT_CPUPROFILE"
	// EnvHeapProfile, when set, is where the child writes a heap profile of what is live
	// halfway through the export as EnvHeapAfter (a duration) times it.
	EnvHeapProfile = "FIREDRILL_BENCH_REPORT_HEAPPROFILE"
	EnvHeapAfter   = "FIREDRILL_BENCH_REPORT_HEAPAFTER"
)

// ExportResult is what the child measured of its export.
type ExportResult struct {
	// Took is the export alone: Gatherer.Export, from the first query to the zip's close.
	Took time.Duration `json:"took"`
	// Bytes is the bundle's size.
	Bytes int64 `json:"bytes"`
	// VmHWM is the child's peak resident set as /proc/self/status says after the export.
	VmHWM int64 `json:"vm_hwm"`
	// Drills is how many drills the report holds.
	Drills int                   `json:"drills"`
	Files  []report.ManifestFile `json:"files"`
}

// childMain is the child's main when envChild is set.
func childMain() {
	res, err := exportOnce(context.Background(), os.Getenv(envDSN), os.Getenv(envKey), os.Getenv(envOut))
	if err != nil {
		fmt.Fprintln(os.Stderr, "report bench export:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		os.Exit(1)
	}
}

// exportOnce exports the benchmark's report into out as `firedrill serve` does
// ((*app).reports and control's ReportExport): the Gatherer with the shipped profiles, the
// PDF renderer, a bundle written to a file.
func exportOnce(ctx context.Context, dsn, keyPath, out string) (*ExportResult, error) {
	if dsn == "" || keyPath == "" || out == "" {
		return nil, errors.New("the child needs a database, a key and an output file")
	}
	est, diags := drills.ParseEstate(storetest.SeedEstateHCL, "estate.hcl")
	if diags.HasErrors() {
		return nil, fmt.Errorf("estate.hcl: %s", diags.Error())
	}
	key, _, err := report.LoadOrCreateSigningKey(keyPath)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	g, err := oreport.New(oreport.Config{Store: st, Compliance: oreport.ProfileCompliance{Location: time.UTC}})
	if err != nil {
		return nil, err
	}
	renderer, err := pdf.New(pdf.Config{})
	if err != nil {
		return nil, err
	}
	scope, err := g.Scope(benchProfile, benchPeriod, benchLang)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if path := os.Getenv(EnvCPUProfile); path != "" {
		pf, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	if path := os.Getenv(EnvHeapProfile); path != "" {
		after, err := time.ParseDuration(os.Getenv(EnvHeapAfter))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvHeapAfter, err)
		}
		t := time.AfterFunc(after, func() {
			if pf, err := os.Create(path); err == nil {
				_ = pprof.Lookup("heap").WriteTo(pf, 0)
				pf.Close()
			}
		})
		defer t.Stop()
	}
	start := time.Now()
	m, h, err := g.Export(ctx, f, &oreport.ExportParams{
		Scope: scope, ID: "R-bench", Version: 1, Institution: "Bench Bank", GeneratedBy: "user:bench",
		Now: exportNow, Estate: est, Key: key, PDF: renderer,
	})
	if err != nil {
		return nil, err
	}
	took := time.Since(start)
	if err := f.Close(); err != nil {
		return nil, err
	}
	fi, err := os.Stat(out)
	if err != nil {
		return nil, err
	}
	return &ExportResult{Took: took, Bytes: fi.Size(), VmHWM: vmHWM(), Drills: h.Summary.Drills, Files: m.Files}, nil
}
