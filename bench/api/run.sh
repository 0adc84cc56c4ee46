#!/usr/bin/env bash
# run.sh measures the read API's latency under load (see ../README.md) and prints the table:
# 100,000 runs and 2,000,000 step results in a fresh PostgreSQL database, `firedrill serve`
# built from this tree, 200 requests/s to each endpoint in turn.
#
#   bench/api/run.sh                                 # the full benchmark (about 5 minutes)
#   bench/api/run.sh -runs 1000 -duration 1s         # quick
#   bench/api/run.sh -markdown-out /tmp/api.md       # also write the table to a file
#
# Flags: go run ./bench/api -h. Environment: FIREDRILL_TEST_DATABASE_URL (admin DSN; default the
# local PostgreSQL at 127.0.0.1:5432), FIREDRILL_BENCH_MARKDOWN_OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec go run ./bench/api "$@"
