// Package overhead measures what the runner costs per step on PostgreSQL: a plan of no-op
// steps (the real `wait` action with duration "0s") run by the real orchestrator.Runner,
// against the bare cost of the same number of INSERT + COMMIT round trips through pgx into
// an events-like table of the same database.
//
// It is a benchmark harness: only bench/ scripts and this package's tests use it, and it
// makes no assertion about timings. Its baseline is the one place outside the store where
// SQL is written, on purpose: it is the yardstick the store is measured against, and it
// lives in its own table (bench_events) that the store never reads.
package overhead
