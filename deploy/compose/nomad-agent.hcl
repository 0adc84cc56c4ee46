# The configuration of each compose Nomad dev agent (server and client in one; its region and
# datacenter come from docker-compose.yml's -region and -dc flags). ACLs are on, as on a bank's
# clusters: load-jobs.sh bootstraps each agent with the token the estate's token_env names, so
# firedrill's pre-flight reads a real token. raw_exec runs the example services' stand-ins
# (busybox httpd, which the Nomad image ships) without a container runtime inside the container.
acl {
  enabled = true
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}
