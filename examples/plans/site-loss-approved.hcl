# site-loss.hcl as a bank runs it in production: the same whole-site loss of Sangam, which
# waits for an SRE and a compliance officer to approve it, two people other than the one who
# asked for it. The README's walk from `firedrill user bootstrap` to an approved drill
# submits this plan.

plan "sangam-site-loss-approved" {
  description = "Whole-site loss of Sangam; auth, payments and remittance fail over to Yatap"
  from        = "sangam"
  to          = "yatap"
  services    = ["auth", "payments", "remittance"]

  approval {
    roles  = ["sre", "compliance"] # two different people, never the requester
    within = "4h"                  # after that the run ends blocked, untouched
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
