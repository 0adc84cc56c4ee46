site "sangam" {
  role = "primary"
  nomad {
    address = "http://127.0.0.1:14646"
    region  = "kr-sangam"
  }
}

site "yatap" {
  role    = "dr"
  ingress = "http://127.0.0.1:18081"
  nomad {
    address = "http://127.0.0.1:14647"
    region  = "kr-yatap"
  }
}

service "auth" {
  criticality = "core"
  rto         = "30m"
  rpo         = "0s"
  check "http" { url = "{ingress}/auth/healthz" }
}

service "payments" {
  criticality = "core"
  rto         = "1h"
  rpo         = "5s"
  depends_on  = ["auth"]
  check "http" { url = "{ingress}/payments/healthz" }
}
