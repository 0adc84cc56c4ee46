// Package httpload is what the benchmarks share (bench/api, bench/console; bench/report its
// scratch directory and database): building and starting the real `firedrill serve` as a
// subprocess, an open-loop load generator that sends requests at fixed instants and measures
// each from the instant it was due (no coordinated omission), nearest-rank percentiles,
// stalls, and the machine's description. It is a benchmark harness and makes no assertion
// about timings.
package httpload
