#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 as user postgres without a password,
# which is what the tests expect (FIREDRILL_TEST_DATABASE_URL overrides the address).
# Idempotent: starts an existing cluster, or installs PostgreSQL from Debian's packages and
# creates a trust-auth cluster when none exists. Never touches a server that already answers.
set -euo pipefail

PGPORT_WANTED=5432
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

answers() {
  command -v psql >/dev/null 2>&1 &&
    psql "postgres://postgres@127.0.0.1:${PGPORT_WANTED}/postgres?sslmode=disable&connect_timeout=3" -Atc 'select 1' >/dev/null 2>&1
}

if answers; then
  exit 0
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "ensure-postgres: installing PostgreSQL from Debian's packages" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client >/dev/null
fi

version="$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1 || true)"
if [ -z "$version" ]; then
  version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
fi

# A cluster on our port: start it.
cluster="$(pg_lsclusters -h 2>/dev/null | awk -v p="$PGPORT_WANTED" '$3 == p {print $2; exit}')"
if [ -n "$cluster" ]; then
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start 2>/dev/null || true
fi

if ! answers; then
  # The packaged cluster asks for a password on 127.0.0.1; the tests need trust auth. Replace
  # it only when it holds nothing but the template databases we could lose.
  if [ -n "$cluster" ]; then
    dbs="$(as_root su postgres -c "psql -p $PGPORT_WANTED -Atc \"select count(*) from pg_database where datname not in ('postgres','template0','template1')\"" 2>/dev/null || echo unknown)"
    if [ "$dbs" != "0" ]; then
      echo "ensure-postgres: cluster $version/$cluster on port $PGPORT_WANTED needs a password and holds data; set FIREDRILL_TEST_DATABASE_URL" >&2
      exit 1
    fi
    as_root pg_dropcluster --stop "$version" "$cluster"
  fi
  as_root pg_createcluster "$version" main -p "$PGPORT_WANTED" -- --auth=trust >/dev/null
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi

for _ in $(seq 1 30); do
  if answers; then exit 0; fi
  sleep 1
done
echo "ensure-postgres: PostgreSQL does not answer on 127.0.0.1:$PGPORT_WANTED" >&2
exit 1
