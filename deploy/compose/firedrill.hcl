# firedrill.hcl for docker-compose.yml: the example estate (examples/firedrill.hcl) on two real
# Nomad dev agents instead of simulated sites. Same sites, regions, datacenters, token
# variables, services and dependencies; what differs, and why:
#   - no Busan: compose starts one Nomad agent per site of the example plan (Sangam, Yatap);
#   - each service is a static health page that deploy/compose/jobs/ runs on the site's agent
#     (busybox httpd on its own port), so a check is {ingress}:PORT/SERVICE/healthz;
#   - no canary block: a static page holds no data, so drills here measure RTO, not RPO;
#   - no approval, blackout or schedule: a drill submitted from the console starts at once.
# The plans are the examples' (examples/plans, mounted next to this file).

site "sangam" {
  role    = "primary"
  ingress = "http://nomad-sangam"
  nomad {
    address    = "http://nomad-sangam:4646"
    region     = "kr-sangam"
    datacenter = "sangam-1"
    token_env  = "NOMAD_TOKEN_SANGAM"
  }
}

site "yatap" {
  role    = "dr"
  ingress = "http://nomad-yatap"
  nomad {
    address    = "http://nomad-yatap:4646"
    region     = "kr-yatap"
    datacenter = "yatap-1"
    token_env  = "NOMAD_TOKEN_YATAP"
  }
}

service "auth" {
  description = "Account and login: everything else authenticates through it"
  owner       = "identity-team"
  criticality = "core" # 핵심업무
  rto         = "30m"
  rpo         = "1s"
  nomad_job   = "auth"
  drill_every = "365d" # Electronic Financial Supervisory Regulation art. 23: at least yearly
  check "http" {
    url = "{ingress}:8081/auth/healthz"
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
  drill_every = "365d"
  check "http" {
    url = "{ingress}:8082/payments/healthz"
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
  drill_every = "365d"
  check "http" {
    url = "{ingress}:8083/remittance/healthz"
  }
}
