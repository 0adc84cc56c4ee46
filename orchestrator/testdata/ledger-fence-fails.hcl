# Test plan: the example ledger drill, failing after the old primary was fenced: the rollback
# must unfence it.
plan "ledger-fence-then-fail" {
  from     = "sangam"
  to       = "yatap"
  services = ["auth", "payments", "remittance"]

  step "lose-sangam" {
    action    = "nomad.drain_site"
    site      = "sangam"
    milestone = "disaster"
  }

  step "promote-ledger" {
    action   = "postgres.promote"
    site     = "yatap"
    database = "ledger"
  }

  step "fence-old-ledger" {
    action   = "postgres.fence"
    site     = "sangam"
    database = "ledger"
  }

  step "break" {
    action  = "command"
    command = "false"
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
    step "unfence-old-ledger" {
      action   = "postgres.unfence"
      site     = "sangam"
      database = "ledger"
    }
    step "return-to-sangam" {
      action = "nomad.undrain_site"
      site   = "sangam"
    }
  }
}
