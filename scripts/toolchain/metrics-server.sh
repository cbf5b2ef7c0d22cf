#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds (or reuses) metrics-server from its Go module, for the resource metrics API (metrics.k8s.io) the
# kube-controller-manager's HPA controller reads:
#   metrics-server           sigs.k8s.io/metrics-server/cmd/metrics-server @ v$METRICS_SERVER_VERSION
# through a wrapper module that requires it (`go mod tidy` resolves its k8s.io dependencies, the v0.x releases of
# the staging modules, from the Go module proxy; they are not the kube build's, which uses k8s.io/kubernetes).
#
# Cached under $ISTIO_CANARY_CACHE/metrics-server/v$METRICS_SERVER_VERSION/bin/ (go_build_group of scripts/lib.sh:
# a bin/ that exists is complete; one build at a time). The build runs at `nice -n 10`: it shares the machine.
#
# stdout: only `export NAME=value` lines:  eval "$(scripts/toolchain/metrics-server.sh)"
#   METRICS_SERVER_BIN
set -euo pipefail
LOG_TAG=toolchain/metrics-server
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"

require_cmd go flock
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false -mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

write_metrics_server_mod() {
  cat >"$1/go.mod" <<MOD
module istio-canary.local/toolchain/metrics-server

go 1.26.0

require sigs.k8s.io/metrics-server v${METRICS_SERVER_VERSION}

tool sigs.k8s.io/metrics-server/cmd/metrics-server
MOD
}

bin="$ISTIO_CANARY_CACHE/metrics-server/v$METRICS_SERVER_VERSION/bin/metrics-server"
# The version stamp metrics-server's Makefile sets (its /version and --version).
ldflags="-s -w -X sigs.k8s.io/metrics-server/pkg/version.gitVersion=v$METRICS_SERVER_VERSION"
renice -n 10 -p $$ >/dev/null 2>&1 || true # go build inherits it
go_build_group metrics-server "v$METRICS_SERVER_VERSION" write_metrics_server_mod "$ldflags" \
  "sigs.k8s.io/metrics-server/cmd/metrics-server=>metrics-server"
"$bin" --help >/dev/null 2>&1 || die "the built metrics-server does not run ($bin)"
emit_export METRICS_SERVER_BIN "$bin"
