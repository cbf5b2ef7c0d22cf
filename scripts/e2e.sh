#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The end-to-end suite against the local cluster (see scripts/with-cluster.sh).
# Arguments: test files (default: all of tests/e2e/*.test.ts, in name order), then mocha flags.
set -euo pipefail
LOG_TAG=e2e
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cd "$LIB_DIR/.."
if [[ $# == 0 || $1 == -* ]]; then set -- tests/e2e/*.test.ts "$@"; fi
export MOCHA_TIMING_TABLE="${MOCHA_TIMING_TABLE:-1}"
exec scripts/with-cluster.sh npx mocha --config .mocharc.e2e.json "$@"
