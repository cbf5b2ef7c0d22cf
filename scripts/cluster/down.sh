#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Stops the processes scripts/cluster/up.sh started (only those: each pid from the
# state dir is checked against /proc/<pid>/cmdline first) and removes the state dir.
# Safe to run twice, or when nothing runs.
#   CLUSTER_STATE_DIR   state dir (default $ISTIO_CANARY_CACHE/cluster-state)
#   CLUSTER_KEEP_STATE=1  stop the processes but keep the state dir (logs etc.)
# Prints nothing on stdout.
set -euo pipefail

# shellcheck disable=SC2034 # used by lib.sh
CLUSTER_LOG_TAG=down.sh
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

T0=$SECONDS
S="$CLUSTER_STATE_DIR"

cluster_lock

if [[ ! -e "$S" ]]; then
  clog "nothing to do: $S does not exist"
  exit 0
fi
[[ -f "$S/$CLUSTER_MARKER" ]] || cdie "$S has no $CLUSTER_MARKER marker: not a state dir made by up.sh, leaving it alone"

# stop NAMES... : SIGTERM each matching process, wait up to 15s, then SIGKILL.
stop() {
  local name pid
  local -a names=()
  for name in "$@"; do
    if pid_matches "$name"; then
      pid="$(<"$S/pids/$name.pid")"
      clog "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      names+=("$name")
    elif [[ -f "$S/pids/$name.pid" ]]; then
      clog "$name (pid $(<"$S/pids/$name.pid")) is not running (or the pid is now another process); skipping"
    fi
  done
  local t0=$SECONDS killed=0
  while ((${#names[@]})); do
    local -a still=()
    for name in "${names[@]}"; do
      pid_matches "$name" && still+=("$name")
    done
    names=("${still[@]+"${still[@]}"}")
    ((${#names[@]})) || break
    if ((!killed && SECONDS - t0 >= 15)); then
      for name in "${names[@]}"; do
        pid="$(<"$S/pids/$name.pid")"
        clog "$name (pid $pid) did not exit after 15s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      done
      killed=1
    fi
    ((SECONDS - t0 < 30)) || cdie "${names[*]} still running after SIGKILL"
    sleep 0.1
  done
  for name in "$@"; do rm -f "$S/pids/$name.pid"; done
}

# Clients first, then the API server, then etcd (so that nothing logs errors for
# a vanished dependency while it shuts down).
stop metrics-server istiod injector-sync kwok kube-scheduler kube-controller-manager
stop bridge-host bridge-ns kube-apiserver
stop etcd

# The cluster's network namespace (only when this state dir made it).
if [[ -f "$S/netns" ]]; then
  ns="$(<"$S/netns")"
  if [[ "$ns" == "$(cluster_netns_name)" ]] && ip netns list 2>/dev/null | grep -qw "$ns"; then
    ip netns del "$ns" || cdie "could not delete network namespace $ns"
    clog "deleted network namespace $ns"
  fi
  rm -f "$S/netns"
fi

if [[ "${CLUSTER_KEEP_STATE:-0}" == 1 ]]; then
  rm -f "$S/up.done"
  clog "processes stopped in $((SECONDS - T0))s; state kept in $S"
else
  rm -rf "$S"
  clog "cluster stopped and $S removed in $((SECONDS - T0))s"
fi
