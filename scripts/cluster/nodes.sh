# shellcheck shell=bash
# Sourced by up.sh (not executed): fake nodes, then a smoke-test Deployment that must become Available. Uses up.sh's variables and helpers.
# ------------------------------------------------------------------ fake nodes
{
  for i in $(seq 0 $((NODES - 1))); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
$(metrics_node_annotation "kwok-node-$i")
  labels:
    type: kwok
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: kwok-node-$i
    node-role.kubernetes.io/agent: ""
    topology.kubernetes.io/region: local
    topology.kubernetes.io/zone: local-$((i % 3))
status:
  allocatable:
    cpu: "${CLUSTER_NODE_CPU:-32}"
    memory: ${CLUSTER_NODE_MEMORY:-256Gi}
    pods: "${CLUSTER_NODE_PODS:-110}"
    ephemeral-storage: 1Ti
  capacity:
    cpu: "${CLUSTER_NODE_CPU:-32}"
    memory: ${CLUSTER_NODE_MEMORY:-256Gi}
    pods: "${CLUSTER_NODE_PODS:-110}"
    ephemeral-storage: 1Ti
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
    kubeletVersion: v$KUBERNETES_VERSION
    kubeProxyVersion: v$KUBERNETES_VERSION
EOF
  done
} >"$S/nodes.yaml"
kc apply -f "$S/nodes.yaml" >&2
wait_for "$NODES fake nodes Ready" 60 kwok \
  kc wait --for=condition=Ready node -l type=kwok --timeout=2s

# ------------------------------------------------------------------ smoke test
NS=istio-canary-smoke
kc create namespace "$NS" >&2
wait_for "default ServiceAccount in $NS" 30 kube-controller-manager kc -n "$NS" get serviceaccount default
kc -n "$NS" apply -f - >&2 <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: smoke
spec:
  replicas: 2
  selector:
    matchLabels: {app: smoke}
  template:
    metadata:
      labels: {app: smoke}
    spec:
      containers:
      - name: pause
        image: registry.k8s.io/pause:3.10
        resources:
          requests: {cpu: 100m, memory: 64Mi}
EOF
wait_for "test Deployment Available" 60 kube-scheduler \
  kc -n "$NS" wait --for=condition=Available deployment/smoke --timeout=2s
kc delete namespace "$NS" --wait=false >&2

