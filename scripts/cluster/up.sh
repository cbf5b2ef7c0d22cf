#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Starts a local Kubernetes control plane on 127.0.0.1 with kwok fake nodes and Istio's control plane:
#   etcd -> kube-apiserver -> kube-controller-manager, kube-scheduler, kwok -> istiod (pilot-discovery)
# then creates fake Nodes, checks that a Deployment becomes Available, that istiod is ready and that its
# validation webhook answers on https://localhost:15017/validate.
#
# Network: every process runs in a network namespace of its own that has only `lo` (see CLUSTER_NETNS in lib.sh),
# so nothing in it can reach a Service or pod IP: the API server calls admission webhooks (MutatingAdmissionWebhook
# for sidecar injection and ValidatingAdmissionWebhook are on; kwok runs no containers, so no Envoy runs) only on
# loopback URLs, and scripts/cluster/guard.sh fails when a webhook configuration, APIService or Endpoint names
# anything else. The host reaches the API server through a bridge on 127.0.0.1:<api port> and istiod through Unix
# sockets in $CLUSTER_STATE_DIR/sock (xds.sock: its plaintext xDS port; http.sock: /ready, /debug/...).
# istiod's CA is plugged in (Istio's "plug in CA certificates"): a root made here, in $CLUSTER_STATE_DIR/istio-ca.
#
# State (certs, kubeconfigs, etcd data, logs, pids) lives in
#   CLUSTER_STATE_DIR (default $ISTIO_CANARY_CACHE/cluster-state)
# Ports default to 22379/22380 (etcd), 26443 (apiserver), 20257 (kcm), 20259
# (scheduler); a port in use is replaced by the next free one. Override with
# CLUSTER_ETCD_PORT, CLUSTER_API_PORT, CLUSTER_KCM_PORT, CLUSTER_SCHED_PORT.
# CLUSTER_NODES (default 3) fake nodes of CLUSTER_NODE_CPU (32) cpu,
# CLUSTER_NODE_MEMORY (256Gi), CLUSTER_NODE_PODS (110) pods.
# CLUSTER_METRICS=1 (the default with the e2e and all toolchains) adds the resource metrics API: metrics-server fed
# by kwok (scripts/cluster/metrics.sh; ports CLUSTER_KWOK_PORT 20250, CLUSTER_METRICS_PORT 24443).
#
# stdout: only `export NAME=value` lines:  eval "$(scripts/cluster/up.sh)"
# stderr: progress. Running it again while the cluster is up just re-prints them.
# Stop with scripts/cluster/down.sh.
set -euo pipefail

# shellcheck disable=SC2034 # used by lib.sh
CLUSTER_LOG_TAG=up.sh
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

T0=$SECONDS
S="$CLUSTER_STATE_DIR"

for tool in openssl curl base64 ss flock; do
  command -v "$tool" >/dev/null || cdie "$tool is required (Debian: apt-get install openssl curl coreutils iproute2 util-linux)"
done
if [[ "$CLUSTER_NETNS" == 1 ]]; then
  [[ $(id -u) == 0 ]] || cdie "the cluster's network namespace needs root (ip netns); run as root or set CLUSTER_NETNS=0"
  command -v ip >/dev/null || cdie "ip is required for the cluster's network namespace (Debian: apt-get install iproute2)"
fi

# ------------------------------------------------------------------ toolchain
t=$SECONDS
# Built already when scripts/env.sh ran first (with-cluster.sh, the e2e suite); each part's detail is in
# ~/.cache/istio-canary/logs/<part>.log. ISTIOCTL is set when istioctl is built (the e2e toolchain).
tc="$CLUSTER_DIR/../toolchain"
eval "$("$tc/run.sh" kube "$tc/kube.sh")"
eval "$("$tc/run.sh" istio-charts "$tc/istio.sh")"
eval "$("$tc/run.sh" istiod "$tc/istiod.sh")"
case "${ISTIO_CANARY_TOOLCHAIN:-demo}" in e2e | all) CLUSTER_METRICS="${CLUSTER_METRICS:-1}" ;; esac
CLUSTER_METRICS="${CLUSTER_METRICS:-0}"
if [[ $CLUSTER_METRICS == 1 ]]; then eval "$("$tc/run.sh" metrics-server "$tc/metrics-server.sh")"; fi
BRIDGE_BIN="$(cluster_bridge_bin)"
clog "toolchain ready ($((SECONDS - t))s)"
APISERVER_BIN="$KUBE_BIN_DIR/kube-apiserver"
KCM_BIN="$KUBE_BIN_DIR/kube-controller-manager"
SCHED_BIN="$KUBE_BIN_DIR/kube-scheduler"

print_exports() {
  local q
  printf 'export KUBECONFIG=%q\n' "$S/kubeconfig"
  printf 'export CLUSTER_STATE_DIR=%q\n' "$S"
  for q in KUBECTL KUBE_BIN_DIR ETCD_BIN KWOK_BIN HELM_BIN KUBE_TOOLCHAIN_PATH ISTIO_CHARTS_DIR ISTIO_API_CRDS \
    ISTIOD_BIN ISTIOCTL BRIDGE_BIN; do
    [[ -n "${!q:-}" ]] && printf 'export %s=%q\n' "$q" "${!q}"
  done
  # The local istiod: its xDS and HTTP ports as Unix sockets, its log, its CA (root certificate and signing key).
  printf 'export ISTIOD_XDS_SOCKET=%q\n' "$S/sock/xds.sock"
  printf 'export ISTIOD_HTTP_SOCKET=%q\n' "$S/sock/http.sock"
  printf 'export ISTIOD_LOG=%q\n' "$S/logs/istiod.log"
  printf 'export ISTIOD_WEBHOOK_URL=%q\n' "$ISTIOD_WEBHOOK_URL"
  printf 'export ISTIO_CA_DIR=%q\n' "$S/istio-ca"
  printf 'export ISTIO_CA_BUNDLE=%q\n' "$(base64 -w0 <"$S/istio-ca/root-cert.pem")"
  printf 'export CLUSTER_NETNS_NAME=%q\n' "$([[ "$CLUSTER_NETNS" == 1 ]] && cluster_netns_name)"
  return 0
}

kc() { "$KUBECTL" --kubeconfig "$S/kubeconfig" "$@"; }

# api_ready: through the host's bridge (what kubectl and Pulumi use); api_ready_ns: inside the namespace.
api_ready_ns() {
  in_ns curl -fsS --max-time 2 --cacert "$S/pki/ca.crt" --cert "$S/pki/admin.crt" --key "$S/pki/admin.key" \
    "https://127.0.0.1:$(<"$S/ports/api")/readyz" >/dev/null 2>&1
}
api_ready() {
  curl -fsS --max-time 2 --cacert "$S/pki/ca.crt" --cert "$S/pki/admin.crt" --key "$S/pki/admin.key" \
    "https://127.0.0.1:$(<"$S/ports/api")/readyz" >/dev/null 2>&1
}

NODES="${CLUSTER_NODES:-3}"
[[ "$NODES" =~ ^[1-9][0-9]*$ ]] || cdie "CLUSTER_NODES must be a positive number"

cluster_lock

# ------------------------------------------------------------------ already up?
if [[ -f "$S/$CLUSTER_MARKER" ]]; then
  all=1
  for c in "${CLUSTER_COMPONENTS[@]}"; do pid_matches "$c" || { all=0; break; }; done
  if ((all)) && [[ -f "$S/up.done" ]] && api_ready; then
    clog "cluster already running (state $S)"
    KUBECONFIG="$S/kubeconfig" "$CLUSTER_DIR/guard.sh" >&2 || cdie "the loopback guard failed (see above)"
    print_exports
    exit 0
  fi
  clog "found a stale or incomplete cluster in $S; cleaning it up first"
  "$CLUSTER_DIR/down.sh" >&2
elif [[ -e "$S" ]] && [[ -n "$(ls -A "$S" 2>/dev/null)" ]]; then
  cdie "$S exists, is not empty and was not made by up.sh; remove it or set CLUSTER_STATE_DIR"
fi

mkdir -p "$S"
touch "$S/$CLUSTER_MARKER"
mkdir -p "$S/pki" "$S/pids" "$S/logs" "$S/ports" "$S/etcd" "$S/kwok-home" "$S/sock" "$S/istiod" "$S/istio-ca"
chmod 700 "$S" "$S/pki" "$S/etcd"

# On failure: show the logs, stop what was started, keep the state dir for inspection.
finished=0
on_exit() {
  local rc=$?
  if ((finished == 0)); then
    clog "FAILED (exit $rc); last lines of each log in $S/logs:"
    local f
    for f in "$S"/logs/*.log; do
      [[ -f "$f" ]] || continue
      printf -- '----- %s\n' "$f" >&2
      tail -n 15 "$f" >&2
    done
    CLUSTER_KEEP_STATE=1 "$CLUSTER_DIR/down.sh" >&2 || true
    clog "state kept in $S (down.sh removes it)"
  fi
}
trap on_exit EXIT

# ------------------------------------------------------------------ ports
declare -A TAKEN=()
port_free() {
  local p=$1
  [[ -z "${TAKEN[$p]:-}" ]] || return 1
  [[ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]]
}
# pick_port VAR PREFERRED : set VAR to PREFERRED or the next free port above it.
pick_port() {
  local var=$1 p=$2 n=0
  until port_free "$p"; do
    p=$((p + 1)); n=$((n + 1))
    ((n < 200)) || cdie "no free port near $2"
  done
  TAKEN[$p]=1
  printf -v "$var" '%s' "$p"
}
pick_port ETCD_PORT "${CLUSTER_ETCD_PORT:-22379}"
pick_port ETCD_PEER_PORT $((ETCD_PORT + 1))
pick_port API_PORT "${CLUSTER_API_PORT:-26443}"
pick_port KCM_PORT "${CLUSTER_KCM_PORT:-20257}"
pick_port SCHED_PORT "${CLUSTER_SCHED_PORT:-20259}"
for n in etcd:$ETCD_PORT etcd-peer:$ETCD_PEER_PORT api:$API_PORT kcm:$KCM_PORT sched:$SCHED_PORT; do
  echo "${n#*:}" >"$S/ports/${n%%:*}"
done
clog "ports: etcd $ETCD_PORT/$ETCD_PEER_PORT, apiserver $API_PORT, controller-manager $KCM_PORT, scheduler $SCHED_PORT"

SERVICE_CIDR="${CLUSTER_SERVICE_CIDR:-10.96.0.0/16}"
SERVICE_API_IP="${CLUSTER_SERVICE_API_IP:-10.96.0.1}"
POD_CIDR="${CLUSTER_POD_CIDR:-10.244.0.0/16}"

# shellcheck source=pki.sh
source "$CLUSTER_DIR/pki.sh"
# shellcheck source=metrics.sh
source "$CLUSTER_DIR/metrics.sh"

# ------------------------------------------------------------------ processes
# [UNSET_PREFIX=P] [START_DIR=D] [IN_HOST_NS=1] start NAME BINARY ARGS... : start detached (own session, stdio to
# $S/logs/NAME.log, working directory D), in the cluster's network namespace unless IN_HOST_NS=1, without the
# environment variables whose names start with P.
start() {
  local name=$1 bin=$2
  shift 2
  local -a ns=()
  if [[ "$CLUSTER_NETNS" == 1 && "${IN_HOST_NS:-0}" != 1 ]]; then ns=(ip netns exec "$NETNS"); fi
  (
    # Do not let the component inherit the up.sh/down.sh lock.
    [[ -z "${CLUSTER_LOCK_FD:-}" ]] || exec {CLUSTER_LOCK_FD}>&-
    if [[ -n "${UNSET_PREFIX:-}" ]]; then
      for v in $(compgen -e); do [[ "$v" != "$UNSET_PREFIX"* ]] || unset "$v"; done
    fi
    [[ -z "${START_DIR:-}" ]] || cd "$START_DIR"
    # Neither `ip netns exec` nor setsid forks here (a background subshell is not a group leader), so the pid
    # recorded below is the component's own.
    exec "${ns[@]}" setsid "$bin" "$@" </dev/null >"$S/logs/$name.log" 2>&1
  ) &
  local pid=$!
  echo "$bin" >"$S/pids/$name.bin"
  echo "$pid" >"$S/pids/$name.pid.tmp"
  mv "$S/pids/$name.pid.tmp" "$S/pids/$name.pid"
  clog "started $name (pid $pid, log $S/logs/$name.log)"
}

# wait_for WHAT TIMEOUT_S COMPONENT CMD... : poll CMD until it succeeds; fail early if COMPONENT died.
wait_for() {
  local what=$1 timeout=$2 comp=$3
  shift 3
  local t0=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if [[ -n "$comp" ]] && ! pid_matches "$comp"; then
      cdie "$comp exited while waiting for $what (see $S/logs/$comp.log)"
    fi
    ((SECONDS - t0 < timeout)) || cdie "timed out after ${timeout}s waiting for $what${comp:+ (see $S/logs/$comp.log)}"
    sleep 0.2
  done
  clog "$what ($((SECONDS - t0))s)"
}

# ------------------------------------------------------------------ network namespace
NETNS=""
if [[ "$CLUSTER_NETNS" == 1 ]]; then
  NETNS="$(cluster_netns_name)"
  if ip netns list | grep -qw "$NETNS"; then
    clog "removing a stale network namespace $NETNS"
    ip netns del "$NETNS" || cdie "could not remove the stale network namespace $NETNS"
  fi
  ip netns add "$NETNS" || cdie "ip netns add $NETNS failed (root and iproute2 needed; or set CLUSTER_NETNS=0)"
  echo "$NETNS" >"$S/netns"
  ip -n "$NETNS" link set lo up
  links="$(ip -n "$NETNS" -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')"
  [[ "$links" == "lo " ]] || cdie "network namespace $NETNS has links other than lo: $links"
  in_ns ip route get 10.96.0.1 >/dev/null 2>&1 && cdie "network namespace $NETNS has a route to 10.96.0.1"
  clog "network namespace $NETNS: only lo, no route off the machine"
fi

t=$SECONDS
# etcd reads every ETCD_* environment variable as a flag (versions.sh exports
# ETCD_VERSION, kube.sh ETCD_BIN): start it without any of them.
UNSET_PREFIX=ETCD_ start etcd "$ETCD_BIN" \
  --name=istio-canary \
  --data-dir="$S/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="istio-canary=http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster-state=new \
  --unsafe-no-fsync=true \
  --quota-backend-bytes=$((2 * 1024 * 1024 * 1024)) \
  --log-level=warn
etcd_ok() { in_ns curl -fsS --max-time 1 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
wait_for "etcd healthy" 30 etcd etcd_ok

# MutatingAdmissionWebhook and ValidatingAdmissionWebhook are on: the API server calls istiod's sidecar injector
# (https://localhost:15017/inject) and its validation webhook (https://localhost:15017/validate), both served by the
# local istiod started below; the charts' webhook configurations name those URLs (istiodRemote.injectionURL,
# base.validationURL; see Pulumi.dev.yaml). Injection happens at admission, as on a real cluster: a pod of an
# injection-labelled namespace is stored with istio-proxy (and istio-validation with Istio CNI, istio-init without),
# then Pod Security admission judges it. kwok runs no containers, so no Envoy runs. The injector's webhooks select
# only labelled namespaces and pods (istio-injection=enabled, istio.io/rev, sidecar.istio.io/inject=true): pods
# elsewhere never call it. CRD OpenAPI schemas, CEL rules and ValidatingAdmissionPolicies are enforced as well.
start kube-apiserver "$APISERVER_BIN" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --secure-port="$API_PORT" \
  --tls-cert-file="$P/apiserver.crt" \
  --tls-private-key-file="$P/apiserver.key" \
  --client-ca-file="$P/ca.crt" \
  --requestheader-client-ca-file="$P/front-proxy-ca.crt" \
  --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User \
  --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$P/front-proxy-client.crt" \
  --proxy-client-key-file="$P/front-proxy-client.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$P/sa.pub" \
  --service-account-signing-key-file="$P/sa.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --authorization-mode=RBAC \
  --enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook \
  --allow-privileged=true \
  --endpoint-reconciler-type=none \
  --profiling=false \
  --v=0
wait_for "kube-apiserver /readyz ok" 90 kube-apiserver api_ready_ns

# Bridges: the API server's port from the host (kubectl, Pulumi, tests), istiod's xDS and HTTP ports as Unix sockets.
if [[ "$CLUSTER_NETNS" == 1 ]]; then
  start bridge-ns "$BRIDGE_BIN" \
    "unix:$S/sock/api.sock=tcp:127.0.0.1:$API_PORT" \
    "unix:$S/sock/xds.sock=tcp:$ISTIOD_XDS_ADDR" \
    "unix:$S/sock/http.sock=tcp:$ISTIOD_HTTP_ADDR"
  wait_for "bridge-ns listening" 20 bridge-ns test -S "$S/sock/http.sock"
  IN_HOST_NS=1 start bridge-host "$BRIDGE_BIN" "tcp:127.0.0.1:$API_PORT=unix:$S/sock/api.sock"
else
  start bridge-ns "$BRIDGE_BIN" \
    "unix:$S/sock/xds.sock=tcp:$ISTIOD_XDS_ADDR" \
    "unix:$S/sock/http.sock=tcp:$ISTIOD_HTTP_ADDR"
  wait_for "bridge-ns listening" 20 bridge-ns test -S "$S/sock/http.sock"
  # No bridge needed: the API server listens on the host's loopback. A stand-in keeps the component list uniform.
  start bridge-host "$BRIDGE_BIN" "unix:$S/sock/unused.sock=tcp:127.0.0.1:$API_PORT"
fi
wait_for "kube-apiserver /readyz ok from the host" 20 bridge-host api_ready

start kube-controller-manager "$KCM_BIN" \
  --kubeconfig="$S/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig="$S/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig="$S/kube-controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$KCM_PORT" \
  --leader-elect=false \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$P/sa.key" \
  --root-ca-file="$P/ca.crt" \
  --cluster-signing-cert-file="$P/ca.crt" \
  --cluster-signing-key-file="$P/ca.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --controllers='*' \
  --horizontal-pod-autoscaler-sync-period=5s \
  --profiling=false \
  --v=0

start kube-scheduler "$SCHED_BIN" \
  --kubeconfig="$S/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="$S/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="$S/kube-scheduler.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$SCHED_PORT" \
  --leader-elect=false \
  --profiling=false \
  --v=0

# kwok stages: kwokctl's default "fast" set, read at run time from the kwok module
# (kustomize/stage/fast -> node/fast, node/heartbeat-with-lease, pod/fast).
kwok_mod="$(cd / && go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')"
[[ -d "$kwok_mod/kustomize/stage" ]] || cdie "kwok module not found (go mod download sigs.k8s.io/kwok@v$KWOK_VERSION)"
kustomize_resources() { sed -nE 's/^- ([^[:space:]]+)[[:space:]]*$/\1/p' "$1/kustomization.yaml"; }
: >"$S/kwok.yaml.tmp"
for d in $(kustomize_resources "$kwok_mod/kustomize/stage/fast"); do
  sd="$kwok_mod/kustomize/stage/fast/$d"
  for f in $(kustomize_resources "$sd"); do
    { echo "---"; echo "# from sigs.k8s.io/kwok@v$KWOK_VERSION kustomize/stage/${d#../}/$f"; cat "$sd/$f"; } >>"$S/kwok.yaml.tmp"
  done
done
mv "$S/kwok.yaml.tmp" "$S/kwok.yaml"
if [[ $CLUSTER_METRICS == 1 ]]; then metrics_kwok_config; fi
stages="$(sed -nE 's/^  name: (.*)/\1/p' "$S/kwok.yaml" | tr '\n' ' ')"
for want in node-initialize pod-ready pod-complete pod-delete; do
  [[ " $stages " == *" $want "* ]] || cdie "kwok stage $want not found in $kwok_mod/kustomize/stage/fast (got: $stages)"
done
clog "kwok stages: $stages"

# HOME points into the state dir so that a user's ~/.kwok/kwok.yaml is not merged in.
HOME="$S/kwok-home" start kwok "$KWOK_BIN" \
  --kubeconfig="$S/kwok.kubeconfig" \
  --config="$S/kwok.yaml" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --cidr="$POD_CIDR" \
  --node-lease-duration-seconds=40 \
  "${METRICS_KWOK_ARGS[@]}"

# shellcheck source=nodes.sh
source "$CLUSTER_DIR/nodes.sh"
# shellcheck source=istiod.sh
source "$CLUSTER_DIR/istiod.sh"
if [[ $CLUSTER_METRICS == 1 ]]; then metrics_start; fi

touch "$S/up.done"
finished=1
clog "cluster up in $((SECONDS - T0))s: $("$KUBECTL" version --kubeconfig "$S/kubeconfig" 2>/dev/null | tr '\n' ' ')"
clog "NOTE: LoadBalancer Services never get an address here (no cloud controller); use ClusterIP."
print_exports
