plan "auth-failover" {
  from     = "sangam"
  to       = "yatap"
  services = ["auth"]

  step "lose-sangam" {
    action    = "nomad.stop_job"
    site      = "sangam"
    for_each  = ["auth"]
    milestone = "disaster"
  }
  step "start" {
    action   = "nomad.run_job"
    site     = "yatap"
    for_each = ["auth"]
  }
  step "verify" {
    action    = "http.wait_healthy"
    site      = "yatap"
    milestone = "restored"
    timeout   = "1m"
  }

  participant "kim" { role = "incident commander" }
  participant "lee" { role = "dba" }

  rollback        = "none"
  rollback_reason = "a test plan: the simulated sites are thrown away after the test"
}
