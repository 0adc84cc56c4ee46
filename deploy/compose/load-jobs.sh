#!/bin/sh
# One-shot setup of the compose Nomad agents (docker-compose.yml's nomad-jobs service, in the
# Nomad image's busybox shell): bootstraps each agent's ACLs with the token the estate's
# token_env names, then registers the example services' jobs: running on Sangam, stopped on
# Yatap as the pilot light that a site-loss drill starts. Running it again (every
# `docker compose up`) changes nothing: bootstrapped ACLs and registered jobs are left as they
# are, since a drill may have moved a job since.
set -eu

# site ADDRESS TOKEN REGION DATACENTER STATE(running|stopped)
site() {
  export NOMAD_ADDR="$1"
  token="$2"
  if ! NOMAD_TOKEN="$token" nomad acl token self >/dev/null 2>&1; then
    # The secret comes from stdin and the reply, which repeats it, goes nowhere: no log has it.
    printf '%s' "$token" | nomad acl bootstrap - >/dev/null
  fi
  export NOMAD_TOKEN="$token"
  for job in auth payments remittance; do
    if nomad job inspect "$job" >/dev/null 2>&1; then
      echo "load-jobs: $job already registered on $NOMAD_ADDR"
      continue
    fi
    nomad job run -detach -var "region=$3" -var "datacenter=$4" "/compose/jobs/$job.nomad.hcl" >/dev/null
    if [ "$5" = stopped ]; then
      nomad job stop -detach "$job" >/dev/null
    fi
    echo "load-jobs: $job $5 on $NOMAD_ADDR ($3/$4)"
  done
}

site http://nomad-sangam:4646 "$NOMAD_TOKEN_SANGAM" kr-sangam sangam-1 running
site http://nomad-yatap:4646 "$NOMAD_TOKEN_YATAP" kr-yatap yatap-1 stopped
