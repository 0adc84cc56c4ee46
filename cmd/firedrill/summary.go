package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// runSummary is what `run` and `demo` print as JSON: the run as the database recorded it
// (control's run view, with all its evidence, as `runs show` prints it) and where it is
// recorded. Its JSON keys are stable snake_case for scripts.
type runSummary struct {
	Database string `json:"database"`
	*control.RunView
	// Passed: the drill succeeded and met every objective, and was not forced.
	Passed bool `json:"passed"`
	Events int  `json:"events_recorded"`
}

func loadRunSummary(ctx context.Context, st *store.Store, runID string) (*runSummary, error) {
	v, err := control.LoadRunView(ctx, st, runID, time.Now())
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", runID, err)
	}
	return &runSummary{RunView: v, Passed: v.Run.Passed, Events: len(v.Timeline)}, nil
}

// clockTime prints a stored instant with milliseconds, in UTC.
func clockTime(t time.Time) string { return t.UTC().Format("15:04:05.000Z") }

// sinceT0 prints an instant relative to the disaster: "+1.234s", or "" without a T0.
func sinceT0(t time.Time, t0 *time.Time) string {
	if t0 == nil {
		return ""
	}
	d := t.Sub(*t0)
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return sign + d.Truncate(time.Millisecond).String()
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return strings.TrimSpace(sha)
}
