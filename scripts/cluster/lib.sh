# Shared by scripts/cluster/up.sh and down.sh (sourced, not executed).
# shellcheck shell=bash source-path=SCRIPTDIR
# shellcheck disable=SC2034 # the variables below are used by up.sh and down.sh

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../versions.sh
source "$CLUSTER_DIR/../versions.sh"

CLUSTER_STATE_DIR="${CLUSTER_STATE_DIR:-$ISTIO_CANARY_CACHE/cluster-state}"
# Marker that proves a directory is a state dir made by up.sh (down.sh deletes only those).
CLUSTER_MARKER=".istio-canary-cluster"
# Components in start order; down.sh stops them in reverse.
CLUSTER_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

# cluster_lock : serialize up.sh/down.sh on one state dir (the lock file sits next to it).
# up.sh calls down.sh with CLUSTER_LOCK_HELD=1.
cluster_lock() {
  [[ "${CLUSTER_LOCK_HELD:-0}" == 1 ]] && return 0
  mkdir -p "$(dirname "$CLUSTER_STATE_DIR")"
  exec {CLUSTER_LOCK_FD}>"$CLUSTER_STATE_DIR.lock"
  if ! flock -n "$CLUSTER_LOCK_FD"; then
    clog "waiting for another up.sh/down.sh on $CLUSTER_STATE_DIR"
    flock "$CLUSTER_LOCK_FD"
  fi
  export CLUSTER_LOCK_HELD=1
}

clog() { printf '[%s %s] %s\n' "${CLUSTER_LOG_TAG:-cluster}" "$(date +%H:%M:%S)" "$*" >&2; }
cdie() { clog "ERROR: $*"; exit 1; }

# pid_matches NAME : true when $STATE/pids/NAME.pid names a live process that is
# still the one up.sh started (its cmdline starts with the recorded binary and
# mentions the state dir).
pid_matches() {
  local pidfile="$CLUSTER_STATE_DIR/pids/$1.pid" binfile="$CLUSTER_STATE_DIR/pids/$1.bin"
  [[ -f "$pidfile" && -f "$binfile" ]] || return 1
  local pid bin cmd
  pid="$(<"$pidfile")"
  bin="$(<"$binfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  cmd="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$(head -n1 <<<"$cmd")" == "$bin" ]] || return 1
  [[ "$cmd" == *"$CLUSTER_STATE_DIR"* ]] || return 1
  # A zombie (exited, not yet reaped) counts as gone.
  local stat
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]]
}
