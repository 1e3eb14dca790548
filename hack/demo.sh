#!/usr/bin/env bash
# Shows kubectl-wi on the local cluster: brings the cluster up (unless it runs), creates a
# service account and a deployment, enables identity, and shows status and verify. The cluster
# stays up afterwards for you to try things; `make cluster-down` removes it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
alive kube-apiserver || "$here/cluster-up.sh"
. "$WI_STATE/env"
export PATH=$here/../bin:$WI_K8S_BIN:$PATH
ns=demo
role=arn:aws:iam::$WI_STS_ACCOUNT:role/demo-app
show() { printf '\n$ %s\n' "$*"; "$@" || true; }

kubectl create namespace $ns --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n $ns create serviceaccount app --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n $ns create deployment web --image="$WI_IDLE_IMAGE" --dry-run=client -o yaml |
  sed 's/      containers:/      serviceAccountName: app\n      containers:/' | kubectl apply -f - >/dev/null
# The STS stand-in gets the role, trusting exactly what `kubectl wi trust-policy` generates.
policy=$(kubectl wi trust-policy -n $ns serviceaccount/app --account-id "$WI_STS_ACCOUNT" -o json)
sts_role demo-app "$policy"

show kubectl wi enable -n $ns serviceaccount/app --role-arn "$role" --wait
show kubectl wi enable -n $ns serviceaccount/app --role-arn "$role"
show kubectl wi status -n $ns
show kubectl wi trust-policy -n $ns serviceaccount/app
# No flags: the env file sets KUBECTL_WI_STS_ENDPOINT and KUBECTL_WI_CA_BUNDLE, and the node
# pulls the default probe image from the local registry.
show kubectl wi verify deployment/web -n $ns -o text
printf '\nThe cluster is still up: source %s/demo.env to run the README'"'"'s commands on it as printed (kubectl, kubectl-wi, the AWS stand-in as your AWS); make cluster-down removes it.\n' "$WI_STATE"
