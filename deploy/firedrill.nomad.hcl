# firedrill as a Nomad job: three replicas of `firedrill serve` sharing one PostgreSQL database.
# Every replica serves the console and the API, executes runs (each run by one replica at a time,
# under a lease another replica takes over when its holder dies) and competes for the scheduler
# lease; nothing else is shared between them, so any replica can be stopped at any time.
#
#   nomad var put nomad/jobs/firedrill \
#     database_url=postgres://firedrill_runtime:...@db.bank.example/firedrill \
#     migrate_database_url=postgres://firedrill_owner:...@db.bank.example/firedrill \
#     signing_key=@signing-key.pem
#   nomad job run -var image=registry.bank.example/firedrill:v1.2.0 \
#     -var estate=git::https://git.bank.example/sre/estate.git deploy/firedrill.nomad.hcl
#
# Secrets (the two database URLs, the report signing key) live in the Nomad variable
# nomad/jobs/firedrill, which only this job's tasks can read (workload identity); templates
# write them to the tasks' secrets/ directory, never to the job's spec or its logs.
#
# Upgrades: a new version rolls out one replica at a time (update block). Its prestart task
# migrates the schema first, with the migration (owner) role; goose's PostgreSQL lock makes the
# prestart tasks of several replicas migrate one after the other. The replicas still on the old
# version keep serving meanwhile (migrations between consecutive versions add, never remove),
# but a replica refuses to start against a schema newer than it knows: once a new version has
# migrated, auto_revert cannot bring the old one back. Upgrade one version at a time, take a
# backup first (firedrill export-all), and roll forward, or restore that backup into a new
# database (firedrill import), rather than revert.

variable "image" {
  type        = string
  description = "firedrill's image, built from the Dockerfile (docker build -t ... .)"
}

variable "estate" {
  type        = string
  description = "go-getter source of the directory holding firedrill.hcl and plans/ (a git repository, usually)"
}

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "institution" {
  type        = string
  description = "the institution named on every report's cover"
  default     = "Example Bank"
}

job "firedrill" {
  type        = "service"
  datacenters = var.datacenters

  # One replica at a time, healthy once /readyz answers 200 (database reachable, schema
  # current, leases working) for 10s; a version whose replicas do not become ready within the
  # deadline is rolled back to the last good one.
  update {
    max_parallel      = 1
    health_check      = "checks"
    min_healthy_time  = "10s"
    healthy_deadline  = "3m"
    progress_deadline = "10m"
    auto_revert       = true
  }

  group "firedrill" {
    count = 3

    # Three hosts: losing one machine leaves two replicas, which take over its runs.
    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    network {
      port "http" {
        to = 8080
      }
    }

    service {
      name     = "firedrill"
      provider = "nomad"
      port     = "http"
      # Readiness, not liveness: a replica whose database is unreachable leaves the service
      # (and its traffic) until it is ready again; restarting it would not bring the database back.
      check {
        name     = "ready"
        type     = "http"
        path     = "/readyz"
        interval = "10s"
        timeout  = "3s"
      }
    }

    # Migrations before serve, with the owner role; then the runtime role is granted what it
    # needs. The runtime replicas never hold the owner's credentials.
    task "migrate" {
      lifecycle {
        hook    = "prestart"
        sidecar = false
      }
      driver = "docker"
      config {
        image = var.image
        args  = ["migrate", "up", "--runtime-role", "firedrill_runtime"]
      }
      template {
        destination = "secrets/migrate.env"
        env         = true
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/firedrill" }}FIREDRILL_MIGRATE_DATABASE_URL={{ .migrate_database_url }}{{ end }}
        EOT
      }
      resources {
        cpu    = 200
        memory = 128
      }
    }

    task "serve" {
      driver = "docker"
      config {
        image = var.image
        args  = ["serve"]
        ports = ["http"]
      }
      # The estate (firedrill.hcl and plans/), from where the SREs keep it.
      artifact {
        source      = var.estate
        destination = "local/estate"
      }
      env {
        FIREDRILL_LISTEN           = "0.0.0.0:8080"
        FIREDRILL_CONFIG           = "${NOMAD_TASK_DIR}/estate/firedrill.hcl"
        FIREDRILL_SIGNING_KEY      = "${NOMAD_SECRETS_DIR}/signing-key.pem"
        FIREDRILL_INSTITUTION      = var.institution
        FIREDRILL_REPORT_TIME_ZONE = "Asia/Seoul"
        FIREDRILL_LOG_FORMAT       = "json"
        FIREDRILL_LOG_LEVEL        = "info"
        # Behind a TLS-terminating load balancer: the console's cookies are Secure.
        FIREDRILL_SECURE_COOKIES = "true"
      }
      template {
        destination = "secrets/serve.env"
        env         = true
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/firedrill" }}FIREDRILL_DATABASE_URL={{ .database_url }}{{ end }}
        EOT
      }
      # Every replica signs reports with the institution's one key: a key generated by each
      # replica on first use would give three signers.
      template {
        destination = "secrets/signing-key.pem"
        perms       = "0600"
        uid         = 65532
        gid         = 65532
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/firedrill" }}{{ .signing_key }}{{ end }}
        EOT
      }
      # serve stops taking runs on SIGTERM and finishes its HTTP requests within 10s; a run in
      # progress is resumed by another replica once its lease expires.
      kill_timeout = "30s"
      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
