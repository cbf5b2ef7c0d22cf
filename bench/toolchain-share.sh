#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# What the cluster's one wrapper module saves (scripts/toolchain/cluster-module.sh): builds Kubernetes' four
# commands, kwok, istiod and istioctl in the toolchain's order, from an empty build cache, once from one wrapper
# module per project (kubernetes, kwok, istio: how the toolchain built them before) and once from the shared one,
# and prints each build's wall time, user and system CPU and peak memory, and the sums.
#   npm run bench:toolchain-share [-- separate|shared ...]      (default: separate shared; about 40 minutes)
# As the toolchain builds (go_build_env, GOGC=400 and GOMEMLIMIT=4GiB as toolchain_part sets them, -trimpath,
# Istio's build tags for its two), without the version stamps (they change the link, not the work). Needs Go's
# module cache filled (scripts/env.sh e2e) so it measures compiling, not downloading. Run it on an idle machine:
# CPU time is what it compares, and other work on the cores inflates it.
set -euo pipefail
LOG_TAG=bench/toolchain-share
# shellcheck source=../scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../scripts/lib.sh"
# shellcheck source=../scripts/toolchain/cluster-module.sh
source "$LIB_DIR/toolchain/cluster-module.sh"
require_cmd go /usr/bin/time

layouts=("$@")
((${#layouts[@]} > 0)) || layouts=(separate shared)
for l in "${layouts[@]}"; do
  [[ $l == separate || $l == shared ]] || die "unknown layout \"$l\"; use separate or shared"
done

go_build_env
work="$(mktemp -d)"
cleanup_add "$work"

# module DIR PART... : a tidied wrapper module of PARTs in DIR (once per DIR).
module() {
  local dir=$1
  shift
  [[ -f $dir/go.sum ]] && return 0
  mkdir -p "$dir"
  write_cluster_mod "$dir" "$@"
  (cd "$dir" && go mod tidy) >"$work/tidy.log" 2>&1 || {
    cat "$work/tidy.log" >&2
    die "go mod tidy failed in $dir"
  }
}

# build LAYOUT GROUP DIR TAGS PKG... : one build from the layout's build cache, one row of the table.
build() {
  local layout=$1 group=$2 dir=$3 tags=$4
  shift 4
  mkdir -p "$work/out/$layout/$group"
  (cd "$dir" && env GOGC=400 GOMEMLIMIT=4GiB GOCACHE="$work/cache-$layout" \
    /usr/bin/time -o "$work/time" -f '%e %U %S %M' \
    go build -trimpath ${tags:+-tags="$tags"} -ldflags "-s -w" -o "$work/out/$layout/$group/" "$@")
  local wall user sys rss
  read -r wall user sys rss <"$work/time"
  LC_ALL=C printf '| %s | %s | %.0f s | %.0f s | %.0f s | %d MiB |\n' "$layout" "$group" "$wall" "$user" "$sys" \
    "$((rss / 1024))"
  echo "$wall $user $sys" >>"$work/sum-$layout"
}

istio_tags=vtprotobuf,disable_pgv
read -r -a kube_cmds <<<"${CLUSTER_MODULE_TOOLS[kubernetes]}"
printf '| layout | build (empty build cache) | wall | user CPU | system CPU | peak memory |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: |\n'
for layout in "${layouts[@]}"; do
  if [[ $layout == separate ]]; then
    module "$work/mod/kubernetes" kubernetes
    module "$work/mod/kwok" kwok
    module "$work/mod/istio" istio
    k="$work/mod/kubernetes" w="$work/mod/kwok" i="$work/mod/istio"
  else
    module "$work/mod/cluster"
    k="$work/mod/cluster" w="$work/mod/cluster" i="$work/mod/cluster"
  fi
  build "$layout" kubernetes "$k" "" "${kube_cmds[@]}"
  build "$layout" kwok "$w" "" sigs.k8s.io/kwok/cmd/kwok
  build "$layout" istiod "$i" "$istio_tags" istio.io/istio/pilot/cmd/pilot-discovery
  build "$layout" istioctl "$i" "$istio_tags" istio.io/istio/istioctl/cmd/istioctl
  awk -v l="$layout" '{ w += $1; u += $2; s += $3 }
    END { printf "| %s | **all four** | %.0f s | %.0f s | %.0f s | |\n", l, w, u, s }' "$work/sum-$layout"
  rm -rf "$work/cache-$layout"
done
for layout in "${layouts[@]}"; do
  awk -v l="$layout" '{ c += $2 + $3 } END { printf "%s: %.1f CPU-minutes\n", l, c / 60 }' "$work/sum-$layout"
done
