#!/usr/bin/env bash
# Benchmarks EKS Pod Identity on the local cluster under the webhook's EKS profile: RUNS
# verify runs (default 5) of an account with an association, through the Pod Identity agent
# stand-in, split by verify's hidden --timings, and the median of each; then `migrate -n NS
# --to pod-identity` of a namespace of WORKLOADS IRSA Deployments (default 5, each its own
# account and role): its wall time, and that of the rerun that finds nothing to do. Uses the
# running cluster when it runs the EKS profile, or brings one up and takes it down again. Not a
# test: it prints figures, and fails only when a command does.
#
#   make bench-podidentity       # or: RUNS=9 WORKLOADS=10 hack/bench-podidentity.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
RUNS=${RUNS:-5}
WORKLOADS=${WORKLOADS:-5}
bin=${WI_BIN:-$here/../bin/kubectl-wi}
[[ -x $bin ]] || die "$bin is missing: run make build"

started=""
namespaces=()
cleanup() {
  for ns in "${namespaces[@]}"; do
    # the associations first: the stand-in keeps them after the namespace is gone
    mapfile -t accounts < <(kubectl get serviceaccounts -n "$ns" -o name 2>/dev/null | grep -v '/default$' || true)
    [[ ${#accounts[@]} -eq 0 ]] || "$bin" disable "${accounts[@]}" -n "$ns" --pod-identity --eks-cluster "$WI_EKS_CLUSTER" --restart=never >/dev/null 2>&1 || true
    kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  done
  [[ -z $started ]] || "$here/cluster-down.sh"
}
trap cleanup EXIT
if ! alive kube-apiserver || [[ ! -f $WI_STATE/env ]]; then
  log "no local cluster runs: bringing one up under the EKS profile (it goes down at the end)"
  started=1
  WI_WEBHOOK_PROFILE=eks "$here/cluster-up.sh"
fi
. "$WI_STATE/env"
[[ $WI_WEBHOOK_PROFILE == eks ]] || die "the running cluster's webhook runs the '$WI_WEBHOOK_PROFILE' profile: Pod Identity needs eks (make cluster-down, then rerun)"
# The plugin calls EKS and IAM as the stand-in's test user.
. "$WI_AWS_ENV"
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
# The probe of this working tree, so the figures are this code's.
"$here/probe-image.sh"

grep -q '^roles:' "$WI_STATE/sts.yaml" && [[ $(grep -n '^[a-z]' "$WI_STATE/sts.yaml" | tail -1) == *roles:* ]] ||
  die "unexpected layout of $WI_STATE/sts.yaml: roles is not its last key"
host=${WI_ISSUER#https://}
pod_identity='{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}'
# add_roles NS NAME...: a role bench-NS-NAME per account NS/NAME, trusting its web identity and
# Pod Identity, in one write, and the account annotated with it.
add_roles() {
  local ns=$1 tmp=$WI_STATE/sts.yaml.bench name
  shift
  sed 's/^roles: \[\]$/roles:/' "$WI_STATE/sts.yaml" >"$tmp"
  for name in "$@"; do
    printf -- "- name: %s\n  trustPolicy: '%s'\n" "bench-$ns-$name" \
      "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"arn:aws:iam::$WI_STS_ACCOUNT:oidc-provider/$host\"},\"Action\":\"sts:AssumeRoleWithWebIdentity\",\"Condition\":{\"StringEquals\":{\"$host:sub\":\"system:serviceaccount:$ns:$name\",\"$host:aud\":\"sts.amazonaws.com\"}}},$pod_identity]}" >>"$tmp"
  done
  mv "$tmp" "$WI_STATE/sts.yaml"
  sleep 1 # the stand-in notices the new roles
}
new_namespace() {
  kubectl create namespace "$1" >/dev/null
  namespaces+=("$1")
  until kubectl get serviceaccount default -n "$1" >/dev/null 2>&1; do sleep 0.2; done
}

# await_association NS SA: until the webhook admits a pod of NS/SA with the container
# credentials (a server-side dry run: nothing is stored). EKS pushes an association to its
# webhook seconds after the call; the stand-in's cache lags a second.
await_association() {
  local i
  for i in $(seq 150); do
    kubectl create -n "$1" --dry-run=server -o jsonpath='{.spec.containers[0].env[*].name}' -f - 2>/dev/null <<YAML |
apiVersion: v1
kind: Pod
metadata: {generateName: bench-admission-}
spec: {serviceAccountName: $2, containers: [{name: app, image: "$WI_IDLE_IMAGE"}]}
YAML
      grep -q AWS_CONTAINER_CREDENTIALS_FULL_URI && return 0
    sleep 0.2
  done
  die "the webhook did not learn the association of $1/$2 in 30s"
}

out=$(mktemp -d)
ns=wi-bench-pi-$(date +%s)
new_namespace "$ns"
add_roles "$ns" app
kubectl create serviceaccount app -n "$ns" >/dev/null
"$bin" enable app -n "$ns" --pod-identity --eks-cluster "$WI_EKS_CLUSTER" --role-arn "arn:aws:iam::$WI_STS_ACCOUNT:role/bench-$ns-app" >/dev/null
await_association "$ns" app
log "verify through the Pod Identity agent, $RUNS runs"
for i in $(seq "$RUNS"); do
  start=$(date +%s%N)
  if ! "$bin" verify -n "$ns" app --sts-endpoint "$WI_STS_ENDPOINT" --ca-bundle "$WI_CA_FILE" -o json --timings \
    >"$out/run$i.jsonl" 2>"$out/run$i.err"; then
    cat "$out/run$i.err" >&2
    die "run $i failed (events in $out/run$i.jsonl)"
  fi
  echo "wall_ms=$((($(date +%s%N) - start) / 1000000))" >>"$out/wall"
  grep -q '"check":"podidentity.agent","status":"pass"' "$out/run$i.jsonl" || die "run $i did not go through the agent (events in $out/run$i.jsonl)"
  grep '^timings ' "$out/run$i.err" | sed 's/^timings //' >>"$out/timings"
done
# median KEY FILE: the median of KEY=VALUE over the lines of FILE.
median() {
  tr ' ' '\n' <"$2" | sed -n "s/^$1=//p" | grep -v '^-$' | sort -g |
    awk '{v[NR]=$1} END {if (NR==0) {print "-"; exit}; m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.1f\n", m}'
}
printf '\nkubectl wi verify on EKS Pod Identity (the agent, EKS Auth, STS): median of %d runs, milliseconds\n' "$RUNS"
printf '  %-26s %8s\n' \
  "outside checks" "$(median outside_ms "$out/timings")" \
  "create (API call)" "$(median create_ms "$out/timings")" \
  "-> running (kubelet says)" "$(median running_ms "$out/timings")" \
  "-> verdict" "$(median verdict_ms "$out/timings")" \
  "probe's own run" "$(median probe_ms "$out/timings")" \
  "total (in verify)" "$(median total_ms "$out/timings")" \
  "wall (process)" "$(median wall_ms "$out/wall")"

mig=wi-bench-migrate-$(date +%s)
new_namespace "$mig"
names=()
for i in $(seq -w 1 "$WORKLOADS"); do names+=("sa-$i"); done
add_roles "$mig" "${names[@]}"
for name in "${names[@]}"; do
  kubectl create serviceaccount "$name" -n "$mig" >/dev/null
  kubectl annotate serviceaccount "$name" -n "$mig" "eks.amazonaws.com/role-arn=arn:aws:iam::$WI_STS_ACCOUNT:role/bench-$mig-$name" >/dev/null
done
sleep 2 # the webhook's cache learns the annotations
for name in "${names[@]}"; do
  kubectl apply -n "$mig" -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: w-$name}
spec:
  replicas: 1
  selector: {matchLabels: {app: w-$name}}
  template:
    metadata: {labels: {app: w-$name}}
    spec:
      serviceAccountName: $name
      terminationGracePeriodSeconds: 0
      containers: [{name: app, image: "$WI_IDLE_IMAGE", imagePullPolicy: IfNotPresent}]
YAML
done
for name in "${names[@]}"; do
  kubectl rollout status deployment "w-$name" -n "$mig" --timeout 120s >/dev/null
done
common=(-n "$mig" --to pod-identity --eks-cluster "$WI_EKS_CLUSTER" --sts-endpoint "$WI_STS_ENDPOINT" --ca-bundle "$WI_CA_FILE")
log "migrate of $WORKLOADS IRSA workloads to Pod Identity"
start=$(date +%s%N)
"$bin" migrate "${common[@]}" >"$out/migrate.out" 2>"$out/migrate.err" || { cat "$out/migrate.out" "$out/migrate.err" >&2; die "migrate failed"; }
migrate_ms=$((($(date +%s%N) - start) / 1000000))
grep -q "^$WORKLOADS of $WORKLOADS service account(s) on EKS Pod Identity" "$out/migrate.out" || { cat "$out/migrate.out" >&2; die "migrate did not move all $WORKLOADS"; }
start=$(date +%s%N)
"$bin" migrate "${common[@]}" >"$out/rerun.out" 2>"$out/rerun.err" || { cat "$out/rerun.out" "$out/rerun.err" >&2; die "the rerun failed"; }
rerun_ms=$((($(date +%s%N) - start) / 1000000))
grep -q '^nothing to do' "$out/rerun.out" || { cat "$out/rerun.out" >&2; die "the rerun did something"; }
printf '\nkubectl wi migrate -n NS --to pod-identity of %d IRSA Deployments (associations, proofs, restarts, rollouts)\n' "$WORKLOADS"
printf '  %-26s %8d ms\n' "migrate" "$migrate_ms" "rerun (nothing to do)" "$rerun_ms"
printf '\nraw output: %s\n' "$out"
