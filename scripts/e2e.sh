#!/usr/bin/env bash
# The end-to-end suite against the local cluster (see scripts/with-cluster.sh).
# Arguments: test files (default: all of tests/e2e/*.test.ts, in name order), then mocha flags.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ $# == 0 || $1 == -* ]]; then set -- tests/e2e/*.test.ts "$@"; fi
exec scripts/with-cluster.sh npx mocha --config .mocharc.e2e.json "$@"
