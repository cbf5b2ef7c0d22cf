#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The end-to-end suite against the local cluster (see scripts/with-cluster.sh): scripts/e2e-run.js runs the files
# as tests/e2e/plan.json says (the suite that installs Istio itself first, then the rest in lanes side by side on a
# shared Istio) and prints the time of each phase, file and test at the end.
# The tests that run more than one runner on one stack keep it on a shared S3 backend: SeaweedFS on 127.0.0.1
# (scripts/backend/with-s3.sh sets E2E_S3_BACKEND_URL and its credentials).
# Arguments: test files (default: all of tests/e2e/*.test.ts), then mocha flags.
set -euo pipefail
LOG_TAG=e2e
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cd "$LIB_DIR/.."
export ISTIO_CANARY_TOOLCHAIN="${ISTIO_CANARY_TOOLCHAIN:-e2e}" # istioctl and the YAML language host too
exec scripts/with-cluster.sh scripts/backend/with-s3.sh node scripts/e2e-run.js "$@"
