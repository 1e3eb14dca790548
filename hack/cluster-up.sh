#!/usr/bin/env bash
# Brings up the local cluster kubectl-wi is tested on: etcd, kube-apiserver with real
# TokenRequest and OIDC discovery, kube-controller-manager, kube-scheduler, a real node
# (containerd, runc, CNI bridge, kubelet) running locally built images, the pod identity
# webhook stand-in, the AWS stand-in, the Pod Identity agent stand-in and MinIO. State lives in
# $WI_STATE; binaries are cached
# in $WI_CACHE. Writes $WI_STATE/env for the tests. Stop it with hack/cluster-down.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

[[ $(id -u) == 0 ]] || die "the local cluster runs a kubelet and containerd: run as root"
if cluster_running; then
  die "a local cluster is already running (state in $WI_STATE): run 'make cluster-down' first"
fi
# A cluster whose processes died without cluster-down (a killed shell, a reboot) leaves its
# PID files, etcd data, mounts and bridge behind: a new etcd on that data would serve the old
# cluster's objects. Remove them first. A state dir without PID files held no cluster (the
# e2e preflight test points WI_STATE at an empty one beside the running cluster): leave the
# host alone then.
if compgen -G "$RUN/*.pid" >/dev/null; then
  log "removing what a local cluster that was not taken down left in $WI_STATE"
  "$here/cluster-down.sh"
fi
t0=$SECONDS
[[ -x $WI_BIN ]] || die "$WI_BIN is missing: run make build (its default probe image is the one the node pulls)"
"$here/deps.sh"
host_free
"$here/build-k8s.sh"
"$here/build-minio.sh"
"$here/build-etcd.sh"

log "building the stand-ins, the registry and the pause and idle images"
bin=$WI_STATE/bin
mkdir -p "$bin" "$WI_STATE/images" "$RUN" "$LOGS" "$DATA"
(
  cd "$repo"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/pause" ./hack/cmd/pause
  go build -o "$bin/mkimage" ./hack/cmd/mkimage
  go build -o "$bin/wi-webhook" ./hack/cmd/wi-webhook
  go build -o "$bin/wi-sts" ./hack/cmd/wi-sts
  go build -o "$bin/wi-agent" ./hack/cmd/wi-agent
  go build -o "$bin/wi-registry" ./hack/cmd/wi-registry
)
"$bin/mkimage" -ref "$PAUSE_IMAGE" -out "$WI_STATE/images/pause.tar" -entrypoint /pause "$bin/pause:/pause"
"$bin/mkimage" -ref "$IDLE_IMAGE" -out "$WI_STATE/images/idle.tar" -entrypoint /pause "$bin/pause:/pause"
"$here/testapps-up.sh"

"$here/pki.sh"
pki=$WI_STATE/pki
export KUBECONFIG=$pki/admin.kubeconfig
kubectl=$K8S_BIN/kubectl
tcp=$SECONDS

log "starting etcd"
start etcd "$ETCD_BIN/etcd" --name wi --data-dir "$DATA/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "wi=http://127.0.0.1:$ETCD_PEER_PORT"
wait_for etcd 30 etcd curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

log "starting kube-apiserver"
cat >"$WI_STATE/audit-policy.yaml" <<YAML
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
YAML
start kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --service-account-issuer="$ISSUER" \
  --service-account-signing-key-file="$pki/sa.key" --service-account-key-file="$pki/sa.pub" \
  --api-audiences="$ISSUER" \
  --authorization-mode=Node,RBAC \
  --service-cluster-ip-range=10.0.0.0/24 \
  --kubelet-client-certificate="$pki/admin.crt" --kubelet-client-key="$pki/admin.key" \
  --kubelet-certificate-authority="$pki/ca.crt" \
  --kubelet-preferred-address-types=Hostname,InternalIP \
  --endpoint-reconciler-type=none \
  --audit-policy-file="$WI_STATE/audit-policy.yaml" --audit-log-path="$LOGS/audit.log" \
  --audit-log-maxsize=500 --audit-log-maxbackup=1 \
  --profiling=false --v=1
# --endpoint-reconciler-type=none: a loopback advertise address cannot be an endpoint.
wait_for kube-apiserver 120 kube-apiserver "$kubectl" get --raw /readyz

# OIDC discovery readable anonymously, as on EKS, so STS can fetch the issuer's keys.
"$kubectl" create clusterrolebinding oidc-discovery-anonymous \
  --clusterrole=system:service-account-issuer-discovery --group=system:unauthenticated >/dev/null

log "starting kube-controller-manager and kube-scheduler"
start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig="$pki/kcm.kubeconfig" \
  --authentication-kubeconfig="$pki/kcm.kubeconfig" --authorization-kubeconfig="$pki/kcm.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10257 \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
  --use-service-account-credentials=true --controllers='*' --leader-elect=false --v=1
start kube-scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig="$pki/scheduler.kubeconfig" \
  --authentication-kubeconfig="$pki/scheduler.kubeconfig" --authorization-kubeconfig="$pki/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --v=1
wait_for kube-controller-manager 60 kube-controller-manager curl -fsSk https://127.0.0.1:10257/healthz
wait_for kube-scheduler 60 kube-scheduler curl -fsSk https://127.0.0.1:10259/healthz

"$here/registry-up.sh"
"$here/node-up.sh"
node_ready=$((SECONDS - tcp))

"$here/services-up.sh"

cat >"$WI_STATE/env" <<ENV
# Written by hack/cluster-up.sh: what the tests need to reach the local cluster.
export KUBECONFIG=$pki/admin.kubeconfig
export WI_STATE=$WI_STATE
export WI_K8S_BIN=$K8S_BIN
export WI_VIEWER_KUBECONFIG=$pki/viewer.kubeconfig
export WI_ISSUER=$ISSUER
export WI_CA_FILE=$pki/ca.crt
export WI_PROBE_IMAGE=$(probe_image)
export WI_REGISTRY=$REGISTRY
export WI_IDLE_IMAGE=$IDLE_IMAGE
export WI_STS_ENDPOINT=https://$BRIDGE_GW:$STS_PORT
export WI_STS_CONFIG=$WI_STATE/sts.yaml
export WI_STS_ACCOUNT=111122223333
export WI_MINIO_ENDPOINT=https://$BRIDGE_GW:$MINIO_PORT
export WI_MINIO_ROLE_ARN=$(cat "$WI_STATE/minio-role-arn")
export WI_AUDIT_LOG=$LOGS/audit.log
export WI_NODE_NAME=$NODE_NAME
export WI_WEBHOOK_PROFILE=$WI_WEBHOOK_PROFILE
export WI_POD_IDENTITY_ASSOCIATIONS=$WI_STATE/pod-identity-associations.json
# The AWS stand-in for the SDKs and the AWS CLI (endpoints, CA, region, the test user's keys):
# source it to call IAM, EKS and STS as the tests do. Its JSON request log, and the cluster's
# name and the Pod Identity agent's address as EKS knows them.
export WI_AWS_ENV=$WI_STATE/aws.env
export WI_AWS_REQUEST_LOG=$LOGS/aws-requests.jsonl
export WI_EKS_CLUSTER=$EKS_CLUSTER
export WI_POD_IDENTITY_AGENT=$POD_IDENTITY_AGENT_ADDR
# kubectl wi verify's defaults: the STS stand-in, over TLS with the cluster's CA.
export KUBECTL_WI_STS_ENDPOINT=https://$BRIDGE_GW:$STS_PORT
export KUBECTL_WI_CA_BUNDLE=$pki/ca.crt
# kubectl and the kubectl-wi under test, for the README's examples as printed.
export PATH=$(dirname "$WI_BIN"):$K8S_BIN:\$PATH
# No process of the test bed reaches for instance metadata, which is not the test bed's.
export AWS_EC2_METADATA_DISABLED=true
ENV
cat "$WI_STATE/testapps.env" >>"$WI_STATE/env"

# What a user sources to run the README's commands as printed: the tests' env, the AWS
# stand-in as the user's own AWS (keys, endpoints, region), and a kubeconfig whose cluster is
# named by its EKS ARN, as aws eks update-kubeconfig names it, so commands that need the EKS
# cluster's name find it there as they would on EKS.
eks_arn=arn:aws:eks:$AWS_REGION_:111122223333:cluster/$EKS_CLUSTER
sed "s|kubectl-wi-local|\"$eks_arn\"|g" "$pki/admin.kubeconfig" >"$pki/demo.kubeconfig"
cat >"$WI_STATE/demo.env" <<ENV
# Written by hack/cluster-up.sh: source it to run the README's commands on the local cluster.
. $WI_STATE/env
. $WI_STATE/aws.env
export KUBECONFIG=$pki/demo.kubeconfig
ENV
log "control plane to Ready node: ${node_ready}s; whole cluster-up: $((SECONDS - t0))s"
log "ready: source $WI_STATE/env (KUBECONFIG=$pki/admin.kubeconfig)"
