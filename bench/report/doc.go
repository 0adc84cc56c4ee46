// Command report measures the export of a year's compliance report bundle (issue 9) against
// PostgreSQL's own COPY of the rows the export reads, in the same run, on a fresh database
// holding a large audited history (storetest.SeedAudited: by default 100,000 runs, 2,000,000
// step results, 300,000 measurements with their measurement events, about 5,000,000 audited
// run events).
//
// The export is the real one, wired as `firedrill serve` wires it ((*app).reports in
// cmd/firedrill/cmd_serve.go): the orchestrator/report Gatherer over the store with the
// shipped profiles' evaluation (ProfileCompliance), report.Write and the NanumGothic PDF
// renderer of report/pdf, writing the bundle to a temporary file as the control layer does
// before it stores the bundle. It runs in a child process (this program re-executed), so that
// its peak resident set (getrusage's ru_maxrss of the child, and VmHWM the child reads from
// /proc/self/status) is the export's alone, not Go's heap alone.
//
// COPY is `COPY (SELECT ...) TO STDOUT` of exactly the rows the export reads, in the order it
// reads them: the period's ended runs, their step results, measurements, approvals, run
// events and those events' audit rows, and the plans; read by this process and discarded.
// After the rounds, the first round's bundle is verified with report.Verify (hashes, signature, the
// audit chain segment and every RTO and RPO recomputed from events.ndjson).
//
// It is a benchmark harness: only bench/ scripts and this package's test use it, and it
// makes no assertion about timings. See bench/README.md.
//
//	go run ./bench/report                  # 100,000 runs, 3 repetitions
//	go run ./bench/report -runs 2000 -n 1  # quick
package main
