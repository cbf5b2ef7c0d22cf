# shellcheck shell=bash
# Sourced by up.sh (not executed) when CLUSTER_METRICS=1: the resource metrics API (metrics.k8s.io) that
# kube-controller-manager's HPA controller reads, with pod usage the tests control.
#   kwok     serves kubelet-style resource metrics (its Metric "metrics-resource", from the kwok module's
#            kustomize/metrics/resource) on https://127.0.0.1:$KWOK_PORT/metrics/nodes/<node>/metrics/resource,
#            taking each pod's usage from its annotations kwok.x-k8s.io/usage-cpu and usage-memory (its
#            ClusterResourceUsage "usage-from-annotation", kustomize/metrics/usage): what kwokctl's
#            --enable-metrics-server clusters do. The fake nodes' InternalIP is 127.0.0.1, their kubelet port
#            $KWOK_PORT, and the annotation metrics.k8s.io/resource-metrics-path names their path.
#   metrics-server  (scripts/toolchain/metrics-server.sh) on https://127.0.0.1:$METRICS_PORT, scraping the nodes
#            every 10 s; the APIService v1beta1.metrics.k8s.io names Service kube-system/metrics-server, of type
#            ExternalName "localhost": the aggregator dials localhost:$METRICS_PORT, loopback (the guard checks it).
# Uses up.sh's variables and helpers.

# metrics_kwok_config : appends kwok's resource Metric and usage-from-annotation to $S/kwok.yaml.
metrics_kwok_config() {
  local f
  for f in resource/metrics-resource.yaml usage/usage-from-annotation.yaml; do
    [[ -f "$kwok_mod/kustomize/metrics/$f" ]] || cdie "kwok's kustomize/metrics/$f not found in $kwok_mod"
    { echo "---"; echo "# from sigs.k8s.io/kwok@v$KWOK_VERSION kustomize/metrics/$f"; cat "$kwok_mod/kustomize/metrics/$f"; } >>"$S/kwok.yaml"
  done
}

# The kwok flags that make it the fake nodes' kubelet endpoint (TLS with the API server's certificate:
# metrics-server runs with --kubelet-insecure-tls, as under kwokctl).
METRICS_KWOK_ARGS=()
if [[ ${CLUSTER_METRICS:-0} == 1 ]]; then
  pick_port KWOK_PORT "${CLUSTER_KWOK_PORT:-20250}"
  pick_port METRICS_PORT "${CLUSTER_METRICS_PORT:-24443}"
  echo "$KWOK_PORT" >"$S/ports/kwok"
  echo "$METRICS_PORT" >"$S/ports/metrics-server"
  METRICS_KWOK_ARGS=(--node-ip=127.0.0.1 --node-port="$KWOK_PORT" --server-address="127.0.0.1:$KWOK_PORT"
    --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key")
fi

# metrics_node_annotation NODE : the annotation line of a fake node (nothing without CLUSTER_METRICS).
metrics_node_annotation() {
  [[ ${CLUSTER_METRICS:-0} == 1 ]] || return 0
  printf '    metrics.k8s.io/resource-metrics-path: /metrics/nodes/%s/metrics/resource\n' "$1"
}

# metrics_start : metrics-server, its Service and APIService; waits until the API serves node metrics.
metrics_start() {
  mkdir -p "$S/metrics-server"
  start metrics-server "$METRICS_SERVER_BIN" \
    --secure-port="$METRICS_PORT" \
    --bind-address=127.0.0.1 \
    --cert-dir="$S/metrics-server" \
    --kubeconfig="$S/kubeconfig" \
    --authentication-kubeconfig="$S/kubeconfig" \
    --authorization-kubeconfig="$S/kubeconfig" \
    --kubelet-insecure-tls \
    --kubelet-use-node-status-port \
    --kubelet-preferred-address-types=InternalIP \
    --metric-resolution=10s \
    --kubelet-request-timeout=5s \
    --v=0
  kc apply -f - >&2 <<YAML
apiVersion: v1
kind: Service
metadata:
  name: metrics-server
  namespace: kube-system
spec:
  type: ExternalName
  externalName: localhost
  ports:
  - name: https
    port: $METRICS_PORT
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.metrics.k8s.io
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service:
    namespace: kube-system
    name: metrics-server
    port: $METRICS_PORT
YAML
  # The API answers once the aggregator reaches metrics-server; node and pod metrics follow its second scrape.
  wait_for "metrics.k8s.io served (APIService Available)" 60 metrics-server \
    kc wait --for=condition=Available apiservice/v1beta1.metrics.k8s.io --timeout=2s
}
