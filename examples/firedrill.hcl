# firedrill.hcl: the estate that plans refer to.
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
  drill_every = "365d" # Electronic Financial Supervisory Regulation art. 23: at least yearly
  check "http" {
    url = "{ingress}/auth/healthz"
  }
  # The data-loss canary: sequenced markers written through the service on the primary,
  # the last one visible read on the DR site after the failover (an HTTP canary, for a
  # store that is not PostgreSQL). The RPO figure needs 10 markers over 1s before T0.
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
  drill_every = "365d" # Electronic Financial Supervisory Regulation art. 23: at least yearly
  check "http" {
    url = "{ingress}/payments/healthz"
  }
  # The data-loss canary: sequenced markers written through the service on the primary,
  # the last one visible read on the DR site after the failover (an HTTP canary, for a
  # store that is not PostgreSQL). The RPO figure needs 10 markers over 1s before T0.
  canary {
    url      = "{ingress}/payments/canary"
    interval = "100ms"
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
  drill_every = "365d" # Electronic Financial Supervisory Regulation art. 23: at least yearly
  check "http" {
    url = "{ingress}/remittance/healthz"
  }
  # The data-loss canary: sequenced markers written through the service on the primary,
  # the last one visible read on the DR site after the failover (an HTTP canary, for a
  # store that is not PostgreSQL). The RPO figure needs 10 markers over 1s before T0.
  canary {
    url      = "{ingress}/remittance/canary"
    interval = "100ms"
  }
}

# Who must approve a drill before it touches production: every run whose plan and schedule
# declare no approval block of their own waits for an SRE and a compliance officer.
approval {
  roles  = ["sre", "compliance"] # two different people, never the requester
  within = "24h"
}

# When drills run. Times are in the schedule's zone; blackouts keep drills out of month-end
# closing, trading hours and public holidays.
blackout "month-end" {
  reason     = "month-end closing"
  month_days = [-2, -1]
}

blackout "market-hours" {
  reason   = "KRX trading hours"
  weekdays = ["mon", "tue", "wed", "thu", "fri"]
  from     = "08:30"
  to       = "16:00"
}

blackout "holidays" {
  reason = "public holidays"
  dates  = ["2027-01-01", "2027-02-08", "2027-02-09", "2027-02-10", "2027-03-01", "2027-05-05", "2027-09-14", "2027-09-15", "2027-09-16", "2027-12-25"]
}

schedule "semiannual-sangam-loss" {
  plan         = "plans/site-loss.hcl"
  cron         = "0 2 15 3,9 *" # 02:00 on 15 March and 15 September
  time_zone    = "Asia/Seoul"
  start_within = "3h"
  missed       = "run_once"
  blackouts    = ["month-end", "market-hours", "holidays"]
  approval {
    roles = ["sre", "compliance"] # two different people, never the requester
  }
}
