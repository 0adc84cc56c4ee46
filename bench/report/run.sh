#!/usr/bin/env bash
# run.sh measures the export of a year's report bundle against COPY of the same rows (see
# ../README.md, issue 9) and prints the table: 100,000 runs, 2,000,000 step results and their
# audited timelines in a fresh PostgreSQL database, three rounds.
#
#   bench/report/run.sh                                # the full benchmark (seeding ~5 min)
#   bench/report/run.sh -runs 2000 -n 1                # quick
#   bench/report/run.sh -keep-database                 # keep the seeded database, then
#   bench/report/run.sh -database-url URL -seeded      # measure it again without seeding
#
# Flags: go run ./bench/report -h. Environment: FIREDRILL_TEST_DATABASE_URL (admin DSN; default the
# local PostgreSQL at 127.0.0.1:5432), FIREDRILL_BENCH_MARKDOWN_OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
go build -o "${TMPDIR:-/tmp}/firedrill-bench-report" ./bench/report
exec "${TMPDIR:-/tmp}/firedrill-bench-report" "$@"
