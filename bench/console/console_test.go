package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestRunSmoke keeps the harness working in the normal test run: 1,000 runs, every page
// loaded for a second, signed in, with the real server built from this tree. It checks that
// every request was sent and answered with the page, never how fast.
func TestRunSmoke(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log strings.Builder
	opt := Options{
		DatabaseURL: storetest.NewDatabase(t),
		Runs:        1000,
		Rate:        50,
		Duration:    time.Second,
		Rounds:      2,
		Warmup:      200 * time.Millisecond,
		WorkDir:     t.TempDir(),
		Log:         &log,
	}
	rep, err := run(ctx, opt)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if len(rep.Stats) != len(Endpoints) || len(rep.Alone) != len(Endpoints) {
		t.Fatalf("run measured %d endpoints (%d alone), want %d", len(rep.Stats), len(rep.Alone), len(Endpoints))
	}
	want := 2 * rep.Options.perSlice()
	for _, s := range rep.Stats {
		if len(s.Latencies) != want {
			t.Errorf("%s: %d requests measured, want %d", s.Endpoint, len(s.Latencies), want)
		}
		if s.Errors > 0 && s.Endpoint != EndpointHealthz {
			t.Errorf("%s: %d errors, first: %v", s.Endpoint, s.Errors, s.FirstError)
		}
	}
	md := rep.Markdown()
	for _, label := range endpointLabels {
		if !strings.Contains(md, label) {
			t.Errorf("Markdown() lacks %q:\n%s", label, md)
		}
	}
	// The in-process run views read the same history, every view verified.
	views, err := measureRunViews(ctx, opt.DatabaseURL, opt.Runs, 50, 1)
	if err != nil {
		t.Fatalf("measureRunViews: %v", err)
	}
	if views.Views != 50 || views.CPU <= 0 || views.Allocs == 0 {
		t.Errorf("measureRunViews = %+v, want 50 views with their CPU and allocations", views)
	}
}
