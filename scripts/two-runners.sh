#!/usr/bin/env bash
# The race of e2e 12 ("two runners started together from two fresh clones ..."), ROUNDS times in a row (default 10)
# in one run, on the local cluster and the SeaweedFS S3 backend, set up as `npm run test:e2e` sets them up:
#   npm run test:two-runners            # ROUNDS=3 npm run test:two-runners
# Prints how long the rounds took; exits with the suite's status.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
rounds="${ROUNDS:-10}"
if ! [[ $rounds =~ ^[1-9][0-9]{0,2}$ ]]; then
  echo "ROUNDS must be a whole number from 1 to 999; got \"$rounds\"" >&2
  exit 2
fi
t0="$(date +%s)"
E2E_TWO_RUNNERS_ROUNDS="$rounds" scripts/e2e.sh tests/e2e/12-runners.test.ts --grep "two runners started together"
rc=$?
echo "two runners started together: $rounds rounds, exit $rc, $(($(date +%s) - t0)) s in all (cluster and set-up included)"
exit "$rc"
