#!/usr/bin/env bash
# run.sh measures firedrill's detection lag (see README.md) and prints the table.
#
#   bench/run.sh                          # 200 failovers each: event stream, 50ms poll, 1s poll, a hanging probe; 4 lanes
#   FIREDRILL_BENCH_LANES=1 bench/run.sh  # one failover at a time (about 5 minutes)
#
# Environment: FIREDRILL_BENCH_FAILOVERS, FIREDRILL_BENCH_POLL, FIREDRILL_BENCH_BASELINE, FIREDRILL_BENCH_HANG, FIREDRILL_BENCH_LANES,
# FIREDRILL_BENCH_SEED, FIREDRILL_BENCH_MARKDOWN_OUT (a file to write the table to).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go test ./bench/detection -run '^$' -bench '^BenchmarkDetectionLag$' -benchtime 1x -count 1 -timeout 30m "$@"
