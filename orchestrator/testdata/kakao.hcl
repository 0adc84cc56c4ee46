# The October 2022 mistake: payments fails over, its login dependency auth stays behind.
plan "payments-without-auth" {
  from     = "sangam"
  to       = "yatap"
  services = ["payments"]

  step "lose-sangam" {
    action    = "nomad.stop_job"
    site      = "sangam"
    for_each  = ["payments"]
    milestone = "disaster"
  }
  step "start-on-yatap" {
    action   = "nomad.run_job"
    site     = "yatap"
    for_each = ["payments"]
  }
  step "verify" {
    action    = "http.wait_healthy"
    site      = "yatap"
    milestone = "restored"
    timeout   = "2s"
  }

  rollback        = "none"
  rollback_reason = "a test plan: the simulated sites are thrown away after the test"
}
