#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds (first run) or reuses the toolchain and prints `export` lines for it:
#   eval "$(scripts/env.sh [demo|e2e|all])"
# Profiles (default: $ISTIO_CANARY_TOOLCHAIN, else demo), each building only what it needs:
#   demo  the Pulumi CLI and its Node.js language host, the Kubernetes provider, the local control plane (etcd,
#         kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok), Istio's charts, istiod and
#         Debian's Prometheus: what `npm run demo`, the dev stack by hand and `npm run bench:shift` use
#   e2e   demo + istioctl (`istioctl analyze` after every change) + Pulumi YAML's language host (tests/e2e/07)
#         + metrics-server (the resource metrics API for the HPAs of tests/e2e/11; scripts/cluster/metrics.sh)
#         + SeaweedFS (the S3 state backend of the multi-runner tests; scripts/backend/seaweedfs.sh)
#         + the Gateway API's standard CRDs (GATEWAY_API_CRDS_DIR: the gateway-api routing mode's e2e)
#   all   e2e + the helm CLI (debugging and rendering only)
# Two streams build side by side (the Pulumi tools; the cluster's), each component after the one before it in its
# stream. The terminal gets one line per component built (what, how long its last build took, the elapsed time)
# and one at the end; each component's detail, Go's output included, goes to
# ~/.cache/istio-canary/logs/<component>.log (TOOLCHAIN_VERBOSE=1 shows it all). PATH gets the Pulumi CLI, its
# language hosts and kubectl; KUBECTL, ISTIO_CHARTS_DIR (and ISTIOCTL with e2e) are set. The local cluster is
# separate: scripts/cluster/up.sh.
set -euo pipefail
LOG_TAG="env"
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
profile="${1:-${ISTIO_CANARY_TOOLCHAIN:-demo}}"
case "$profile" in
  demo | e2e | all) ;;
  *) die "unknown toolchain profile \"$profile\"; use demo, e2e or all" ;;
esac
export ISTIO_CANARY_TOOLCHAIN="$profile"
t="$(now)"
# Two streams side by side: a Go build keeps both cores busy only while it compiles, not while it resolves and
# downloads modules, links or extracts charts, so the other stream's work fills those gaps. The streams share
# nothing but Go's module and build caches (safe for concurrent builds). Each part's stdout (its export lines)
# goes to a file of its own and is printed below in a fixed order.
out="$(mktemp -d)"
cleanup_add "$out"
part() {
  local name=$1
  shift
  toolchain_part "$name" "$@" >"$out/$name"
}
pulumi_stream() {
  part pulumi "$LIB_DIR/toolchain/pulumi.sh"
  if [[ $profile != demo ]]; then
    part pulumi-yaml "$LIB_DIR/toolchain/pulumi-yaml.sh"
    part seaweedfs "$LIB_DIR/toolchain/seaweedfs.sh"
  fi
}
cluster_stream() {
  KUBE_TOOLCHAIN_HELM="$([[ $profile == all ]] && echo 1 || echo 0)" part kube "$LIB_DIR/toolchain/kube.sh"
  part istio-charts "$LIB_DIR/toolchain/istio.sh"
  # shellcheck disable=SC2046 # one word or none.
  part istiod "$LIB_DIR/toolchain/istiod.sh" $([[ $profile != demo ]] && echo istioctl)
  if [[ $profile != demo ]]; then
    part metrics-server "$LIB_DIR/toolchain/metrics-server.sh"
    part gateway-api "$LIB_DIR/toolchain/gateway-api.sh"
  fi
}
((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 501)) ||
  die "scripts/env.sh needs bash 5.1 or newer (wait -n -p); this is bash $BASH_VERSION"
# Debian's Prometheus first, in the foreground: apt-get may have sudo ask for a password on the terminal, and a
# stream stopped because the other failed must not interrupt dpkg.
part prometheus "$LIB_DIR/toolchain/prometheus.sh"
# Each stream in a process group of its own (job control), so that when one fails the other is stopped at once,
# its Go builds with it, instead of building on for half an hour before the failure is reported. Their input is
# /dev/null (a background group that read the terminal would stop). Whatever ends this script (a failure, Ctrl-C,
# a closed terminal, a CI runner's timeout) stops both.
declare -A streams=()
stop_streams() {
  local pid
  for pid in "${!streams[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
}
on_exit stop_streams
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
set -m
pulumi_stream </dev/null &
streams[$!]="the Pulumi stream (CLI, language hosts, provider, Pulumi YAML, SeaweedFS)"
cluster_stream </dev/null &
streams[$!]="the cluster stream (Kubernetes, kwok, etcd, Istio, metrics-server)"
set +m
failed=""
while ((${#streams[@]} > 0)); do
  ended=""
  if wait -n -p ended "${!streams[@]}"; then
    unset "streams[$ended]"
    continue
  fi
  [[ -n $ended && -v "streams[$ended]" ]] || die "wait -n named no stream (bash $BASH_VERSION)"
  failed="${streams[$ended]}"
  unset "streams[$ended]"
  for pid in "${!streams[@]}"; do
    progress "stopping ${streams[$pid]}: $failed failed"
  done
  stop_streams
  wait || true
  streams=()
  break
done
[[ -z $failed ]] || die "toolchain build failed in $failed; see the lines above"
for name in pulumi kube istio-charts istiod prometheus gateway-api; do
  [[ ! -f $out/$name ]] || cat "$out/$name"
done
kube="$(cat "$out/kube")"
eval "$kube"
# shellcheck disable=SC2016 # $PATH is for the caller's shell to expand.
printf 'export PATH=%q:"$PATH"\n' "$(dirname "$KUBECTL")"
progress "toolchain ($profile) ready in $(minutes "$(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%d", b - a }')")"
