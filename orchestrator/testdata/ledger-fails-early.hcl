# Test plan: the example ledger drill failing before its disaster: the canary wrote, nothing
# was failed over, and the canary's rows must still be removed.
plan "ledger-fails-before-t0" {
  from     = "sangam"
  to       = "yatap"
  services = ["auth", "payments", "remittance"]

  step "let-the-canary-write" {
    action   = "wait"
    duration = "500ms"
  }

  step "break" {
    action  = "command"
    command = "false"
  }

  step "lose-sangam" {
    action    = "nomad.drain_site"
    site      = "sangam"
    milestone = "disaster"
  }

  step "start-on-yatap" {
    action   = "nomad.run_job"
    site     = "yatap"
    for_each = ["auth", "payments", "remittance"]
  }

  step "verify" {
    action    = "http.wait_healthy"
    site      = "yatap"
    milestone = "restored"
  }

  rollback {
    step "return-to-sangam" {
      action = "nomad.undrain_site"
      site   = "sangam"
    }
  }
}
