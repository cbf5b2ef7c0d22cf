# Pinned versions of everything built from Go modules, and where the builds are cached.
# shellcheck shell=bash
# Sourced by the toolchain and cluster scripts; nothing here is committed output.
export PULUMI_VERSION=3.248.0
# Pulumi YAML's language host (pulumi-language-yaml). 1.25.0 is the newest the Go module proxy serves; it is built
# against the pkg/sdk v3 it requires (3.206.0): its code does not compile against 3.248.0's API.
export PULUMI_YAML_VERSION=1.25.0
export PULUMI_K8S_PROVIDER_VERSION=4.25.0
# The only provider/v4 pseudo-version the Go module proxy serves; its commit is the one tagged sdk/v4 v4.25.0 builds on.
export PULUMI_K8S_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
export KUBERNETES_VERSION=1.36.3
export ETCD_VERSION=3.6.16
export KWOK_VERSION=0.8.0
# metrics-server: the resource metrics API for the HPAs (autoscaling e2e), fed by kwok's kubelet-style metrics.
export METRICS_SERVER_VERSION=0.8.0
# SeaweedFS: the S3-compatible object store the multi-runner e2e tests keep their Pulumi state in (its weed
# command; the module has no tagged releases the proxy serves, so a pseudo-version).
export SEAWEEDFS_MODULE_VERSION=v0.0.0-20261109003541-7506e5f91cd6
# Istio 1.31 (the module's VERSION file); its charts live in manifests/charts. istio.io/api at the matching tag.
export ISTIO_MODULE_VERSION=v0.0.0-20260827124520-eed52ebb66ad
export ISTIO_API_VERSION=v1.31.0
# The Kubernetes Gateway API's standard-channel CRDs (the `gateway-api` routing mode): from the Go module's
# config/crd/standard (scripts/toolchain/gateway-api.sh).
export GATEWAY_API_VERSION=1.6.3
# helm CLI, for debugging and rendering only (the program installs charts through the provider's embedded Helm).
export HELM_VERSION=3.22.0

export ISTIO_CANARY_CACHE="${ISTIO_CANARY_CACHE:-$HOME/.cache/istio-canary}"
