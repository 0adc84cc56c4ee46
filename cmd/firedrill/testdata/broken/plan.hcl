plan "broken" {
  from     = "sangam"
  to       = "busan"
  services = ["payments", "billing"]

  step "lose-sangam" {
    action    = "nomad.stp_job"
    site      = "sangam"
    for_each  = ["payments"]
    milestone = "disaster"
  }

  step "start" {
    action   = "nomad.run_job"
    site     = "yatap"
    for_each = ["payments"]
  }
}
