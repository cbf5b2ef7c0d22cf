#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds (or reuses) Istio's control plane, and its CLI when asked, from the same Go module as the charts
# (istio.io/istio@$ISTIO_MODULE_VERSION, scripts/versions.sh):
#   pilot-discovery   istio.io/istio/pilot/cmd/pilot-discovery  (istiod: xDS, CA, validation webhook); always
#   istioctl          istio.io/istio/istioctl/cmd/istioctl       (istioctl analyze, proxy-config, ...); with
#                     `istioctl` as an argument (the e2e suite's toolchain), or when it is already built
# both from the cluster's one wrapper module (cluster-module.sh: istio.io/istio at the pinned pseudo-version, with
# Kubernetes and kwok, so the Kubernetes libraries and the rest they share compile once), with Istio's release build
# tags and `-ldflags "-s -w"` plus its version stamps. The two share most of their packages: the second build
# reuses Go's build cache.
#
# Cached under $ISTIO_CANARY_CACHE/istiod/<version>/bin/ and .../istioctl/<version>/bin/, <version> being
# $ISTIO_MODULE_VERSION-$CLUSTER_MODULE_KEY (go_build_group of scripts/lib.sh: a bin/ that exists is complete; one
# build at a time).
#
# stdout: only `export NAME=value` lines:  eval "$(scripts/toolchain/istiod.sh [istioctl])"
#   ISTIOD_BIN, and ISTIOCTL when istioctl is built
set -euo pipefail
LOG_TAG=toolchain/istiod
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"
# shellcheck source=cluster-module.sh
source "$LIB_DIR/toolchain/cluster-module.sh"

require_cmd go flock
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false -mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GO_BUILD_TAGS=vtprotobuf,disable_pgv # as Istio's release builds

build_version="$ISTIO_MODULE_VERSION-$CLUSTER_MODULE_KEY"
want_istioctl=0
[[ " $* " == *" istioctl "* ]] && want_istioctl=1
istioctl_bin="$ISTIO_CANARY_CACHE/istioctl/$build_version/bin/istioctl"
[[ -x $istioctl_bin ]] && want_istioctl=1

# The version stamps: the module's VERSION file is the release line ("1.31"); Istio's Makefile stamps
# "<line>-dev" on such builds.
istio_ldflags() {
  local src istio_version commit v=istio.io/istio/pkg/version
  src="$(mod_dir "istio.io/istio@$ISTIO_MODULE_VERSION")"
  [[ -f "$src/VERSION" ]] || die "istio.io/istio@$ISTIO_MODULE_VERSION has no VERSION file"
  istio_version="$(tr -d '[:space:]' <"$src/VERSION")-dev"
  commit="${ISTIO_MODULE_VERSION##*-}"
  printf '%s' "-s -w -X $v.buildVersion=$istio_version -X $v.buildGitRevision=$commit -X $v.buildStatus=Clean" \
    " -X $v.buildTag=$istio_version -X $v.buildHub=local -X $v.buildOS=$(go env GOOS) -X $v.buildArch=$(go env GOARCH)"
}

istiod_bin="$ISTIO_CANARY_CACHE/istiod/$build_version/bin/pilot-discovery"
ldflags=""
if [[ ! -x $istiod_bin ]] || { ((want_istioctl)) && [[ ! -x $istioctl_bin ]]; }; then
  ldflags="$(istio_ldflags)"
fi
go_build_group istiod "$build_version" write_cluster_mod "$ldflags" \
  "istio.io/istio/pilot/cmd/pilot-discovery=>pilot-discovery"
"$istiod_bin" version --short >/dev/null 2>&1 || die "the built pilot-discovery does not run ($istiod_bin)"
if ((want_istioctl)); then
  go_build_group istioctl "$build_version" write_cluster_mod "$ldflags" \
    "istio.io/istio/istioctl/cmd/istioctl=>istioctl"
fi

emit_export ISTIOD_BIN "$istiod_bin"
if ((want_istioctl)); then
  emit_export ISTIOCTL "$istioctl_bin"
fi
