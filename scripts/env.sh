#!/usr/bin/env bash
# Builds (first run) or reuses the whole toolchain and prints `export` lines for it:
#   eval "$(scripts/env.sh)"
# PATH gets the Pulumi CLI, its Node.js language host and kubectl; KUBECTL and ISTIO_CHARTS_DIR are set.
# The local cluster is separate: scripts/cluster/up.sh (it prints KUBECONFIG).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/toolchain/pulumi.sh"
kube="$("$here/toolchain/kube.sh")"
printf '%s\n' "$kube"
"$here/toolchain/istio.sh"
"$here/toolchain/prometheus.sh"
eval "$kube"
printf 'export PATH=%q:"$PATH"\n' "$(dirname "$KUBECTL")"
