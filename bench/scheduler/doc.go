// Package scheduler measures the scheduler at scale: many schedules fired through the real
// engine and store over one simulated year, driven by a fake clock that jumps from one fire
// instant to the next (as the scheduler's own loop wakes at the next fire). It reports the CPU
// time used, fires decided per wall-clock second, and the firing skew: the wall-clock time from
// the start of the pass that woke at a fire's instant to the moment its run was recorded.
//
// It is a benchmark harness: only bench/ scripts and this package's tests use it, and it makes
// no assertion about timings.
package scheduler
