// Package fleet measures drills running at once on several replicas: replicas (each its own
// store pool, Nomad clients, runner and worker, as separate serve processes would have) share
// one PostgreSQL database and two simulated sites (internal/sitesim). It runs drills one at a
// time, then many at once, in the same process run, and compares their per-step overhead (the
// run's recorded span minus the time spent inside its actions, per step) and their detection
// lag (the restored milestone minus the instant sitesim made the DR service healthy).
//
// It is a benchmark harness: only bench/ scripts and this package's tests use it, and it makes
// no assertion about timings.
package fleet
