#!/usr/bin/env bash
# CI's vulnerability gate over scripts/govulncheck.sh: fails on any reachable vulnerability of a
# module firedrill requires (a go get fixes it), and on any of the Go standard library whose fix
# this machine's toolchain already has. A standard-library vulnerability fixed only in a Go
# release newer than the one installed here is listed, loudly, and does not fail the run: the
# fix is the toolchain (the release image builds with a fixed Go: see the Dockerfile), which the
# machine cannot take; the README says so. Set FIREDRILL_VULN_STRICT=1 to fail on those too.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
scripts/govulncheck.sh -format json >"$out"
# Reachable findings only: a trace down to a function the code calls.
reach='select(.finding and .finding.trace[0].function != null) | .finding | [.osv, .trace[0].module, (.fixed_version // "none")] | @tsv'
mapfile -t found < <(jq -r "$reach" "$out" | sort -u)
gover="$(go env GOVERSION)"; gover="${gover#go}"
fail=0; later=()
for line in "${found[@]}"; do
  IFS=$'\t' read -r osv module fixed <<<"$line"
  if [ "$module" != stdlib ]; then
    echo "vulnerable module: $module ($osv, fixed in $fixed)"; fail=1
  elif [ "$fixed" = none ] || [ "$(printf '%s\n%s\n' "${fixed#v}" "$gover" | sort -V | head -1)" = "${fixed#v}" ]; then
    # Fixed in this Go or an older one (or not at all): the installed toolchain is behind its own fix.
    echo "vulnerable standard library: $osv (fixed in $fixed, this is go$gover)"; fail=1
  else
    later+=("$osv (fixed in go${fixed#v})")
  fi
done
if [ "${#later[@]}" -gt 0 ]; then
  mapfile -t later < <(printf '%s\n' "${later[@]}" | sort -u)
  echo "WARNING: go$gover's standard library has ${#later[@]} vulnerabilities the code reaches, fixed only in newer Go releases than this machine has:"
  printf '  %s\n' "${later[@]}"
  [ "${FIREDRILL_VULN_STRICT:-}" = 1 ] && fail=1
fi
[ "$fail" = 0 ] && echo "govulncheck: no vulnerability of a required module, none the installed Go could fix"
exit "$fail"
