# The estate of the seeded history (storetest.Seed): two sites, and the services each run
# starts and measures (svc-02 core, the others important), with the objectives the seeded
# measurements record.

site "sangam" {
  role    = "primary"
  ingress = "http://127.0.0.1:18080"
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

service "svc-02" {
  criticality = "core"
  rto         = "30m"
  rpo         = "0s"
  nomad_job   = "svc-02"
  check "http" {
    url = "{ingress}/svc-02/healthz"
  }
}

service "svc-03" {
  criticality = "important"
  rto         = "1h"
  rpo         = "5m"
  nomad_job   = "svc-03"
  depends_on  = ["svc-02"]
  check "http" {
    url = "{ingress}/svc-03/healthz"
  }
}

service "svc-04" {
  criticality = "important"
  rto         = "1h"
  rpo         = "5m"
  nomad_job   = "svc-04"
  depends_on  = ["svc-02"]
  check "http" {
    url = "{ingress}/svc-04/healthz"
  }
}
