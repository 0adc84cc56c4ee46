# Whole-site loss of Sangam with its ledger database: replication is checked before anything is
# touched, Sangam is drained (T0; the canary stops writing), the Yatap standby is promoted and
# the old primary on Sangam fenced (made read-only, so the drill never leaves two writable
# ledgers), the services start on Yatap and are checked (T1). RTO and RPO are both measured.
# A rollback unfences Sangam's ledger and undrains Sangam.

plan "sangam-site-loss-with-ledger" {
  description = "Whole-site loss of Sangam; the ledger standby in Yatap is promoted"
  from        = "sangam"
  to          = "yatap"
  services    = ["auth", "payments", "remittance"]

  # The canary writes from the start of the run until T0: give the RPO a baseline of rows
  # (about 50 at payments' 100ms interval) rather than one.
  step "canary-baseline" {
    action   = "wait"
    duration = "5s"
  }

  step "check-ledger-lag" {
    action   = "postgres.check_replication"
    site     = "yatap"
    database = "ledger"
    max_lag  = "5s" # payments' RPO: fail before touching anything if we could not meet it
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

  step "fence-old-ledger" {
    action   = "postgres.fence"
    site     = "sangam"
    database = "ledger"
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
