# The estate of the four-eyes CLI tests: examples/firedrill.hcl without its schedule and its
# blackouts, with an approval policy for every run (the estate's default).

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
  rpo         = "0s"
  nomad_job   = "auth"
  drill_every = "365d" # Electronic Financial Supervisory Regulation art. 23: at least yearly
  check "http" {
    url = "{ingress}/auth/healthz"
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
}

approval {
  roles = ["sre", "compliance"] # two different people, never the requester
}
