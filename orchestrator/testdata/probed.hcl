# Test plan: the example site loss with a probe running through it.
plan "probed-site-loss" {
  description = "Whole-site loss of Sangam; auth, payments and remittance fail over to Yatap"
  from        = "sangam"
  to          = "yatap"
  services    = ["auth", "payments", "remittance"]

  # What a customer of Yatap sees: down until the failover is done.
  probe "payments-on-yatap" {
    url      = "{ingress}/payments/healthz"
    site     = "yatap"
    interval = "20ms"
  }

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
