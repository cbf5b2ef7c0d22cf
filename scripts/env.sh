#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds (first run) or reuses the whole toolchain and prints `export` lines for it:
#   eval "$(scripts/env.sh)"
# PATH gets the Pulumi CLI, its Node.js and YAML language hosts and kubectl; KUBECTL and ISTIO_CHARTS_DIR are set.
# The local cluster is separate: scripts/cluster/up.sh (it prints KUBECONFIG).
set -euo pipefail
LOG_TAG="env"
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
t="$(now)"
"$LIB_DIR/toolchain/pulumi.sh"
"$LIB_DIR/toolchain/pulumi-yaml.sh"
kube="$("$LIB_DIR/toolchain/kube.sh")"
printf '%s\n' "$kube"
"$LIB_DIR/toolchain/istio.sh"
"$LIB_DIR/toolchain/istiod.sh"
"$LIB_DIR/toolchain/prometheus.sh"
eval "$kube"
# shellcheck disable=SC2016 # $PATH is for the caller's shell to expand.
printf 'export PATH=%q:"$PATH"\n' "$(dirname "$KUBECTL")"
log "toolchain ready in $(elapsed "$t")s"
