#!/usr/bin/env bash
# run.sh measures firedrill's orchestration overhead per step (see README.md) and prints the table.
#
#   bench/overhead/run.sh                                   # 1,000 steps, 5 repetitions of each kind
#   bench/overhead/run.sh -cpuprofile /tmp/overhead.cpu     # with a CPU profile (pprof)
#
# Environment: FIREDRILL_BENCH_STEPS, FIREDRILL_BENCH_REPETITIONS, FIREDRILL_BENCH_MARKDOWN_OUT
# (a file to write the table to), FIREDRILL_TEST_DATABASE_URL (admin DSN; default the local
# PostgreSQL at 127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec go test ./bench/overhead -run '^$' -bench '^BenchmarkOrchestrationOverhead$' -benchtime 1x -count 1 -timeout 30m "$@"
