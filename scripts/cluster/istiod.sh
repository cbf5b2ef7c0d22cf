# shellcheck shell=bash
# Sourced by up.sh (not executed): istiod out of cluster, its validation webhook probed, the loopback guard. Uses up.sh's variables and helpers.
# ------------------------------------------------------------------ istiod
# Out of cluster, as Istio documents for an external control plane: its own kubeconfig, POD_NAMESPACE, and
# ISTIOD_CUSTOM_HOST so that its webhook serving certificate also names "localhost". Its CA is plugged in
# (ROOT_CA_DIR: ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem), so the root is known before any chart is
# installed and survives the istio-system namespace being deleted between tests.
t=$SECONDS
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$S/istio-ca/ca-key.pem"
ossl req -x509 -new -key "$S/istio-ca/ca-key.pem" -subj "/O=cluster.local/CN=istio-canary local mesh root" -days 3650 \
  -sha256 -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
  -out "$S/istio-ca/ca-cert.pem"
cp "$S/istio-ca/ca-cert.pem" "$S/istio-ca/root-cert.pem"
cp "$S/istio-ca/ca-cert.pem" "$S/istio-ca/cert-chain.pem"
chmod 600 "$S/istio-ca/ca-key.pem"
# The sidecar injector reads its templates and values from files that injector-sync keeps equal to the istiod
# chart's ConfigMap (see injector-sync.sh): empty until a chart is installed (no templates; no webhook calls it then).
mkdir -p "$S/istiod/var/lib/istio/inject"
printf '{}\n' >"$S/istiod/var/lib/istio/inject/config"
printf '{}\n' >"$S/istiod/var/lib/istio/inject/values"
start injector-sync /bin/bash "$CLUSTER_DIR/injector-sync.sh" "$S"
ROOT_CA_DIR="$S/istio-ca" POD_NAMESPACE=istio-system POD_NAME=istiod-local REVISION=default \
  ISTIOD_CUSTOM_HOST=localhost CLUSTER_ID=Kubernetes KUBECONFIG="$S/kubeconfig" START_DIR="$S/istiod" \
  start istiod "$ISTIOD_BIN" discovery \
  --kubeconfig="$S/kubeconfig" \
  --httpAddr="$ISTIOD_HTTP_ADDR" \
  --grpcAddr="$ISTIOD_XDS_ADDR" \
  --secureGRPCAddr="$ISTIOD_SECURE_XDS_ADDR" \
  --monitoringAddr="$ISTIOD_MONITORING_ADDR" \
  --httpsAddr="$ISTIOD_WEBHOOK_ADDR" \
  --domain=cluster.local \
  --log_output_level=default:info
istiod_ready() { in_ns curl -fsS --max-time 2 "http://$ISTIOD_HTTP_ADDR/ready"; }
wait_for "istiod ready (http://$ISTIOD_HTTP_ADDR/ready in the namespace)" 90 istiod istiod_ready
# The webhook as the API server calls it: TLS to "localhost" verified against istiod's root, an AdmissionReview in,
# a verdict out.
webhook_answers() {
  in_ns curl -sS --max-time 3 --cacert "$S/istio-ca/root-cert.pem" -H 'Content-Type: application/json' \
    --data '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"up-sh-probe","kind":{"group":"networking.istio.io","version":"v1","kind":"VirtualService"},"resource":{"group":"networking.istio.io","version":"v1","resource":"virtualservices"},"name":"probe","namespace":"default","operation":"CREATE","userInfo":{},"object":{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"probe","namespace":"default"},"spec":{"hosts":["probe"],"http":[{"route":[{"destination":{"host":"a"},"weight":0},{"destination":{"host":"b"},"weight":0}]}]}}}}' \
    "$ISTIOD_WEBHOOK_URL" | grep -q 'total destination weight = 0'
}
if ! webhook_answers; then
  sleep 2
  webhook_answers || cdie "istiod is ready but its validation webhook is unreachable or wrong at $ISTIOD_WEBHOOK_URL" \
    "(TLS for localhost against $S/istio-ca/root-cert.pem, or its verdict); see $S/logs/istiod.log"
fi
clog "istiod's validation webhook answers on $ISTIOD_WEBHOOK_URL and rejects two zero weights ($((SECONDS - t))s)"
KUBECONFIG="$S/kubeconfig" "$CLUSTER_DIR/guard.sh" >&2 || cdie "the loopback guard failed (see above)"

