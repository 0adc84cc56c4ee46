#!/usr/bin/env bash
# The test command of the README: starts what the tests need, then runs every Go test.
# Extra arguments go to `go test` (e.g. scripts/test.sh -run TestDemo ./cmd/...).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${FIREDRILL_TEST_DATABASE_URL:-}" ]; then
  scripts/ensure-postgres.sh
fi
# pdftotext (poppler-utils): the report PDF tests extract its text to check headings and figures.
if ! command -v pdftotext >/dev/null 2>&1; then
  echo "test.sh: installing poppler-utils for pdftotext" >&2
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
fi
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
