# payments (Card and account payments): a stand-in for the example estate's service, a static health
# page on port 8082. load-jobs.sh registers it on both compose sites: running on Sangam, stopped
# on Yatap (the pilot light that the site-loss plan's nomad.run_job starts).
#
#   nomad job run -var region=kr-sangam -var datacenter=sangam-1 payments.nomad.hcl

variable "region" {
  type = string
}

variable "datacenter" {
  type = string
}

job "payments" {
  region      = var.region
  datacenters = [var.datacenter]
  type        = "service"

  # Healthy once its check passes: firedrill's nomad.wait_healthy waits for the deployment.
  update {
    health_check     = "checks"
    min_healthy_time = "2s"
    healthy_deadline = "1m"
  }

  group "payments" {
    count = 1

    network {
      port "http" {
        static = 8082
      }
    }

    service {
      name     = "payments"
      provider = "nomad"
      port     = "http"
      check {
        type     = "http"
        path     = "/payments/healthz"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "httpd" {
      # -p with a port alone: httpd listens on every address of the agent's container, where
      # firedrill reaches it by the service's name; Nomad checks it on the address it allocated.
      driver = "raw_exec"
      config {
        command = "/bin/busybox"
        args    = ["httpd", "-f", "-p", "${NOMAD_PORT_http}", "-h", "${NOMAD_TASK_DIR}/www"]
      }
      template {
        destination = "local/www/payments/healthz"
        data        = "ok\n"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
