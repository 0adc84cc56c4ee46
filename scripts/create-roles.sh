#!/usr/bin/env bash
# Create firedrill's two PostgreSQL roles when they are missing (idempotent):
#   firedrill_owner    owns the database and runs the migrations (firedrill migrate up)
#   firedrill_runtime  what serve and the CLI connect as; migrate up --runtime-role grants it
#                      INSERT/SELECT only on the record and SELECT only on the audit log
# The tests (storetest.PostgresRoles) and CI use them. Connects as the admin DSN
# (FIREDRILL_TEST_DATABASE_URL, default the local postgres superuser). Passwords: set
# FIREDRILL_OWNER_PASSWORD / FIREDRILL_RUNTIME_PASSWORD to give the roles one (the test
# cluster uses trust authentication on 127.0.0.1 and needs none).
set -euo pipefail
admin="${FIREDRILL_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"

create() {
  local role="$1" attrs="$2" password="$3"
  psql "$admin" -v ON_ERROR_STOP=1 -qAt -v role="$role" -v password="$password" <<SQL
SELECT format('CREATE ROLE %I LOGIN $attrs', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'password') WHERE :'password' <> '' \gexec
SQL
}

create firedrill_owner "" "${FIREDRILL_OWNER_PASSWORD:-}"
create firedrill_runtime "" "${FIREDRILL_RUNTIME_PASSWORD:-}"
