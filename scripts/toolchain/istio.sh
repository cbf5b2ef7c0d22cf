#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Fetches Istio's own Helm charts (base, istiod, gateway, cni) from the Go module
# istio.io/istio@$ISTIO_MODULE_VERSION (manifests/charts/...) into
#   $ISTIO_CANARY_CACHE/istio/$ISTIO_MODULE_VERSION/charts/{base,istiod,gateway,cni}
# and istio.io/api@$ISTIO_API_VERSION's CRD bundle into
#   $ISTIO_CANARY_CACHE/istio-api/$ISTIO_API_VERSION/customresourcedefinitions.gen.yaml
#
# The base chart carries its CRDs itself (files/crd-all.gen.yaml, rendered by
# templates/crds.yaml); they are generated from the istio.io/api version that
# istio.io/istio's go.mod requires, which need not be $ISTIO_API_VERSION.
# The script logs both and whether they are the same.
#
# stdout: only `export NAME=value` lines (eval "$(scripts/toolchain/istio.sh)").
# stderr: progress.
set -euo pipefail

LOG_TAG=toolchain/istio
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"

require_cmd go
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

start=$SECONDS
root="$ISTIO_CANARY_CACHE/istio/$ISTIO_MODULE_VERSION"
charts="$root/charts"
api_root="$ISTIO_CANARY_CACHE/istio-api/$ISTIO_API_VERSION"
api_crds="$api_root/customresourcedefinitions.gen.yaml"

if [[ -f "$charts/base/Chart.yaml" && -f "$charts/istiod/Chart.yaml" && -f "$charts/gateway/Chart.yaml" && -f "$root/ISTIO_INFO" ]]; then
  log "charts cached in $charts"
else
  log "downloading istio.io/istio@$ISTIO_MODULE_VERSION"
  src="$(mod_dir "istio.io/istio@$ISTIO_MODULE_VERSION")"
  mkdir -p "$root"
  tmp="$(mktemp -d "$root/charts.tmp.XXXXXX")"
  cleanup_add "$tmp"
  cp -r "$src/manifests/charts/base" "$tmp/base"
  cp -r "$src/manifests/charts/istio-control/istio-discovery" "$tmp/istiod"
  cp -r "$src/manifests/charts/gateway" "$tmp/gateway"
  chmod -R u+w "$tmp"

  [[ -s "$tmp/base/files/crd-all.gen.yaml" ]] ||
    die "base chart has no files/crd-all.gen.yaml (expected since istio PR 53318)"

  # Which Istio release this module version is: the VERSION file (release-X.Y line; the
  # Makefile appends -dev) and the istio.io/api version it builds against.
  istio_line="$(tr -d '[:space:]' <"$src/VERSION")"
  api_req="$(sed -nE 's#^[[:space:]]*istio\.io/api[[:space:]]+(v[^[:space:]]+).*#\1#p' "$src/go.mod" | head -1)"
  {
    echo "module=istio.io/istio@$ISTIO_MODULE_VERSION"
    echo "version_file=$istio_line"
    echo "istio_api_required=$api_req"
    echo "chart_version=$(sed -nE 's/^version:[[:space:]]*(.*)/\1/p' "$tmp/base/Chart.yaml")"
  } >"$tmp/ISTIO_INFO"
  # Move the finished tree into place (atomic renames; replaces an incomplete old tree). ISTIO_INFO goes last:
  # it marks the tree complete.
  info_tmp=""
  tmp_for info_tmp "$root/ISTIO_INFO"
  mv "$tmp/ISTIO_INFO" "$info_tmp"
  install_atomic "$tmp" "$charts"
  install_atomic "$info_tmp" "$root/ISTIO_INFO"
  log "charts copied to $charts"
fi

# Istio CNI (manifests/charts/istio-cni), added on its own so that a cache made before it keeps its other charts:
# copied next to them and renamed into place (atomic; suites reading the other charts are not disturbed).
if [[ ! -f "$charts/cni/Chart.yaml" ]]; then
  src="$(mod_dir "istio.io/istio@$ISTIO_MODULE_VERSION")"
  cni_tmp="$(mktemp -d "$root/cni.tmp.XXXXXX")"
  cleanup_add "$cni_tmp"
  cp -r "$src/manifests/charts/istio-cni/." "$cni_tmp/"
  chmod -R u+w "$cni_tmp"
  install_atomic "$cni_tmp" "$charts/cni"
  log "Istio CNI chart copied to $charts/cni"
fi

if [[ ! -f "$api_crds" ]]; then
  log "downloading istio.io/api@$ISTIO_API_VERSION"
  api_src="$(mod_dir "istio.io/api@$ISTIO_API_VERSION")"
  mkdir -p "$api_root"
  crds_tmp=""
  tmp_for crds_tmp "$api_crds"
  cp "$api_src/kubernetes/customresourcedefinitions.gen.yaml" "$crds_tmp"
  chmod u+w "$crds_tmp"
  install_atomic "$crds_tmp" "$api_crds"
fi

info() { sed -n "s/^$1=//p" "$root/ISTIO_INFO"; }
info_version_file="$(info version_file)"
info_istio_api_required="$(info istio_api_required)"
info_chart_version="$(info chart_version)"
# global.hub / global.tag defaults of the istiod chart (4-space indented keys under global:)
hub="$(sed -nE 's/^    hub:[[:space:]]*"?([^"]*)"?[[:space:]]*$/\1/p' "$charts/istiod/values.yaml" | head -1)"
tag="$(sed -nE 's/^    tag:[[:space:]]*"?([^"]*)"?[[:space:]]*$/\1/p' "$charts/istiod/values.yaml" | head -1)"
log "istio.io/istio@$ISTIO_MODULE_VERSION: VERSION file '${info_version_file}' (Istio ${info_version_file} release line)," \
  "builds against istio.io/api ${info_istio_api_required}; Chart.yaml version/appVersion is the placeholder '${info_chart_version}'" \
  "(istio release-builder replaces it); istiod global.hub/global.tag default to '${hub}' / '${tag}'"
if cmp -s "$charts/base/files/crd-all.gen.yaml" "$api_crds"; then
  log "base chart CRDs == istio.io/api@$ISTIO_API_VERSION kubernetes/customresourcedefinitions.gen.yaml"
else
  log "NOTE: base chart CRDs (from istio.io/api ${info_istio_api_required}) differ from" \
    "istio.io/api@$ISTIO_API_VERSION's CRDs; the charts use their own copy"
fi
log "done in $((SECONDS - start))s"

emit_export ISTIO_CHARTS_DIR "$charts"
emit_export ISTIO_API_CRDS "$api_crds"
