#!/usr/bin/env bash
# The release build of firedrill: a static binary (CGO_ENABLED=0; the SQLite driver,
# glebarez/sqlite over modernc.org/sqlite, is pure Go), built with -trimpath so that no path of
# the build machine is in it, stamped with its version, commit and build date, and carrying the
# time zone database (Asia/Seoul works on a host or image without /usr/share/zoneinfo).
#
#   scripts/build-release.sh [OUTPUT]          default OUTPUT: dist/firedrill
#
# VERSION    default: git describe --tags --always --dirty (or "dev" outside a git checkout)
# COMMIT     default: git rev-parse HEAD, "+dirty" when the tree has uncommitted changes
# BUILD_DATE default: SOURCE_DATE_EPOCH when set (reproducible builds), else now; RFC 3339, UTC
# GOOS/GOARCH are honoured as by go build.
set -euo pipefail
out="$(realpath -m "${1:-dist/firedrill}")"
cd "$(dirname "$0")/.."

in_git() { git rev-parse --git-dir >/dev/null 2>&1; }
if [ -z "${VERSION:-}" ]; then
  VERSION=dev
  if in_git; then VERSION="$(git describe --tags --always --dirty)"; fi
fi
if [ -z "${COMMIT:-}" ]; then
  COMMIT=unknown
  if in_git; then
    COMMIT="$(git rev-parse HEAD)"
    [ -z "$(git status --porcelain)" ] || COMMIT="$COMMIT+dirty"
  fi
fi
if [ -z "${BUILD_DATE:-}" ]; then
  BUILD_DATE="$(date -u ${SOURCE_DATE_EPOCH:+-d "@$SOURCE_DATE_EPOCH"} +%Y-%m-%dT%H:%M:%SZ)"
fi

pkg=github.com/firedrill/firedrill/internal/version
mkdir -p "$(dirname "$out")"
# -buildvcs=false: the version comes from the -X values above, not from a git that a container
# build may not have; timetzdata embeds the zone database (about 450 KB).
CGO_ENABLED=0 go build -trimpath -buildvcs=false -tags timetzdata \
  -ldflags "-X $pkg.version=$VERSION -X $pkg.commit=$COMMIT -X $pkg.buildDate=$BUILD_DATE" \
  -o "$out" ./cmd/firedrill
echo "built $out: firedrill $VERSION, commit $COMMIT, $BUILD_DATE" >&2
