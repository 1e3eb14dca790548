#!/usr/bin/env bash
# Starts what the tests use beside the cluster: the pod identity webhook stand-in (registered
# with a MutatingWebhookConfiguration), the AWS stand-in (STS, IAM, EKS, EKS Auth) and MinIO as
# STS, both over HTTPS only with certificates of the cluster's CA, and the Pod Identity agent
# stand-in on 169.254.170.23:80. Writes the AWS environment for tests to $WI_STATE/aws.env.
# Called by cluster-up.sh once the node is Ready.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pki=$WI_STATE/pki
bin=$WI_STATE/bin
export KUBECONFIG=$pki/admin.kubeconfig

# The AWS stand-in writes the cluster's Pod Identity associations to this file, as EKS pushes
# them to its webhook; the webhook reads it again when it changes.
[[ -f $WI_STATE/pod-identity-associations.json ]] || echo '{"identities":[]}' >"$WI_STATE/pod-identity-associations.json"
case $WI_WEBHOOK_PROFILE in
default) profile_flags=() ;;
eks)
  profile_flags=(--sts-regional-endpoint --aws-default-region us-west-2 --cache-lag 1s
    --watch-container-credentials-config "$WI_STATE/pod-identity-associations.json"
    --container-credentials-full-uri "http://$POD_IDENTITY_AGENT_ADDR/v1/credentials")
  ;;
*) die "WI_WEBHOOK_PROFILE must be default or eks, not '$WI_WEBHOOK_PROFILE'" ;;
esac
log "starting the pod identity webhook stand-in (profile $WI_WEBHOOK_PROFILE)"
start wi-webhook "$bin/wi-webhook" --listen "127.0.0.1:$WEBHOOK_PORT" \
  --tls-cert "$pki/webhook.crt" --tls-key "$pki/webhook.key" --kubeconfig "$pki/admin.kubeconfig" \
  --register --ca-file "$pki/ca.crt" "${profile_flags[@]}"
wait_for "webhook stand-in" 30 wi-webhook curl -fsS --cacert "$pki/ca.crt" "https://127.0.0.1:$WEBHOOK_PORT/healthz"
wait_for "webhook registration" 30 wi-webhook "$K8S_BIN/kubectl" get mutatingwebhookconfiguration pod-identity-webhook

log "starting the AWS stand-in on $BRIDGE_GW:$STS_PORT"
# Random keys for the test user and the node (the agent), never printed; the config is 0600.
key_id() { printf 'AKIA%s' "$(head -c 64 /dev/urandom | base32 | tr -dc 'A-Z2-7' | head -c 16)"; }
secret_key() { head -c 30 /dev/urandom | base64 | tr -d '/+='; }
# Tests add roles to this file; the stand-in reads it again when it changes, and writes IAM's
# changes (UpdateAssumeRolePolicy) back to it.
if [[ ! -f $WI_STATE/sts.yaml ]]; then
  umask 077
  cat >"$WI_STATE/sts.yaml" <<YAML
account: "111122223333"
providers:
- issuer: $ISSUER
  clientIDs: [sts.amazonaws.com]
  caFile: $pki/ca.crt
users:
- arn: arn:aws:iam::111122223333:user/kubectl-wi-e2e
  accessKeyId: $(key_id)
  secretAccessKey: $(secret_key)
- arn: arn:aws:iam::111122223333:user/eks-pod-identity-agent
  accessKeyId: $(key_id)
  secretAccessKey: $(secret_key)
clusters:
- name: $EKS_CLUSTER
  region: $AWS_REGION_
  issuer: $ISSUER
  associationsFile: $WI_STATE/pod-identity-associations.json
roles: []
YAML
  umask 022
fi
start wi-sts "$bin/wi-sts" --config "$WI_STATE/sts.yaml" --listen "$BRIDGE_GW:$STS_PORT" \
  --tls-cert "$pki/sts.crt" --tls-key "$pki/sts.key" \
  --state "$WI_STATE/aws-state.json" --request-log "$LOGS/aws-requests.jsonl"
wait_for "AWS stand-in" 30 wi-sts sh -c "curl -s -o /dev/null --cacert '$pki/ca.crt' https://$BRIDGE_GW:$STS_PORT/"
# user_key N FIELD: a field of the Nth user of the config (1: the test user, 2: the agent).
user_key() { awk -v n="$1" -v f="$2" '/^users:/{u=1;next} u&&/^[a-z]/{u=0} u&&/^- /{i++} u&&i==n&&$0~f":"{print $NF}' "$WI_STATE/sts.yaml"; }
umask 077
cat >"$WI_STATE/aws.env" <<ENV
# Written by hack/services-up.sh: the AWS stand-in as the AWS SDKs and CLI find it, with the
# test user's keys (IAM, EKS and STS calls). Source it, or read it (test/e2e does).
export AWS_ENDPOINT_URL_STS=https://$BRIDGE_GW:$STS_PORT
export AWS_ENDPOINT_URL_IAM=https://$BRIDGE_GW:$STS_PORT
export AWS_ENDPOINT_URL_EKS=https://$BRIDGE_GW:$STS_PORT
export AWS_CA_BUNDLE=$pki/ca.crt
export AWS_REGION=$AWS_REGION_
export AWS_ACCESS_KEY_ID=$(user_key 1 accessKeyId)
export AWS_SECRET_ACCESS_KEY=$(user_key 1 secretAccessKey)
ENV
umask 022

log "starting the Pod Identity agent stand-in on $POD_IDENTITY_AGENT_ADDR:80"
# The address first, on lo under the test bed's label: pods reach it through the host.
case $(agent_addr_owner) in
"") ip addr add "$POD_IDENTITY_AGENT_ADDR/32" dev lo label "$POD_IDENTITY_AGENT_LABEL" ;;
"$POD_IDENTITY_AGENT_LABEL") ;; # left by a run that did not finish: the test bed's own
*) die "$POD_IDENTITY_AGENT_ADDR is already an address of this host ($(agent_addr_owner)), not the test bed's: free it first" ;;
esac
# The node's keys go through the environment (as the real agent's SDK reads them), not argv.
(
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  AWS_ACCESS_KEY_ID=$(user_key 2 accessKeyId) AWS_SECRET_ACCESS_KEY=$(user_key 2 secretAccessKey)
  start wi-agent "$bin/wi-agent" --listen "$POD_IDENTITY_AGENT_ADDR:80" --cluster-name "$EKS_CLUSTER" \
    --region "$AWS_REGION_" --endpoint "https://$BRIDGE_GW:$STS_PORT" --ca-file "$pki/ca.crt"
)
# Without a token the agent answers 400 (its own check): it listens, and it is the agent.
wait_for "Pod Identity agent stand-in" 30 wi-agent sh -c \
  "[ \"\$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' http://$POD_IDENTITY_AGENT_ADDR/v1/credentials)\" = 400 ]"

log "starting MinIO as STS on $BRIDGE_GW:$MINIO_PORT"
mkdir -p "$WI_STATE/minio/certs/CAs" "$DATA/minio"
cp "$pki/ca.crt" "$WI_STATE/minio/certs/CAs/kubectl-wi-local-ca.crt"
# public.crt and private.key in the certs dir: MinIO serves HTTPS only.
cp "$pki/minio.crt" "$WI_STATE/minio/certs/public.crt"
cp "$pki/minio.key" "$WI_STATE/minio/certs/private.key"
# MinIO refuses to start without root credentials; these are random and never printed.
[[ -f $WI_STATE/minio/root-password ]] || head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$WI_STATE/minio/root-password"
start minio env MINIO_ROOT_USER=kubectl-wi-admin MINIO_ROOT_PASSWORD="$(cat "$WI_STATE/minio/root-password")" \
  MINIO_BROWSER=off MINIO_UPDATE=off \
  MINIO_IDENTITY_OPENID_CONFIG_URL="$ISSUER/.well-known/openid-configuration" \
  MINIO_IDENTITY_OPENID_CLIENT_ID=sts.amazonaws.com \
  MINIO_IDENTITY_OPENID_ROLE_POLICY=readwrite \
  "$MINIO_BIN/minio" server --address "$BRIDGE_GW:$MINIO_PORT" --console-address "127.0.0.1:9001" \
  --certs-dir "$WI_STATE/minio/certs" "$DATA/minio"
wait_for MinIO 90 minio curl -fsS --cacert "$pki/ca.crt" "https://$BRIDGE_GW:$MINIO_PORT/minio/health/ready"
minio_role() { sed 's/\x1b\[[0-9;]*m//g' "$LOGS/minio.log" | grep -o 'arn:minio:iam:::role/[A-Za-z0-9_-]*' | head -1; }
wait_for "MinIO role ARN in its log" 30 minio sh -c "sed 's/\x1b\[[0-9;]*m//g' '$LOGS/minio.log' | grep -q 'arn:minio:iam:::role/'"
minio_role >"$WI_STATE/minio-role-arn"
log "MinIO role: $(cat "$WI_STATE/minio-role-arn")"
