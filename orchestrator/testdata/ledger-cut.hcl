# Test plan: the example ledger drill with a replication cut before the disaster.
plan "ledger-loss-with-a-cut" {
  description = "Whole-site loss of Sangam; the ledger standby in Yatap is promoted"
  from        = "sangam"
  to          = "yatap"
  services    = ["auth", "payments", "remittance"]

  step "check-ledger-lag" {
    action   = "postgres.check_replication"
    site     = "yatap"
    database = "ledger"
    max_lag  = "5s" # payments' RPO: fail before touching anything if we could not meet it
  }

  # The test cuts the standby's replication while this step waits, then marks it done: every
  # canary row written from the cut to T0 is data the drill must report lost.
  step "cut-replication" {
    action       = "manual"
    instructions = "Cut the ledger standby's replication, let the canary write, then mark this done"
  }

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

  # The test reads both copies of the canary rows here, then marks it done: they must be
  # gone from both once the run ends.
  step "inspect" {
    action       = "manual"
    instructions = "Read the canary rows on both copies, then mark this done"
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
    timeout   = "10m"
  }

  rollback {
    step "return-to-sangam" {
      action = "nomad.undrain_site"
      site   = "sangam"
    }
  }
}
