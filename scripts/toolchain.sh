# The Go release firedrill is checked, tested and built with, sourced by .ci/run, scripts/test.sh
# and scripts/build-release.sh (the Dockerfile's GO_VERSION names the same release; a test holds
# them together). go1.26.8, this machine's Go, has 13 standard-library vulnerabilities the code
# reaches (scripts/vuln-gate.sh lists them); go1.27.3 has none. The go command fetches it from
# the Go module proxy on first use (about 76 MB). go.mod still accepts Go 1.26, so `go run` and
# `go build` work on an older Go too: only what is tested and shipped is pinned. A GOTOOLCHAIN
# already set (e.g. local) is respected.
FIREDRILL_GO_VERSION=1.27.3
export GOTOOLCHAIN="${GOTOOLCHAIN:-go$FIREDRILL_GO_VERSION}"
