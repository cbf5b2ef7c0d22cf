#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Fetches the Kubernetes Gateway API's standard-channel CRDs from the Go module
# sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION (config/crd/standard/gateway.networking.k8s.io_*.yaml: the files
# the project's release bundle, standard-install.yaml, concatenates) into
#   $ISTIO_CANARY_CACHE/gateway-api/v$GATEWAY_API_VERSION/crds/
# for the `gateway-api` routing mode (IstioMesh's `gatewayApiCrdsDir` installs them). The safe-upgrades admission
# policy of the same directory is left out: it is not a CRD.
#
# stdout: only `export NAME=value` lines (eval "$(scripts/toolchain/gateway-api.sh)"):
#   GATEWAY_API_CRDS_DIR
set -euo pipefail
LOG_TAG=toolchain/gateway-api
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"

require_cmd go
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

dir="$ISTIO_CANARY_CACHE/gateway-api/v$GATEWAY_API_VERSION/crds"
if [[ -f $dir/.complete ]]; then
  log "CRDs cached in $dir"
else
  src="$(mod_dir "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION")"
  mkdir -p "$(dirname "$dir")"
  tmp="$(mktemp -d "$(dirname "$dir")/crds.tmp.XXXXXX")"
  cleanup_add "$tmp"
  cp "$src"/config/crd/standard/gateway.networking.k8s.io_*.yaml "$tmp/"
  rm -f "$tmp"/gateway.networking.k8s.io_vap_*.yaml
  chmod u+w "$tmp"/*.yaml
  for kind in gateways httproutes grpcroutes gatewayclasses referencegrants; do
    [[ -s $tmp/gateway.networking.k8s.io_$kind.yaml ]] || die "the module has no standard CRD of $kind"
  done
  grep -q "gateway.networking.k8s.io/bundle-version: v$GATEWAY_API_VERSION" "$tmp/gateway.networking.k8s.io_httproutes.yaml" ||
    die "the HTTPRoute CRD is not of bundle v$GATEWAY_API_VERSION"
  touch "$tmp/.complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  log "$(find "$dir" -name '*.yaml' | wc -l) CRDs of gateway-api v$GATEWAY_API_VERSION in $dir"
fi
emit_export GATEWAY_API_CRDS_DIR "$dir"
