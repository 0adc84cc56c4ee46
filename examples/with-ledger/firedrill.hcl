# firedrill.hcl with a ledger: the example estate plus the PostgreSQL ledger that payments and
# remittance write to, streamed from Sangam to a standby in Yatap. Connection strings are read
# from the environment (never stored); the tests point them at the primary/standby pair that
# scripts/pg-standby-pair.sh runs on this machine (ports 5433 and 5434).
#
# This example describes the Kakao-like scenario: `remittance` needs `payments`, which needs
# `auth`, as KakaoPay's login needed the Kakao account system. Three sites: Sangam runs
# everything, Yatap is the DR site with stopped "pilot-light" jobs, Busan a backup site. The
# addresses point at the simulated sites that `firedrill sim --config examples/firedrill.hcl`
# serves on this machine; `firedrill demo` starts the same sites in-process on free ports.

site "sangam" {
  role    = "primary"
  ingress = "http://127.0.0.1:18080"
  nomad {
    address    = "http://127.0.0.1:14646"
    region     = "kr-sangam"
    datacenter = "sangam-1"
    token_env  = "NOMAD_TOKEN_SANGAM"
  }
  postgres "ledger" {
    dsn_env = "LEDGER_SANGAM_DSN"
  }
}

site "yatap" {
  role    = "dr"
  ingress = "http://127.0.0.1:18081"
  nomad {
    address    = "http://127.0.0.1:14647"
    region     = "kr-yatap"
    datacenter = "yatap-1"
    token_env  = "NOMAD_TOKEN_YATAP"
  }
  postgres "ledger" {
    dsn_env = "LEDGER_YATAP_DSN"
  }
}

site "busan" {
  role    = "backup"
  ingress = "http://127.0.0.1:18082"
  nomad {
    address    = "http://127.0.0.1:14648"
    region     = "kr-busan"
    datacenter = "busan-1"
    token_env  = "NOMAD_TOKEN_BUSAN"
  }
}

service "auth" {
  description = "Account and login: everything else authenticates through it"
  owner       = "identity-team"
  criticality = "core" # 핵심업무
  rto         = "30m"
  rpo         = "1s" # asynchronous replication to yatap: about 300ms behind
  nomad_job   = "auth"
  check "http" {
    url = "{ingress}/auth/healthz"
  }
  # Its store is not PostgreSQL: sequenced markers through the service measure its RPO.
  canary {
    url      = "{ingress}/auth/canary"
    interval = "100ms"
  }
}

service "payments" {
  description = "Card and account payments"
  owner       = "payments-team"
  criticality = "core"
  rto         = "1h"
  rpo         = "5s"
  depends_on  = ["auth"]
  nomad_job   = "payments"
  # Sequenced rows written to the ledger on Sangam until T0, read back on Yatap: the RPO.
  canary {
    database = "ledger"
    table    = "firedrill_canary"
    interval = "100ms"
  }
  check "http" {
    url = "{ingress}/payments/healthz"
  }
}

service "remittance" {
  description = "Domestic and overseas transfers"
  owner       = "payments-team"
  criticality = "important"
  rto         = "2h"
  rpo         = "5s"
  depends_on  = ["payments"]
  nomad_job   = "remittance"
  check "http" {
    url = "{ingress}/remittance/healthz"
  }
  canary {
    url      = "{ingress}/remittance/canary"
    interval = "100ms"
  }
}
