#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Runs a command with the shared S3 state backend up (scripts/backend/seaweedfs.sh):
#   scripts/backend/with-s3.sh <command> [args...]
# E2E_S3_BACKEND_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set for the command; SeaweedFS is stopped
# afterwards (only when this script started it). Exits with the command's status.
set -euo pipefail
LOG_TAG=with-s3
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"
state="${S3_STATE_DIR:-${CLUSTER_STATE_DIR:-$ISTIO_CANARY_CACHE/cluster-state}-s3}"
started=1
if [[ -f $state/up.done && -f $state/weed.pid ]] && kill -0 "$(<"$state/weed.pid")" 2>/dev/null; then started=0; fi
exports="$("$LIB_DIR/backend/seaweedfs.sh" up)"
eval "$exports"
stop() {
  if [[ $started == 1 ]]; then
    "$LIB_DIR/backend/seaweedfs.sh" down
  fi
}
on_exit stop
"$@"
