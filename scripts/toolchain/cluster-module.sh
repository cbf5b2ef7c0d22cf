# shellcheck shell=bash
# The one wrapper module the cluster's Go commands build from (sourced by kube.sh and istiod.sh):
#   k8s.io/kubernetes v$KUBERNETES_VERSION   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#   sigs.k8s.io/kwok v$KWOK_VERSION          kwok
#   istio.io/istio $ISTIO_MODULE_VERSION      pilot-discovery (istiod), istioctl
# One go.mod for all of them, so Go resolves one version of each module they share (client-go, apimachinery, api,
# grpc, protobuf, OpenTelemetry, ...: the newest any of them requires) and compiles each shared package once;
# with a wrapper module each, kwok and istiod compiled again, at their own versions, half of what the Kubernetes
# build had just compiled. Every build writes the same go.mod (all the tools listed, so `go mod tidy` keeps every
# requirement) and builds only its own commands. Measured by bench/toolchain-share.sh.
#
# etcd keeps a module of its own: the storage under everything, built with the versions its release pins.
#
# CLUSTER_MODULE_KEY names the version set: the cache directories of these builds end with it
# (kubernetes/<version>-<key>/...), so a change of any of the three versions (or of this file's layout) rebuilds
# them all. write_cluster_mod DIR writes the go.mod.
# shellcheck disable=SC2034 # CLUSTER_MODULE_KEY is for the sourcing script

CLUSTER_MODULE_LAYOUT=1
CLUSTER_MODULE_KEY="$(printf '%s\n' "$CLUSTER_MODULE_LAYOUT" "$KUBERNETES_VERSION" "$KWOK_VERSION" \
  "$ISTIO_MODULE_VERSION" | sha256sum | cut -c1-8)"

# The commands of each part of the module (each entry on one line: bench/toolchain-share.sh reads one with read -a).
declare -A CLUSTER_MODULE_TOOLS=(
  [kubernetes]="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl"
  [kwok]="sigs.k8s.io/kwok/cmd/kwok"
  [istio]="istio.io/istio/pilot/cmd/pilot-discovery istio.io/istio/istioctl/cmd/istioctl"
)

# write_cluster_mod DIR [PART...]: the go.mod of PARTs (kubernetes, kwok, istio; by default all three, which is
# what the toolchain builds; bench/toolchain-share.sh also writes one module per part, as the toolchain did before).
# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with ./staging/src/...; as a
# dependency those replaces are ignored, so each staging module is replaced with its published
# v0.<minor>.<patch> tag (for every version: kwok and istio require them at their own).
write_cluster_mod() {
  local dir=$1
  shift
  local -a parts=("$@")
  ((${#parts[@]} > 0)) || parts=(kubernetes kwok istio)
  local part
  local -a requires=() tools=()
  for part in "${parts[@]}"; do
    case "$part" in
      kubernetes) requires+=("k8s.io/kubernetes v${KUBERNETES_VERSION}") ;;
      kwok) requires+=("sigs.k8s.io/kwok v${KWOK_VERSION}") ;;
      istio) requires+=("istio.io/istio ${ISTIO_MODULE_VERSION}") ;;
      *) die "write_cluster_mod: unknown part \"$part\"; use kubernetes, kwok or istio" ;;
    esac
    # shellcheck disable=SC2206 # the commands are words
    tools+=(${CLUSTER_MODULE_TOOLS[$part]})
  done
  # Before go.mod is opened: the staging list may need a `go mod download`, which reads the go.mod it runs beside.
  local replaces=""
  if [[ " ${parts[*]} " == *" kubernetes "* ]]; then
    replaces="$(kube_staging_replaces)" || die "cannot list the staging modules of k8s.io/kubernetes"
  fi
  {
    printf 'module istio-canary.local/toolchain/cluster\n\ngo 1.26.0\n\nrequire (\n'
    printf '\t%s\n' "${requires[@]}"
    printf ')\n'
    [[ -z $replaces ]] || printf '\nreplace (\n%s\n)\n' "$replaces"
    printf '\ntool (\n'
    printf '\t%s\n' "${tools[@]}"
    printf ')\n'
  } >"$dir/go.mod"
}

# One `replace` line per staging module of k8s.io/kubernetes (its go.mod downloaded first if needed).
kube_staging_replaces() {
  local kver="v${KUBERNETES_VERSION}"
  local sver="v0.${KUBERNETES_VERSION#*.}"
  local modfile
  modfile="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/${kver}.mod"
  [[ -f "$modfile" ]] || mod_dir "k8s.io/kubernetes@${kver}" >/dev/null # lib.sh: downloads outside any module
  local -a staging
  mapfile -t staging < <(sed -nE 's#^[[:space:]]*(k8s\.io/[^[:space:]]+)[[:space:]]+=>[[:space:]]+\./staging/src/.*#\1#p' "$modfile")
  ((${#staging[@]} > 10)) || die "found only ${#staging[@]} staging replaces in $modfile"
  local m
  for m in "${staging[@]}"; do
    # k8s.io/sample-cli-plugin is replaced but not required by k8s.io/kubernetes (and not published for every
    # patch release); a replace of a module outside the build list is ignored, so listing it is harmless.
    printf '\t%s => %s %s\n' "$m" "$m" "$sver"
  done
}
