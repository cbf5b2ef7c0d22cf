#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Go's garbage collector in a toolchain build: builds one component from its cached wrapper module, from an empty
# build cache of its own, once at each GOGC given (one after the other, each with GOMEMLIMIT 4GiB as
# scripts/lib.sh toolchain_part sets it), and prints each build's wall time, user and system CPU and peak memory;
# then checks the binaries are identical (GOGC changes when the compiler collects its memory, not what it emits).
#   npm run bench:toolchain-gc [-- COMPONENT [GOGC...]]     COMPONENT: etcd (default), kwok, metrics-server
# Needs the toolchain built (scripts/env.sh e2e) for the wrapper modules and Go's module cache. Run it on an idle
# machine: CPU time is what it compares, and other work on the cores inflates it.
set -euo pipefail
LOG_TAG=bench/toolchain-gc
# shellcheck source=../scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../scripts/lib.sh"
require_cmd go /usr/bin/time

component="${1:-etcd}"
shift || true
gogcs=("${@:-100 400}")
read -r -a gogcs <<<"${gogcs[*]}"
case "$component" in
  etcd) src="$ISTIO_CANARY_CACHE/etcd/$ETCD_VERSION/src" pkg="go.etcd.io/etcd/server/v3" ;;
  kwok) src="$ISTIO_CANARY_CACHE/kwok/$KWOK_VERSION/src" pkg="sigs.k8s.io/kwok/cmd/kwok" ;;
  metrics-server) src="$(echo "$ISTIO_CANARY_CACHE"/metrics-server/*/src)" pkg="sigs.k8s.io/metrics-server/cmd/metrics-server" ;;
  *) die "unknown component \"$component\"; use etcd, kwok or metrics-server" ;;
esac
[[ -f $src/go.mod ]] || die "no wrapper module in $src: build the toolchain first (scripts/env.sh e2e)"

work="$(mktemp -d)"
cleanup_add "$work"
printf '| %s build, empty build cache | wall | user CPU | system CPU | peak memory |\n| --- | ---: | ---: | ---: | ---: |\n' "$component"
for g in "${gogcs[@]}"; do
  (cd "$src" && env GOGC="$g" GOMEMLIMIT=4GiB GOCACHE="$work/cache-$g" CGO_ENABLED=0 GOFLAGS=-mod=mod \
    /usr/bin/time -o "$work/time-$g" -f '%e %U %S %M' go build -trimpath -ldflags "-s -w" -o "$work/bin-$g" "$pkg")
  read -r wall user sys rss <"$work/time-$g"
  printf '| GOGC=%s | %.0f s | %.0f s | %.0f s | %.0f MiB |\n' "$g" "$wall" "$user" "$sys" "$((rss / 1024))"
  rm -rf "$work/cache-$g"
done
first="$work/bin-${gogcs[0]}"
for g in "${gogcs[@]:1}"; do
  cmp -s "$first" "$work/bin-$g" || die "the binaries of GOGC=${gogcs[0]} and GOGC=$g differ"
done
echo "binaries identical: yes"
