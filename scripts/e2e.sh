#!/usr/bin/env bash
# The end-to-end suite: builds or reuses the toolchain, starts the local cluster if it is not running (and then
# stops it at the end), and runs mocha on tests/e2e against it. Arguments: test files (default: all of
# tests/e2e/*.test.ts, in name order), then mocha flags.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
eval "$(scripts/env.sh)"
source scripts/versions.sh
state="${CLUSTER_STATE_DIR:-$ISTIO_CANARY_CACHE/cluster-state}"
started=0
if ! KUBECONFIG="$state/kubeconfig" kubectl get --raw /readyz >/dev/null 2>&1; then
  started=1
fi
eval "$(scripts/cluster/up.sh)"
stop() { if [[ $started == 1 ]]; then scripts/cluster/down.sh; fi; }
trap stop EXIT
if [[ $# == 0 || $1 == -* ]]; then set -- tests/e2e/*.test.ts "$@"; fi
npx mocha --config .mocharc.e2e.json "$@"
