# Shared by scripts/cluster/up.sh and down.sh (sourced, not executed).
# shellcheck shell=bash source-path=SCRIPTDIR
# shellcheck disable=SC2034 # the variables below are used by up.sh and down.sh

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../versions.sh
source "$CLUSTER_DIR/../versions.sh"

CLUSTER_STATE_DIR="${CLUSTER_STATE_DIR:-$ISTIO_CANARY_CACHE/cluster-state}"
# Marker that proves a directory is a state dir made by up.sh (down.sh deletes only those).
CLUSTER_MARKER=".istio-canary-cluster"
# Components in start order; down.sh stops them in reverse. bridge-ns and bridge-host relay the API server and
# istiod between the cluster's network namespace and the host (see up.sh); injector-sync gives istiod the sidecar
# injector's configuration from the istiod chart's ConfigMap (injector-sync.sh).
CLUSTER_COMPONENTS=(etcd kube-apiserver bridge-ns bridge-host kube-controller-manager kube-scheduler kwok injector-sync istiod)

# The control plane runs in a network namespace of its own that has only `lo` (CLUSTER_NETNS=1, the default; needs
# root and `ip netns`): there is no route off the machine in it, so a dial of a Service or pod IP (10.x) fails at once
# instead of leaving the host. Its name is derived from the state dir, so clusters of different state dirs never
# share one. CLUSTER_NETNS=0 runs the processes in the host's namespace (the loopback guard still runs).
CLUSTER_NETNS="${CLUSTER_NETNS:-1}"
cluster_netns_name() { printf 'ic-%s' "$(printf '%s' "$CLUSTER_STATE_DIR" | sha256sum | cut -c1-10)"; }

# in_ns CMD... : run CMD in the cluster's network namespace (or directly, with CLUSTER_NETNS=0).
in_ns() {
  if [[ "$CLUSTER_NETNS" == 1 ]]; then
    ip netns exec "$(cluster_netns_name)" "$@"
  else
    "$@"
  fi
}

# Fixed addresses of the local istiod inside the namespace (with CLUSTER_NETNS=0 they must be free on the host).
ISTIOD_HTTP_ADDR=127.0.0.1:8080
ISTIOD_XDS_ADDR=127.0.0.1:15010
ISTIOD_SECURE_XDS_ADDR=127.0.0.1:15012
ISTIOD_MONITORING_ADDR=127.0.0.1:15014
ISTIOD_WEBHOOK_ADDR=127.0.0.1:15017
# What the charts' webhook configurations name (Pulumi.dev.yaml istioBaseValues/istiodValues, tests/e2e): istiod's
# serving certificate carries "localhost" (ISTIOD_CUSTOM_HOST), and the API server resolves it to loopback.
ISTIOD_WEBHOOK_URL=https://localhost:15017/validate

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

# cluster_bridge_bin : build (once, cached by source hash) and print the path of the TCP/Unix-socket bridge
# (scripts/cluster/bridge, standard library only).
cluster_bridge_bin() {
  local src="$CLUSTER_DIR/bridge" hash dir
  hash="$(cat "$src/go.mod" "$src/main.go" | sha256sum | cut -c1-16)"
  dir="$ISTIO_CANARY_CACHE/bridge/$hash"
  if [[ ! -x "$dir/bridge" ]]; then
    mkdir -p "$dir"
    (
      exec {fd}>"$dir/.lock"
      flock "$fd"
      if [[ ! -x "$dir/bridge" ]]; then
        (cd "$src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local go build -trimpath -ldflags "-s -w" \
          -o "$dir/bridge.tmp.$$" .) >&2 || exit 1
        mv -f "$dir/bridge.tmp.$$" "$dir/bridge"
      fi
    ) || cdie "could not build the bridge ($src)"
  fi
  printf '%s\n' "$dir/bridge"
}
