#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds (or reuses) the binaries of the local control plane from Go modules:
#   etcd                     go.etcd.io/etcd/server/v3 @ v$ETCD_VERSION
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#                            k8s.io/kubernetes @ v$KUBERNETES_VERSION
#   kwok                     sigs.k8s.io/kwok/cmd/kwok @ v$KWOK_VERSION
#                            these two from the cluster's one wrapper module, istiod's too (cluster-module.sh)
#   helm                     helm.sh/helm/v3/cmd/helm @ v$HELM_VERSION (debugging/rendering only)
#
# Binaries are cached under $ISTIO_CANARY_CACHE/<name>/<version>/bin/ (for Kubernetes and kwok the version ends
# with CLUSTER_MODULE_KEY, which names the set of versions they build with); each group
# is built into a temporary directory which is then renamed into place (install_atomic
# of scripts/lib.sh), so a bin/ directory that exists is always complete.
#
# stdout: only `export NAME=value` lines (eval "$(scripts/toolchain/kube.sh)").
# stderr: progress and build times.
#
# Options: KUBE_TOOLCHAIN_HELM=1 builds helm too (the cluster does not need it; scripts/env.sh all asks for it);
# a helm built before is exported either way.
set -euo pipefail

LOG_TAG=toolchain/kube
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"
# shellcheck source=cluster-module.sh
source "$LIB_DIR/toolchain/cluster-module.sh"

# helm is not pinned in versions.sh; v3.22.0 is the newest helm v3 the module proxy serves.
HELM_VERSION="${HELM_VERSION:-3.22.0}"

require_cmd go

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

# ---------------------------------------------------------------- etcd
write_etcd_mod() {
  cat >"$1/go.mod" <<EOF
module istio-canary.local/toolchain/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v${ETCD_VERSION}

// etcd's own main package (server/main.go calls etcdmain.Main(os.Args)).
tool go.etcd.io/etcd/server/v3
EOF
}

# ---------------------------------------------------------------- kubernetes, kwok
# Both build from the cluster's one wrapper module (cluster-module.sh), as istiod and istioctl do.
kube_ldflags() {
  local major="${KUBERNETES_VERSION%%.*}" rest="${KUBERNETES_VERSION#*.}"
  local minor="${rest%%.*}"
  local build_date
  # Reproducible: the tag's commit time from the module proxy, if known.
  build_date="$(sed -nE 's/.*"Time":"([^"]+)".*/\1/p' \
    "$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v${KUBERNETES_VERSION}.info" 2>/dev/null || true)"
  [[ -n "$build_date" ]] || build_date="1970-01-01T00:00:00Z"
  local f=() pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=("-X $pkg.gitVersion=v${KUBERNETES_VERSION}"
      "-X $pkg.gitMajor=${major}"
      "-X $pkg.gitMinor=${minor}"
      "-X $pkg.gitTreeState=clean"
      "-X $pkg.buildDate=${build_date}")
  done
  echo "-s -w ${f[*]}"
}

# ---------------------------------------------------------------- helm
write_helm_mod() {
  cat >"$1/go.mod" <<EOF
module istio-canary.local/toolchain/helm

go 1.26.0

require helm.sh/helm/v3 v${HELM_VERSION}

tool helm.sh/helm/v3/cmd/helm
EOF
}

helm_ldflags() {
  # Like helm's Makefile: the default Kubernetes version for `helm template`
  # follows the client-go helm is built with (v0.N.x -> 1.N).
  local modfile cg major minor
  modfile="$(go env GOMODCACHE)/cache/download/helm.sh/helm/v3/@v/v${HELM_VERSION}.mod"
  [[ -f "$modfile" ]] || go mod download -json "helm.sh/helm/v3@v${HELM_VERSION}" >/dev/null
  cg="$(sed -nE 's#^[[:space:]]*k8s\.io/client-go[[:space:]]+v([0-9]+)\.([0-9]+)\..*#\1 \2#p' "$modfile" | head -1)"
  major=$(( ${cg%% *} + 1 ))
  minor="${cg##* }"
  local p=helm.sh/helm/v3
  echo "-s -w -X $p/internal/version.version=v${HELM_VERSION} -X $p/internal/version.metadata= -X $p/internal/version.gitTreeState=clean" \
    "-X $p/pkg/lint/rules.k8sVersionMajor=$major -X $p/pkg/lint/rules.k8sVersionMinor=$minor" \
    "-X $p/pkg/chartutil.k8sVersionMajor=$major -X $p/pkg/chartutil.k8sVersionMinor=$minor"
}

# ---------------------------------------------------------------- main
total_start=$SECONDS
mkdir -p "$ISTIO_CANARY_CACHE"

go_build_group etcd "$ETCD_VERSION" write_etcd_mod "-s -w" \
  "go.etcd.io/etcd/server/v3=>etcd"

go_build_group kubernetes "$KUBERNETES_VERSION-$CLUSTER_MODULE_KEY" write_cluster_mod "$(kube_ldflags)" \
  "k8s.io/kubernetes/cmd/kube-apiserver=>kube-apiserver" \
  "k8s.io/kubernetes/cmd/kube-controller-manager=>kube-controller-manager" \
  "k8s.io/kubernetes/cmd/kube-scheduler=>kube-scheduler" \
  "k8s.io/kubernetes/cmd/kubectl=>kubectl"

go_build_group kwok "$KWOK_VERSION-$CLUSTER_MODULE_KEY" write_cluster_mod "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v${KWOK_VERSION}" \
  "sigs.k8s.io/kwok/cmd/kwok=>kwok"

if [[ "${KUBE_TOOLCHAIN_HELM:-0}" == 1 ]]; then
  go_build_group helm "$HELM_VERSION" write_helm_mod "$(helm_ldflags)" \
    "helm.sh/helm/v3/cmd/helm=>helm"
fi

log "toolchain ready in $((SECONDS - total_start))s"

ETCD_BIN_DIR="$ISTIO_CANARY_CACHE/etcd/$ETCD_VERSION/bin"
KUBE_BIN_DIR="$ISTIO_CANARY_CACHE/kubernetes/$KUBERNETES_VERSION-$CLUSTER_MODULE_KEY/bin"
KWOK_BIN_DIR="$ISTIO_CANARY_CACHE/kwok/$KWOK_VERSION-$CLUSTER_MODULE_KEY/bin"
HELM_BIN_DIR="$ISTIO_CANARY_CACHE/helm/$HELM_VERSION/bin"
path="$ETCD_BIN_DIR:$KUBE_BIN_DIR:$KWOK_BIN_DIR"
[[ -x "$HELM_BIN_DIR/helm" ]] && path="$path:$HELM_BIN_DIR"

emit_export ETCD_BIN "$ETCD_BIN_DIR/etcd"
emit_export KUBE_BIN_DIR "$KUBE_BIN_DIR"
emit_export KUBECTL "$KUBE_BIN_DIR/kubectl"
emit_export KWOK_BIN "$KWOK_BIN_DIR/kwok"
if [[ -x "$HELM_BIN_DIR/helm" ]]; then
  emit_export HELM_BIN "$HELM_BIN_DIR/helm"
fi
emit_export KUBE_TOOLCHAIN_PATH "$path"
