#!/usr/bin/env bash
# run.sh measures the web console's latency under load (see ../README.md, issue 10) and prints
# the table: 100,000 audited runs and 2,000,000 step results in a fresh PostgreSQL database,
# `firedrill serve` built from this tree, 200 requests/s to each page in turn, signed in.
#
#   bench/console/run.sh                                   # the full benchmark (~8 min)
#   bench/console/run.sh -runs 2000 -duration 2s           # quick
#   bench/console/run.sh -keep-database                    # keep the seeded database, then
#   bench/console/run.sh -database-url URL -seeded         # measure it again without seeding
#
# Flags: go run ./bench/console -h. Environment: FIREDRILL_TEST_DATABASE_URL (admin DSN;
# default the local PostgreSQL at 127.0.0.1:5432), FIREDRILL_BENCH_MARKDOWN_OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
go build -o "${TMPDIR:-/tmp}/firedrill-bench-console" ./bench/console
exec "${TMPDIR:-/tmp}/firedrill-bench-console" "$@"
