#!/usr/bin/env bash
# Makes the throw-away PKI of one local cluster under $WI_STATE/pki: a CA, serving certificates
# for the apiserver, the node, the webhook stand-in, the STS stand-in and MinIO (on the bridge
# gateway, where pods reach them over HTTPS), client certificates, the service
# account signing key, and a kubeconfig per client. Does nothing when the CA already exists.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cmd openssl
pki=$WI_STATE/pki
mkdir -p "$pki"
cd "$pki"
[[ -f ca.key ]] && exit 0

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj "/CN=kubectl-wi-local-ca" 2>/dev/null
cert() { # name subject [subjectAltName]
  local n=$1 subj=$2 san=${3:-}
  openssl req -newkey rsa:2048 -nodes -keyout "$n.key" -out "$n.csr" -subj "$subj" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [[ -n $san ]] && echo "subjectAltName=$san"
  } >"$n.ext"
  openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$n.crt" -days 30 -extfile "$n.ext" 2>/dev/null
  rm -f "$n.csr" "$n.ext"
}
cert apiserver "/CN=kube-apiserver" "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert admin "/O=system:masters/CN=kubectl-wi-admin"
cert viewer "/CN=kubectl-wi-viewer"   # no RBAC of its own: tests grant it what they need
cert kcm "/CN=system:kube-controller-manager"
cert scheduler "/CN=system:kube-scheduler"
cert node "/O=system:nodes/CN=system:node:$NODE_NAME" "IP:127.0.0.1,DNS:localhost,DNS:$NODE_NAME"
cert webhook "/CN=pod-identity-webhook" "IP:127.0.0.1,DNS:localhost"
cert sts "/CN=wi-sts" "IP:$BRIDGE_GW"
cert minio "/CN=minio" "IP:$BRIDGE_GW"
openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
for u in admin viewer kcm scheduler node; do
  cat >"$u.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: kubectl-wi-local
  cluster: {server: https://127.0.0.1:$APISERVER_PORT, certificate-authority: $pki/ca.crt}
users:
- name: $u
  user: {client-certificate: $pki/$u.crt, client-key: $pki/$u.key}
contexts:
- name: kubectl-wi-local
  context: {cluster: kubectl-wi-local, user: $u}
current-context: kubectl-wi-local
KC
done
