// Command console measures the latency of firedrill's web console under a steady open-loop
// load (issue 10): the dashboard (GET /), the run list (GET /runs), a run's page
// (GET /runs/{id}, random runs) and a service's history (GET /services/{name}), each
// next to GET /healthz measured the same way in the same run, against a PostgreSQL database
// holding a large audited history (storetest.SeedAudited: by default 100,000 runs,
// 2,000,000 step results, 300,000 measurements and their audit chain, the runs five minutes
// apart up to storetest.SeedNewest, so that the current year holds nearly all of them).
//
// The server is the real `firedrill serve`, built by the run from this tree (or -binary) and
// started as a subprocess with the seeded history's estate (storetest.SeedEstateHCL) and a
// report signing key, so that the dashboard evaluates the shipped regulator profile as in
// production. An admin signs in through the console's own form (GET /login, POST /login) and
// every measured request carries that real session cookie, so each one authenticates its
// session as a browser's would.
//
// The load generator is this process, bench/internal/httpload's open loop (as bench/api's):
// requests are sent at fixed instants, 200 a second by default, and each latency is measured
// from the instant its request was due, so a stalled server shows in the numbers instead of
// slowing the generator (plain wrk is closed-loop: it waits for answers, and would report the
// rate it reached instead of keeping 200/s).
//
// It is a benchmark harness: only bench/ scripts and this package's test use it, and it makes
// no assertion about timings. See bench/README.md.
//
//	go run ./bench/console                          # 100,000 runs, 200 req/s, ~8 min with seeding
//	go run ./bench/console -runs 2000 -duration 2s  # quick
//	go run ./bench/console -keep-database           # then, without seeding again:
//	go run ./bench/console -database-url URL -seeded -binary /tmp/firedrill-old
package main
