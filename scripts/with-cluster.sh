#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Runs a command with the toolchain on PATH and the local cluster up:
#   scripts/with-cluster.sh <command> [args...]
# Builds or reuses the toolchain (scripts/env.sh), starts the local control plane unless it already runs, runs
# the command with KUBECONFIG, KUBECTL and ISTIO_CHARTS_DIR set, and stops the cluster afterwards only if it
# started it. Exits with the command's status.
set -euo pipefail
LOG_TAG=with-cluster
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cd "$LIB_DIR/.."
eval "$(scripts/env.sh)"
state="${CLUSTER_STATE_DIR:-$ISTIO_CANARY_CACHE/cluster-state}"
started=0
if ! KUBECONFIG="$state/kubeconfig" kubectl get --raw /readyz >/dev/null 2>&1; then
  started=1
fi
# Tells the command that the cluster goes away with everything on it when it ends (the demo skips its destroy).
export WITH_CLUSTER_STOPS_CLUSTER="$started"
eval "$(scripts/cluster/up.sh)"
stop() {
  if [[ $started == 1 ]]; then
    log "stopping the cluster it started"
    scripts/cluster/down.sh
  fi
}
on_exit stop
"$@"
