# A whole-site loss of Sangam, as in a data-centre fire: every Nomad node of the site is
# drained at once (T0), then every service is started on Yatap in dependency order and checked
# until its health endpoints answer from Yatap (T1). Rollback returns the estate to Sangam.

plan "sangam-site-loss" {
  description = "Whole-site loss of Sangam; auth, payments and remittance fail over to Yatap"
  from        = "sangam"
  to          = "yatap"
  services    = ["auth", "payments", "remittance"]

  step "lose-sangam" {
    action    = "nomad.drain_site" # every node of sangam-1 drained: nothing runs there any more
    site      = "sangam"
    milestone = "disaster"         # T0: the failure is injected
  }

  step "start-on-yatap" {
    action   = "nomad.run_job"
    site     = "yatap"
    for_each = ["auth", "payments", "remittance"] # started in dependency order
    timeout  = "2m"
  }

  step "wait-allocations" {
    action  = "nomad.wait_healthy"
    site    = "yatap"
    timeout = "5m"
  }

  step "verify" {
    action    = "http.wait_healthy" # every check of every service green on yatap
    site      = "yatap"
    milestone = "restored"          # T1
    timeout   = "10m"
  }

  rollback {
    step "stop-on-yatap" {
      action   = "nomad.stop_job"
      site     = "yatap"
      for_each = ["auth", "payments", "remittance"]
    }
    step "return-to-sangam" {
      action = "nomad.undrain_site"
      site   = "sangam"
    }
  }
}
