#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Installs Debian's prometheus package if /usr/bin/prometheus is missing (the release bot's end-to-end tests run
# a real Prometheus on 127.0.0.1). Its systemd unit is not started: the tests start their own server.
set -euo pipefail
LOG_TAG=toolchain/prometheus
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"

if [[ -x /usr/bin/prometheus ]]; then
  log "$(/usr/bin/prometheus --version 2>&1 | head -1)"
  exit 0
fi
sudo=""
[[ $(id -u) == 0 ]] || sudo="sudo"
log "installing Debian's prometheus package"
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
log "$(/usr/bin/prometheus --version 2>&1 | head -1)"
