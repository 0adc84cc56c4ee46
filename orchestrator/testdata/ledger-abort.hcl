# Test plan: the example ledger drill aborted mid-drill, after its disaster (T0) and before the
# failover: the canaries (PostgreSQL for payments' ledger, HTTP for auth and remittance) wrote,
# and their rows and markers must be removed however the run ends.
plan "ledger-aborted-mid-drill" {
  from     = "sangam"
  to       = "yatap"
  services = ["auth", "payments", "remittance"]

  step "lose-sangam" {
    action    = "nomad.drain_site"
    site      = "sangam"
    milestone = "disaster"
  }

  step "hold" {
    action   = "wait"
    duration = "5m"
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
