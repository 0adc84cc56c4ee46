// Package detection measures how late firedrill notices that a failed-over service is
// healthy: the lag between the instant sitesim made a DR job's toy service healthy and the
// PassedAt that http.wait_healthy reports, which the runner records unchanged as that
// service's restored moment (T1). It drives the real nomad.run_job, nomad.stop_job and
// http.wait_healthy actions against an in-process sitesim site over real HTTP.
//
// It is a benchmark harness: only bench/ scripts and this package's tests use it, and it
// makes no assertion about timings.
package detection
