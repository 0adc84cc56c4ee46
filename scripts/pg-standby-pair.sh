#!/usr/bin/env bash
# A real PostgreSQL primary and streaming standby on this machine, for the drills that promote a
# standby and measure data loss. Two extra clusters of the installed PostgreSQL: drprimary on
# port 5433 and drstandby on port 5434, trust auth on 127.0.0.1. Never touches the main cluster.
#
#   scripts/pg-standby-pair.sh up      create what is missing and start both (idempotent)
#   scripts/pg-standby-pair.sh reset   start the primary, lift a fence from it (postgres.fence),
#                                      and rebuild the standby from it (after a test promoted
#                                      the standby or cut replication)
#   scripts/pg-standby-pair.sh status  print the clusters
#   scripts/pg-standby-pair.sh down    stop and drop both clusters
set -euo pipefail

PRIMARY_PORT="${FIREDRILL_PG_PRIMARY_PORT:-5433}"
STANDBY_PORT="${FIREDRILL_PG_STANDBY_PORT:-5434}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { as_root su postgres -c "$*"; }

if ! command -v pg_createcluster >/dev/null 2>&1; then
  "$(dirname "$0")/ensure-postgres.sh"
fi
V="$(ls /usr/lib/postgresql | sort -n | tail -1)"
DATA=/var/lib/postgresql/$V

exists() { pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$V/$1"; }
running() { pg_lsclusters -h | awk -v c="$1" -v v="$V" '$1 == v && $2 == c {print $4}' | grep -q online; }
psql_at() { psql "postgres://postgres@127.0.0.1:$1/postgres?sslmode=disable&connect_timeout=3" -Atc "$2"; }

wait_ready() {
  for _ in $(seq 1 60); do
    if psql_at "$1" 'select 1' >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "pg-standby-pair: port $1 does not answer" >&2
  return 1
}

primary_up() {
  if ! exists drprimary; then
    as_root pg_createcluster "$V" drprimary -p "$PRIMARY_PORT" -- --auth=trust >/dev/null
    as_root tee -a "/etc/postgresql/$V/drprimary/postgresql.conf" >/dev/null <<C
wal_level = replica
max_wal_senders = 10
wal_keep_size = 256MB
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = on
C
  fi
  if ! running drprimary; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$V" drprimary start
  fi
  wait_ready "$PRIMARY_PORT"
}

standby_rebuild() {
  if exists drstandby; then
    as_root pg_dropcluster --stop "$V" drstandby
  fi
  as_root pg_createcluster "$V" drstandby -p "$STANDBY_PORT" -- --auth=trust >/dev/null
  as_root tee -a "/etc/postgresql/$V/drstandby/postgresql.conf" >/dev/null <<C
listen_addresses = '127.0.0.1'
hot_standby = on
wal_receiver_status_interval = 1s
fsync = off
C
  as_root find "$DATA/drstandby" -mindepth 1 -delete
  as_postgres "pg_basebackup -h 127.0.0.1 -p $PRIMARY_PORT -U postgres -D $DATA/drstandby -R -X stream" </dev/null
  as_root pg_ctlcluster --skip-systemctl-redirect "$V" drstandby start
  wait_ready "$STANDBY_PORT"
}

standby_ok() {
  exists drstandby && running drstandby && [ "$(psql_at "$STANDBY_PORT" 'select pg_is_in_recovery()' 2>/dev/null)" = t ] &&
    [ "$(psql_at "$PRIMARY_PORT" 'select count(*) from pg_stat_replication' 2>/dev/null)" -ge 1 ]
}

case "${1:-up}" in
  up)
    primary_up
    if ! standby_ok; then
      if exists drstandby && ! running drstandby; then
        as_root pg_ctlcluster --skip-systemctl-redirect "$V" drstandby start || true
        wait_ready "$STANDBY_PORT" || true
      fi
      for _ in $(seq 1 10); do standby_ok && break; sleep 0.5; done
      standby_ok || standby_rebuild
    fi
    ;;
  reset)
    primary_up
    # A drill may have fenced the primary (postgres.fence); the standby would copy the fence.
    psql_at "$PRIMARY_PORT" 'ALTER SYSTEM RESET default_transaction_read_only' >/dev/null
    psql_at "$PRIMARY_PORT" 'SELECT pg_reload_conf()' >/dev/null
    standby_rebuild
    ;;
  status)
    pg_lsclusters
    ;;
  down)
    for c in drstandby drprimary; do
      if exists "$c"; then as_root pg_dropcluster --stop "$V" "$c"; fi
    done
    ;;
  *)
    echo "usage: $0 up|reset|status|down" >&2
    exit 2
    ;;
esac
