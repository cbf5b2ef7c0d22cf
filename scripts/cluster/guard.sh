#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The loopback guard: the local API server must never dial an address off this machine. With
# ValidatingAdmissionWebhook on, it calls every validating webhook (and would call mutating ones, conversion
# webhooks and aggregated APIs); so each of those must name a loopback URL, not a Service (whose ClusterIP, 10.x,
# is not on this host), and the `kubernetes` Service's endpoints must be loopback addresses. An APIService may name
# a Service of type ExternalName whose name is loopback (localhost, 127.x): the aggregator dials that name itself
# (metrics.k8s.io, scripts/cluster/metrics.sh).
# Prints what it checked; exits 1 with one line per offending object.
#   KUBECONFIG (default $CLUSTER_STATE_DIR/kubeconfig), KUBECTL (default: kubectl on PATH)
set -euo pipefail
# shellcheck disable=SC2034 # used by lib.sh
CLUSTER_LOG_TAG=guard.sh
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

export KUBECONFIG="${KUBECONFIG:-$CLUSTER_STATE_DIR/kubeconfig}"
k() { "${KUBECTL:-kubectl}" "$@"; }

# loopback_url URL : true when URL is https://<loopback host>[:port]/...
loopback_url() {
  local hostport="${1#https://}"
  hostport="${hostport%%/*}"
  local host="${hostport%:*}"
  [[ "$hostport" == \[* ]] && host="${hostport%%]*}]"
  case "$host" in
    localhost | "[::1]") return 0 ;;
    127.*) [[ "$host" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] ;;
    *) return 1 ;;
  esac
}

bad=()
n=0
# Two kubectl calls (each costs a process start and a TLS handshake; the guard runs after every e2e update):
# the webhook configurations, APIServices and CRDs in one list, one line per webhook, APIService or conversion
# webhook: "<kind>/<name> [<webhook>] url=<...>|service=<ns/name>|-"; then the `kubernetes` endpoints.
# shellcheck disable=SC2016 # a Go template, not shell
tpl='{{range .items}}{{$k := .kind}}{{$n := .metadata.name}}'
tpl+='{{if .webhooks}}{{range .webhooks}}{{$k}}/{{$n}} {{.name}} {{with .clientConfig.url}}url={{.}}{{end}}{{with .clientConfig.service}}service={{.namespace}}/{{.name}}{{end}}
{{end}}{{end}}'
tpl+='{{if eq $k "APIService"}}{{$k}}/{{$n}} - {{with .spec.service}}service={{.namespace}}/{{.name}}{{else}}-{{end}}
{{end}}'
tpl+='{{if eq $k "Service"}}{{if eq .spec.type "ExternalName"}}Service/{{.metadata.namespace}}/{{$n}} - {{.spec.externalName}}
{{end}}{{end}}'
tpl+='{{if eq $k "CustomResourceDefinition"}}{{if .spec.conversion}}{{if .spec.conversion.webhook}}{{$k}}/{{$n}} - {{with .spec.conversion.webhook.clientConfig.url}}url={{.}}{{end}}{{with .spec.conversion.webhook.clientConfig.service}}service={{.namespace}}/{{.name}}{{end}}
{{end}}{{end}}{{end}}{{end}}'
out="$(k get validatingwebhookconfigurations,mutatingwebhookconfigurations,apiservices,customresourcedefinitions,services \
  -A -o go-template="$tpl")" || cdie "kubectl get of the webhook configurations, APIServices, CRDs and Services failed"
declare -A external=() # "<ns>/<name>" of each ExternalName Service -> its external name
while read -r obj _ target; do
  [[ "$obj" == Service/* ]] && external[${obj#Service/}]="$target"
done <<<"$out"
while read -r obj hook target; do
  [[ -n "$obj" ]] || continue
  n=$((n + 1))
  case "$obj" in
    Service/*) n=$((n - 1)) ;;
    APIService/*)
      svc="${target#service=}"
      [[ "$target" == - ]] || loopback_url "https://${external[$svc]:-none}/" ||
        bad+=("${obj,,} is served by Service $svc (the aggregator would dial it)")
      ;;
    CustomResourceDefinition/*)
      case "$target" in
        url=*) loopback_url "${target#url=}" || bad+=("crd/${obj#*/} conversion webhook calls ${target#url=} (not loopback)") ;;
        *) bad+=("crd/${obj#*/} conversion webhook calls ${target:-nothing} (not a loopback URL)") ;;
      esac
      ;;
    *)
      kind="${obj%%/*}"
      kind="${kind,,}s/${obj#*/}"
      case "$target" in
        url=*) loopback_url "${target#url=}" || bad+=("$kind webhook $hook calls ${target#url=} (not loopback)") ;;
        service=*) bad+=("$kind webhook $hook calls Service ${target#service=} (its ClusterIP is not on this host)") ;;
        *) bad+=("$kind webhook $hook has neither url nor service") ;;
      esac
      ;;
  esac
done <<<"$out"

out="$(k get endpointslices -n default -l kubernetes.io/service-name=kubernetes -o go-template='{{range .items}}{{range .endpoints}}{{range .addresses}}{{.}}
{{end}}{{end}}{{end}}')" || cdie "kubectl get endpointslices failed"
while read -r ip; do
  [[ -n "$ip" ]] || continue
  n=$((n + 1))
  [[ "$ip" =~ ^127\. || "$ip" == ::1 ]] || bad+=("endpointslice of default/kubernetes names $ip (not loopback)")
done <<<"$out"

if ((${#bad[@]})); then
  clog "FAILED: the API server could dial an address off this machine:"
  for b in "${bad[@]}"; do clog "  $b"; done
  clog "point every webhook at a loopback URL (Istio's base.validationURL, istiodRemote.injectionURL; see Pulumi.dev.yaml)"
  exit 1
fi
clog "ok: $n webhooks, APIServices, conversion webhooks and kubernetes endpoints, all local or loopback"
