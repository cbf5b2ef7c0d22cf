# shellcheck shell=bash
# Sourced by up.sh (not executed): the cluster's certificates and kubeconfigs. Uses up.sh's variables and helpers.
# ------------------------------------------------------------------ certificates
t=$SECONDS
P="$S/pki"
ossl() { openssl "$@" >>"$S/pki/openssl.log" 2>&1 || cdie "openssl $1 failed (see $S/pki/openssl.log)"; }
ec_key() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# ca NAME CN : a self-signed CA
ca() {
  ec_key "$P/$1.key"
  ossl req -x509 -new -key "$P/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$P/$1.crt"
}
ca ca istio-canary-local-ca
# Front-proxy (request-header) CA: lets kube-controller-manager/kube-scheduler (and any
# aggregated API server) authenticate proxied requests, as kubeadm clusters do.
ca front-proxy-ca istio-canary-front-proxy-ca

# [LEAF_CA=ca] leaf NAME SUBJECT EXTENSIONS... : a certificate signed by $LEAF_CA
leaf() {
  local name=$1 subj=$2 signer=${LEAF_CA:-ca}
  shift 2
  ec_key "$P/$name.key"
  ossl req -new -key "$P/$name.key" -subj "$subj" -out "$P/$name.csr"
  printf '%s\n' "$@" >"$P/$name.ext"
  ossl x509 -req -in "$P/$name.csr" -CA "$P/$signer.crt" -CAkey "$P/$signer.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 3650 -sha256 -extfile "$P/$name.ext" -out "$P/$name.crt"
  rm -f "$P/$name.csr" "$P/$name.ext"
}
CLIENT_EXT=("basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=clientAuth")
leaf apiserver "/CN=kube-apiserver" "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
  "subjectAltName=IP:127.0.0.1,IP:$SERVICE_API_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
leaf admin "/O=system:masters/CN=istio-canary-admin" "${CLIENT_EXT[@]}"
leaf kube-controller-manager "/CN=system:kube-controller-manager" "${CLIENT_EXT[@]}"
leaf kube-scheduler "/CN=system:kube-scheduler" "${CLIENT_EXT[@]}"
# kwok writes node and pod status, node leases and pod deletions for many namespaces.
leaf kwok "/O=system:masters/CN=kwok" "${CLIENT_EXT[@]}"
LEAF_CA=front-proxy-ca leaf front-proxy-client "/CN=front-proxy-client" "${CLIENT_EXT[@]}"
# Service-account token signing key pair.
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$P/sa.key"
ossl pkey -in "$P/sa.key" -pubout -out "$P/sa.pub"
chmod 600 "$P"/*.key
clog "certificates generated ($((SECONDS - t))s)"

# kubeconfig FILE USER : a self-contained kubeconfig with embedded certs.
kubeconfig() {
  local file=$1 user=$2
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: istio-canary
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 <"$P/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$P/$user.crt")
    client-key-data: $(base64 -w0 <"$P/$user.key")
contexts:
- name: istio-canary
  context:
    cluster: istio-canary
    user: $user
current-context: istio-canary
EOF
  chmod 600 "$file.tmp"
  mv "$file.tmp" "$file"
}
kubeconfig "$S/kubeconfig" admin
for c in kube-controller-manager kube-scheduler kwok; do kubeconfig "$S/$c.kubeconfig" "$c"; done

