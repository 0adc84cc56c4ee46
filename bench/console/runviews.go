package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"time"

	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// RunViewsReport is what a run's view costs read in this process, one view at a time: the
// control read of the run page (control.LoadRunView, its audit check included), without the
// template, the HTTP server or the load's queueing. Under load the serve process's CPU per
// request mixes all of those with the machine's contention; this isolates the read.
type RunViewsReport struct {
	Views int
	// CPU and Wall are per view; Bytes and Allocs are the Go heap allocations per view.
	CPU, Wall     time.Duration
	Bytes, Allocs uint64
}

func (r *RunViewsReport) String() string {
	return fmt.Sprintf("%d run views read in-process (control.LoadRunView, audit check included), one at a time: "+
		"%.3f ms CPU and %.3f ms wall per view, %d kB and %d allocations per view\n",
		r.Views, float64(r.CPU)/1e6, float64(r.Wall)/1e6, r.Bytes/1024, r.Allocs)
}

// measureRunViews reads views of n random runs of the seeded history at databaseURL (runs
// runs, seed the random order), after n/10 unmeasured ones, and checks each one verified.
func measureRunViews(ctx context.Context, databaseURL string, runs, n int, seed uint64) (*RunViewsReport, error) {
	st, err := store.Open(ctx, store.Config{DatabaseURL: databaseURL})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(seed, 3))
	view := func() error {
		id := storetest.SeedRunID(rng.IntN(runs))
		v, err := control.LoadRunView(ctx, st, id, time.Now())
		if err != nil {
			return fmt.Errorf("run %s: %w", id, err)
		}
		if !v.Integrity.Verified {
			return fmt.Errorf("run %s: the audit check failed: %s", id, v.Integrity.Problem)
		}
		return nil
	}
	for range n / 10 {
		if err := view(); err != nil {
			return nil, err
		}
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0, wall0 := processCPU(), time.Now()
	for range n {
		if err := view(); err != nil {
			return nil, err
		}
	}
	cpu, wall := processCPU()-cpu0, time.Since(wall0)
	runtime.ReadMemStats(&m1)
	return &RunViewsReport{Views: n, CPU: cpu / time.Duration(n), Wall: wall / time.Duration(n),
		Bytes: (m1.TotalAlloc - m0.TotalAlloc) / uint64(n), Allocs: (m1.Mallocs - m0.Mallocs) / uint64(n)}, nil
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
