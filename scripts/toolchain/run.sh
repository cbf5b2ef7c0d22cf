#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Runs one toolchain script the quiet way (toolchain_part of scripts/lib.sh): its detail, Go's output included, in
# ~/.cache/istio-canary/logs/NAME.log, its progress lines and stdout (export lines) through.
#   scripts/toolchain/run.sh NAME SCRIPT [ARGS...]
set -euo pipefail
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"
toolchain_part "$@"
