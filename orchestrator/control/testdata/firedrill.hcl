# The estate the control tests work from: two sites, one service, a nightly schedule that
# needs an SRE and a compliance officer to approve each fire.
site "sangam" {
  role    = "primary"
  ingress = "http://127.0.0.1:1"
  nomad {
    address   = "http://127.0.0.1:1"
    region    = "kr-sangam"
    token_env = "NOMAD_TOKEN_SANGAM"
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
  description = "login for every app"
  owner       = "identity-team"
  criticality = "core"
  rto         = "30m"
  rpo         = "0s"
  drill_every = "90d"
  check "http" {
    url = "{ingress}/auth/healthz"
  }
}

service "payments" {
  criticality = "core"
  rto         = "1h"
  rpo         = "1m"
  depends_on  = ["auth"]
  check "http" {
    url = "{ingress}/payments/healthz"
  }
}

schedule "nightly" {
  plan         = "plans/failover.hcl"
  cron         = "0 2 * * *"
  time_zone    = "Asia/Seoul"
  start_within = "3h"
  approval {
    roles = ["sre", "compliance"]
  }
}
