// Command api measures the latency of firedrill's read API under a steady open-loop load:
// GET /api/v1/runs (the first page and a page deep in the cursor chain) and
// GET /api/v1/runs/{id} (random runs), each next to GET /healthz measured the same way in the
// same run, against a fresh PostgreSQL database holding a large history (storetest.Seed).
//
// The server is the real `firedrill serve`, built by the run from this tree and started as a
// subprocess; this process is the load generator. Requests are sent at fixed instants
// (open loop: a slow answer never delays the next request) and each latency is measured from
// the instant its request was due, not from when it was actually sent, so that a stalled
// server or a late generator shows in the numbers instead of hiding (no coordinated
// omission).
//
// It is a benchmark harness: only bench/ scripts and this package's test use it, and it
// makes no assertion about timings. See bench/README.md.
//
//	go run ./bench/api                           # 100,000 runs, 2,000,000 steps, 200 req/s, ~5 min
//	go run ./bench/api -runs 1000 -duration 2s   # quick
package main
