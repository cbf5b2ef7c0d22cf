#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Go's garbage collector in a toolchain build: builds one component from its cached wrapper module, from an empty
# build cache of its own, once at each GOGC given (one after the other, each with GOMEMLIMIT 4GiB as
# scripts/lib.sh toolchain_part sets it), and prints each build's wall time, user and system CPU and peak memory;
# then checks the binaries are identical (GOGC changes when the compiler collects its memory, not what it emits).
# A value may repeat (each build is its own).
#   npm run bench:toolchain-gc [-- COMPONENT [GOGC...]]     COMPONENT: etcd (default), kwok, metrics-server
# Needs the toolchain built (scripts/env.sh e2e) for the wrapper modules and Go's module cache. Run it on an idle
# machine: CPU time is what it compares, and other work on the cores inflates it.
set -euo pipefail
LOG_TAG=bench/toolchain-gc
# shellcheck source=../scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../scripts/lib.sh"
# shellcheck source=../scripts/toolchain/cluster-module.sh
source "$LIB_DIR/toolchain/cluster-module.sh"
require_cmd go /usr/bin/time

component="${1:-etcd}"
shift || true
gogcs=("$@")
((${#gogcs[@]} > 0)) || gogcs=(100 400)
for g in "${gogcs[@]}"; do
  [[ $g =~ ^([1-9][0-9]*|off)$ ]] || die "GOGC must be a positive whole number or off; got \"$g\""
done
case "$component" in
  etcd) src="$ISTIO_CANARY_CACHE/etcd/$ETCD_VERSION/src" pkg="go.etcd.io/etcd/server/v3" ;;
  kwok) src="$ISTIO_CANARY_CACHE/kwok/$KWOK_VERSION-$CLUSTER_MODULE_KEY/src" pkg="sigs.k8s.io/kwok/cmd/kwok" ;;
  metrics-server)
    src="$ISTIO_CANARY_CACHE/metrics-server/v$METRICS_SERVER_VERSION/src"
    pkg="sigs.k8s.io/metrics-server/cmd/metrics-server"
    ;;
  *) die "unknown component \"$component\"; use etcd, kwok or metrics-server" ;;
esac
[[ -f $src/go.mod ]] || die "no wrapper module in $src: build the toolchain first (scripts/env.sh e2e)"

# As the toolchain builds (go_build_env: static, no VCS stamp, the local Go), from a copy of the wrapper module so
# the cached one is never rewritten.
go_build_env
work="$(mktemp -d)"
cleanup_add "$work"
cp "$src/go.mod" "$src/go.sum" "$work/"
printf '| %s build, empty build cache | wall | user CPU | system CPU | peak memory |\n| --- | ---: | ---: | ---: | ---: |\n' "$component"
for i in "${!gogcs[@]}"; do
  g="${gogcs[$i]}"
  (cd "$work" && env GOGC="$g" GOMEMLIMIT=4GiB GOCACHE="$work/cache-$i" \
    /usr/bin/time -o "$work/time-$i" -f '%e %U %S %M' go build -trimpath -ldflags "-s -w" -o "$work/bin-$i" "$pkg")
  read -r wall user sys rss <"$work/time-$i"
  LC_ALL=C printf '| GOGC=%s | %.0f s | %.0f s | %.0f s | %d MiB |\n' "$g" "$wall" "$user" "$sys" "$((rss / 1024))"
  rm -rf "$work/cache-$i"
done
for i in "${!gogcs[@]}"; do
  cmp -s "$work/bin-0" "$work/bin-$i" || die "the binaries of GOGC=${gogcs[0]} and GOGC=${gogcs[$i]} differ"
done
echo "binaries identical: yes"
