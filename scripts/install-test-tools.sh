#!/usr/bin/env bash
# Installs, from Debian's packages, the commands the tests run that a fresh machine may lack:
# pdftotext (the report PDF tests read its text back), unzip and openssl (the README's walk
# checks a report bundle's signature as a regulator would, with stock tools; jq too, for the
# regulator portal's offline commands), chromium (the console's browser test drives it
# headless), a Korean font for the Korean screenshots, and Prometheus with promtool (a real
# Prometheus scrapes serve; promtool checks deploy/alerts.yml), and docker-compose (the
# deployment test checks docker-compose.yml with `docker-compose config`). Installs only what is missing: run it
# again freely.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
for pair in pdftotext:poppler-utils unzip:unzip openssl:openssl jq:jq chromium:chromium prometheus:prometheus promtool:prometheus docker-compose:docker-compose; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
# Without a Korean font Chromium draws every Hangul letter of a screenshot as an empty box.
if ! { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=ko)" ]; }; then
  missing+=(fonts-nanum)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-test-tools.sh: installing ${missing[*]}" >&2
  as_root apt-get update -qq
  # sort -u: prometheus and promtool come in one package. The package's own service is never
  # used (the tests start Prometheus on a free port with their own configuration).
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi
