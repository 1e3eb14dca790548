#!/usr/bin/env bash
# Benchmarks `kubectl-wi monitor run` on the running local cluster: ACCOUNTS identity service
# accounts (default 200) in one namespace, each with a role of the STS stand-in that trusts it,
# watched by the monitor (out of the cluster, as the e2e runs it) for DURATION seconds (default
# 600). It prints, per minute, the apiserver requests the monitor made by verb (from the audit
# log: watches, not LISTs, once its caches are filled) and the probe pods it created, and the
# monitor's resident memory (peak and last; the goal is 100 MB). Not a test: it prints figures.
#
#   hack/bench-monitor.sh    # or: ACCOUNTS=50 DURATION=120 INTERVAL=5m PARALLEL=4 hack/bench-monitor.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ACCOUNTS=${ACCOUNTS:-200}
DURATION=${DURATION:-600}
INTERVAL=${INTERVAL:-10m}
PARALLEL=${PARALLEL:-4}
bin=${WI_BIN:-$here/../bin/kubectl-wi}
[[ -x $bin ]] || die "$bin is missing: run make build"
alive kube-apiserver && [[ -f $WI_STATE/env ]] || die "the local cluster is not running: make cluster-up"
. "$WI_STATE/env"
[[ -f $WI_AUDIT_LOG ]] || die "no audit log at $WI_AUDIT_LOG"

ns=wi-bench-monitor-$(date +%s)
pid=""
out=$(mktemp -d)
cleanup() {
  [[ -z $pid ]] || kill -TERM "$pid" 2>/dev/null || true
  [[ -z $pid ]] || wait "$pid" 2>/dev/null || true
  kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT
kubectl create namespace "$ns" >/dev/null
until kubectl get serviceaccount default -n "$ns" >/dev/null 2>&1; do sleep 0.2; done

# One role per account, trusting it, in one write of the stand-in's configuration.
host=${WI_ISSUER#https://}
args=()
for i in $(seq "$ACCOUNTS"); do
  args+=("bench-$ns-sa$i"
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"arn:aws:iam::$WI_STS_ACCOUNT:oidc-provider/$host\"},\"Action\":\"sts:AssumeRoleWithWebIdentity\",\"Condition\":{\"StringEquals\":{\"$host:sub\":\"system:serviceaccount:$ns:sa$i\",\"$host:aud\":\"sts.amazonaws.com\"}}}]}")
done
sts_role "${args[@]}"
for i in $(seq "$ACCOUNTS"); do
  printf 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa%s\n  namespace: %s\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::%s:role/bench-%s-sa%s\n---\n' "$i" "$ns" "$WI_STS_ACCOUNT" "$ns" "$i"
done | kubectl apply -f - >/dev/null
log "$ACCOUNTS accounts in $ns; the monitor runs for ${DURATION}s (--interval $INTERVAL --parallel $PARALLEL)"

start=$(date -u +%Y-%m-%dT%H:%M:%S)
POD_NAMESPACE=$ns POD_NAME=bench-monitor AWS_EC2_METADATA_DISABLED=true "$bin" monitor run --leader-elect=false \
  --interval "$INTERVAL" --parallel "$PARALLEL" --namespaces "$ns" --metrics-addr 127.0.0.1:0 \
  --sts-endpoint "$WI_STS_ENDPOINT" --ca-bundle "$WI_CA_FILE" --image "$WI_PROBE_IMAGE" 2>"$out/monitor.log" &
pid=$!
peak=0
for _ in $(seq "$DURATION"); do
  sleep 1
  kill -0 "$pid" 2>/dev/null || die "the monitor ended early: $(tail -5 "$out/monitor.log")"
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  ((rss > peak)) && peak=$rss
done
last=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
kill -TERM "$pid"
wait "$pid" || true
pid=""

# The monitor's requests (the plugin's user agent; the kubelet, scheduler and controllers
# also write in the namespace) since it started: those in its namespace, and its cluster-wide
# ones (webhook registrations, the agent's DaemonSet).
jq -r --arg ns "$ns" --arg start "$start" '
  select(.stage == "ResponseComplete" and .requestReceivedTimestamp >= $start)
  | select((.userAgent // "") | startswith("kubectl-wi"))
  | select((.objectRef.namespace // "") == $ns
      or ((.objectRef.resource // "") | IN("mutatingwebhookconfigurations", "daemonsets")))
  | [.requestReceivedTimestamp[0:16], .verb, (.objectRef.resource // "-"), ((.objectRef.name // "") | startswith("wi-probe-"))] | @tsv' \
  "$WI_AUDIT_LOG" >"$out/requests.tsv"
echo "ACCOUNTS=$ACCOUNTS DURATION=$DURATION INTERVAL=$INTERVAL PARALLEL=$PARALLEL hack/bench-monitor.sh"
echo "minute            requests  lists  watches  probe pods created"
awk -F'\t' '{n[$1]++; if ($2 == "list") l[$1]++; if ($2 == "watch") w[$1]++; if ($2 == "create" && $3 == "pods" && $4 == "true") p[$1]++}
  END {for (m in n) printf "%s  %8d  %5d  %7d  %18d\n", m, n[m], l[m], w[m], p[m]}' "$out/requests.tsv" | sort
printf 'monitor RSS: peak %d MB, at the end %d MB (goal: 100 MB)\n' $((peak / 1024)) $((last / 1024))
log "figures in $out"
