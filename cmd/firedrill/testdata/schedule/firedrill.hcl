# The estate of the schedule and calendar CLI tests.
site "sangam" {
  role    = "primary"
  ingress = "http://127.0.0.1:1"
  nomad {
    address = "http://127.0.0.1:1"
    region  = "kr-sangam"
  }
}

site "yatap" {
  role    = "dr"
  ingress = "http://127.0.0.1:2"
  nomad {
    address = "http://127.0.0.1:2"
    region  = "kr-yatap"
  }
}

service "auth" {
  criticality = "core"
  rto         = "30m"
  rpo         = "0s"
  drill_every = "90d"
  check "http" {
    url = "{ingress}/auth/healthz"
  }
}

blackout "holidays" {
  reason = "public holidays"
  dates  = ["2027-07-04", "2027-12-25"]
}

blackout "month-end" {
  reason     = "month-end closing"
  month_days = [-1]
}

schedule "nightly" {
  plan      = "plans/failover.hcl"
  cron      = "0 2 * * *"
  time_zone = "Asia/Seoul"
  blackouts = ["month-end"]
}

schedule "weekly-ny" {
  plan         = "plans/failover.hcl"
  cron         = "30 2 * * SUN"
  time_zone    = "America/New_York"
  start_within = "3h"
  missed       = "run_once"
  blackouts    = ["holidays"]
  approval { roles = ["sre", "compliance"] }
}
