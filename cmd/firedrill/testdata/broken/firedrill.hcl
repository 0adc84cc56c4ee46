site "sangam" {
  role = "primary"
  nomad {
    address = "http://127.0.0.1:14646"
    region  = "kr-sangam"
  }
}

site "yatap" {
  role = "dr"
  nomad {
    address = "http://127.0.0.1:14647"
    region  = "kr-yatap"
  }
}

service "auth" {
  criticality = "core"
  rto         = "soon"
  rpo         = "0s"
}

service "ledger" {
  criticality = "core"
  rto         = "1h"
  rpo         = "0s"
  depends_on  = ["fx"]
}

service "fx" {
  criticality = "important"
  rto         = "1h"
  rpo         = "0s"
  depends_on  = ["ledger"]
}
