#!/usr/bin/env bash
# The sidecar injector's configuration for the local istiod (started by up.sh as component `injector-sync`):
#   injector-sync.sh STATE_DIR
# istiod in a cluster is created by the istiod chart after the chart's `istio-sidecar-injector` ConfigMap, and
# reads its injection templates and values from it; but it only does so when that ConfigMap exists at its start
# ("Skipping sidecar injector, template not found" otherwise, for the life of the process). The local istiod starts
# before any chart is installed, so it reads them from files instead (its --injectionDirectory,
# <its working dir>/var/lib/istio/inject/{config,values}, which up.sh creates empty), and this process keeps those
# files equal to the ConfigMap's `config` and `values`: a watch on it, and on each change both files replaced by a
# rename (istiod's file watcher reloads them). So whatever the chart renders (Istio CNI on or off, the proxy's
# values) is what the injector uses, as in a cluster. When the ConfigMap is deleted the files keep the last
# version; the chart deletes its MutatingWebhookConfiguration with it, so nothing calls the injector then.
set -uo pipefail
S="${1:?usage: injector-sync.sh STATE_DIR}"
NS="${INJECTOR_NAMESPACE:-istio-system}"
CM="${INJECTOR_CONFIGMAP:-istio-sidecar-injector}"
DIR="$S/istiod/var/lib/istio/inject"
k() { "$KUBECTL" --kubeconfig "$S/kubeconfig" "$@"; }
log() { printf '[injector-sync %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
# Stop the watch (this script's own process group: up.sh starts it with setsid) when down.sh stops this process.
trap 'trap - TERM; kill -TERM 0 2>/dev/null; exit 0' TERM INT

# copy KEY FILE : the ConfigMap's data.KEY into FILE (by a rename); false when the ConfigMap is not there.
copy() {
  local tmp="$DIR/.$2.tmp"
  k get configmap "$CM" -n "$NS" -o "go-template={{index .data \"$1\"}}" >"$tmp" 2>/dev/null || return 1
  mv -f "$tmp" "$DIR/$2"
}

mkdir -p "$DIR"
while :; do
  # A watch by field selector (unlike one by name) may start before the ConfigMap or its namespace exists.
  # One line per change (kubectl's `-o name` prints the object's name, not the event); then read the ConfigMap.
  while read -r line; do
    if copy values values && copy config config; then
      log "copied $NS/$CM (config $(wc -c <"$DIR/config") bytes, values $(wc -c <"$DIR/values") bytes)"
    else
      log "$NS/$CM is not there ($line); the injector keeps its last configuration"
    fi
  done < <(k get configmaps -n "$NS" --field-selector "metadata.name=$CM" --watch -o name 2>&1)
  # The API server ends watches after a while: start another, unless the cluster is gone (down.sh stops this
  # process first; this is the backstop should it be left behind).
  [[ -f "$S/kubeconfig" ]] || exit 0
  sleep 1
done
