#!/usr/bin/env bash
# The test command of the README: starts what the tests need, then runs every Go test.
# Extra arguments go to `go test` (e.g. scripts/test.sh -run TestDemo ./cmd/...).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${FIREDRILL_TEST_DATABASE_URL:-}" ]; then
  scripts/ensure-postgres.sh
fi
scripts/install-test-tools.sh
# The console's browser test fails instead of skipping when Chromium is missing.
export FIREDRILL_BROWSER_TESTS=1
# The owner and runtime roles the role tests (and a production-like setup) use.
scripts/create-roles.sh
# The real primary + streaming standby that the promotion and data-loss drills run against.
if [ -z "${FIREDRILL_TEST_PG_PRIMARY:-}" ]; then
  scripts/pg-standby-pair.sh up
fi

if [ "$#" -eq 0 ]; then
  set -- ./...
fi
exec go test -count=1 -timeout 20m "$@"
