#!/usr/bin/env bash
# Installs Debian's prometheus package if /usr/bin/prometheus is missing (the release bot's end-to-end tests run
# a real Prometheus on 127.0.0.1). Its systemd unit is not started: the tests start their own server.
set -euo pipefail
if [[ -x /usr/bin/prometheus ]]; then
  echo "[toolchain/prometheus] $(/usr/bin/prometheus --version 2>&1 | head -1)" >&2
  exit 0
fi
sudo=""
[[ $(id -u) == 0 ]] || sudo="sudo"
echo "[toolchain/prometheus] installing Debian's prometheus package" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
/usr/bin/prometheus --version 2>&1 | head -1 >&2
