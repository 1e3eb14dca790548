#!/usr/bin/env bash
# Starts what the tests use beside the cluster: the pod identity webhook stand-in (registered
# with a MutatingWebhookConfiguration), the STS stand-in and MinIO as STS, both over HTTPS only
# with certificates of the cluster's CA. Called by cluster-up.sh once the node is Ready.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pki=$WI_STATE/pki
bin=$WI_STATE/bin
export KUBECONFIG=$pki/admin.kubeconfig

# Tests add Pod Identity associations to this file; the webhook reads it again when it changes.
[[ -f $WI_STATE/pod-identity-associations.json ]] || echo '{"identities":[]}' >"$WI_STATE/pod-identity-associations.json"
case $WI_WEBHOOK_PROFILE in
default) profile_flags=() ;;
eks)
  profile_flags=(--sts-regional-endpoint --aws-default-region us-west-2 --cache-lag 1s
    --watch-container-credentials-config "$WI_STATE/pod-identity-associations.json"
    --container-credentials-full-uri "http://$BRIDGE_GW:$POD_IDENTITY_AGENT_PORT/v1/credentials")
  ;;
*) die "WI_WEBHOOK_PROFILE must be default or eks, not '$WI_WEBHOOK_PROFILE'" ;;
esac
log "starting the pod identity webhook stand-in (profile $WI_WEBHOOK_PROFILE)"
start wi-webhook "$bin/wi-webhook" --listen "127.0.0.1:$WEBHOOK_PORT" \
  --tls-cert "$pki/webhook.crt" --tls-key "$pki/webhook.key" --kubeconfig "$pki/admin.kubeconfig" \
  --register --ca-file "$pki/ca.crt" "${profile_flags[@]}"
wait_for "webhook stand-in" 30 wi-webhook curl -fsS --cacert "$pki/ca.crt" "https://127.0.0.1:$WEBHOOK_PORT/healthz"
wait_for "webhook registration" 30 wi-webhook "$K8S_BIN/kubectl" get mutatingwebhookconfiguration pod-identity-webhook

log "starting the STS stand-in on $BRIDGE_GW:$STS_PORT"
# Tests add roles to this file; the stand-in reads it again when it changes.
[[ -f $WI_STATE/sts.yaml ]] || cat >"$WI_STATE/sts.yaml" <<YAML
account: "111122223333"
providers:
- issuer: $ISSUER
  clientIDs: [sts.amazonaws.com]
  caFile: $pki/ca.crt
roles: []
YAML
start wi-sts "$bin/wi-sts" --config "$WI_STATE/sts.yaml" --listen "$BRIDGE_GW:$STS_PORT" \
  --tls-cert "$pki/sts.crt" --tls-key "$pki/sts.key"
wait_for "STS stand-in" 30 wi-sts sh -c "curl -s -o /dev/null --cacert '$pki/ca.crt' https://$BRIDGE_GW:$STS_PORT/"

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
