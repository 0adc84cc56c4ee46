#!/usr/bin/env bash
# Installs, from Debian's packages, the commands the tests run that a fresh machine may lack:
# pdftotext (the report PDF tests read its text back), unzip and openssl (the README's walk
# checks a report bundle's signature as a regulator would, with stock tools; jq too, for the
# regulator portal's offline commands), the Korean font the console's screenshots render with,
# and docker-compose (the deployment test checks docker-compose.yml with `docker-compose config`).
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
for pair in pdftotext:poppler-utils unzip:unzip openssl:openssl jq:jq docker-compose:docker-compose; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
# Without a Korean font Chromium draws every Hangul glyph of a screenshot as an empty box.
[ -e /usr/share/fonts/truetype/nanum/NanumGothic.ttf ] || missing+=(fonts-nanum)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-test-tools.sh: installing ${missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
