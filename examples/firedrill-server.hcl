# firedrill serve's server configuration: how the process runs. What is drilled is the
# estate (firedrill.hcl, the estate setting below). Check it with
#
#   firedrill config check examples/firedrill-server.hcl
#
# and start with `firedrill serve --server-config examples/firedrill-server.hcl`. Every
# setting is overridden by its FIREDRILL_* variable and its serve flag (flag > env > file >
# default). Secrets are never written here: the file names the variable or the file that
# holds each. Relative paths are taken from this file's directory.

listen           = "127.0.0.1:8080"
estate           = "firedrill.hcl"
signing_key_file = "/var/lib/firedrill/report-signing-key.pem"
institution      = "Hanbit Bank"
report_time_zone = "Asia/Seoul"

database {
  # The runtime role's URL, with its password, from the environment (a Nomad variable, a
  # Compose secret); url_file = "/run/secrets/firedrill-db-url" would read it from a file.
  url_env = "PG_RUNTIME_URL"
  # The owner role's URL serves only to migrate, at the one start that upgrades the schema:
  #   migrate           = true   # or FIREDRILL_MIGRATE=true, serve --migrate
  #   migration_url_env = "PG_MIGRATION_URL"
}

# tls {
#   cert_file = "/etc/firedrill/tls/cert.pem"
#   key_file  = "/etc/firedrill/tls/key.pem"
# }

console {
  secure_cookies  = true # TLS ends at the load balancer in front
  session_idle    = "30m"
  session_max_age = "12h"
}

oidc {
  issuer             = "https://sso.hanbit-bank.example/realms/staff"
  client_id          = "firedrill"
  client_secret_file = "/run/secrets/firedrill-oidc-client-secret"
  redirect_url       = "https://firedrill.hanbit-bank.example/auth/callback"
  role_claim         = "groups"
  role_map = {
    "dr-sre"          = ["sre"]
    "dr-compliance"   = ["compliance"]
    "it-audit"        = ["auditor"]
    "firedrill-admin" = ["admin"]
    "staff"           = ["viewer"]
  }
  scopes = ["profile", "email", "groups"]
}

worker {
  concurrency = 4
  poll        = "2s"
  lease_for   = "30s"
}

scheduler {
  tick      = "30s"
  lease_for = "1m"
}

findings {
  retest_profile = "kr-efsr" # findings fall due within its retest deadline
}

log {
  level  = "info"
  format = "json"
}

# Notification targets, as the estate's notify blocks: credentials by reference only.
notify "dr-desk" {
  kind    = "webhook"
  url     = "https://hooks.hanbit-bank.example/firedrill"
  key_env = "FIREDRILL_HOOK_KEY"
  events  = ["approval_needed", "run_ended"]
}
