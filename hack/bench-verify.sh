#!/usr/bin/env bash
# Benchmarks `kubectl wi verify` on the local cluster: RUNS runs (default 10) against the STS
# stand-in, each split by verify's hidden --timings into outside checks, create, scheduled,
# running, first event, verdict and pod gone, and the median of each; the plugin's own overhead
# once the pod runs; and the probe image's size. Uses the running cluster, or brings one up and
# takes it down again. Not a test: it prints figures, and fails only when verify does.
#
#   make bench-verify            # or: RUNS=20 hack/bench-verify.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
RUNS=${RUNS:-10}
bin=${WI_BIN:-$here/../bin/kubectl-wi}
[[ -x $bin ]] || die "$bin is missing: run make build"

started=""
ns=""
cleanup() {
  [[ -z $ns ]] || kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  [[ -z $started ]] || "$here/cluster-down.sh"
}
trap cleanup EXIT
if ! alive kube-apiserver || [[ ! -f $WI_STATE/env ]]; then
  log "no local cluster runs: bringing one up (it goes down at the end)"
  started=1
  "$here/cluster-up.sh"
fi
. "$WI_STATE/env"
# The probe of this working tree, so the figures are this code's.
"$here/probe-image.sh"

ns=wi-bench-$(date +%s)
kubectl create namespace "$ns" >/dev/null
until kubectl get serviceaccount default -n "$ns" >/dev/null 2>&1; do sleep 0.2; done

# A role of the STS stand-in that trusts the service account: appended to its configuration
# (roles is its last key), which it reads again when the file changes.
grep -q '^roles:' "$WI_STATE/sts.yaml" && [[ $(grep -n '^[a-z]' "$WI_STATE/sts.yaml" | tail -1) == *roles:* ]] ||
  die "unexpected layout of $WI_STATE/sts.yaml: roles is not its last key"
host=${WI_ISSUER#https://}
role=bench-$ns
tmp=$WI_STATE/sts.yaml.bench
cp "$WI_STATE/sts.yaml" "$tmp"
printf -- "- name: %s\n  trustPolicy: '%s'\n" "$role" \
  "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"arn:aws:iam::$WI_STS_ACCOUNT:oidc-provider/$host\"},\"Action\":\"sts:AssumeRoleWithWebIdentity\",\"Condition\":{\"StringEquals\":{\"$host:sub\":\"system:serviceaccount:$ns:app\",\"$host:aud\":\"sts.amazonaws.com\"}}}]}" >>"$tmp"
mv "$tmp" "$WI_STATE/sts.yaml"
kubectl create serviceaccount app -n "$ns" >/dev/null
kubectl annotate serviceaccount app -n "$ns" "eks.amazonaws.com/role-arn=arn:aws:iam::$WI_STS_ACCOUNT:role/$role" >/dev/null
sleep 1 # the stand-in notices the new role

out=$(mktemp -d)
log "verify, $RUNS runs"
for i in $(seq "$RUNS"); do
  start=$(date +%s%N)
  if ! "$bin" verify -n "$ns" app --sts-endpoint "$WI_STS_ENDPOINT" --ca-bundle "$WI_CA_FILE" -o json --timings \
    >"$out/run$i.jsonl" 2>"$out/run$i.err"; then
    cat "$out/run$i.err" >&2
    die "run $i failed (events in $out/run$i.jsonl)"
  fi
  end=$(date +%s%N)
  echo "wall_ms=$(((end - start) / 1000000))" >>"$out/wall"
  grep '^timings ' "$out/run$i.err" | sed 's/^timings //' >>"$out/timings"
done

# median KEY FILE: the median of KEY=VALUE over the lines of FILE.
median() {
  tr ' ' '\n' <"$2" | sed -n "s/^$1=//p" | grep -v '^-$' | sort -g |
    awk '{v[NR]=$1} END {if (NR==0) {print "-"; exit}; m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.1f\n", m}'
}
printf '\nkubectl wi verify on the local cluster: median of %d runs, milliseconds\n' "$RUNS"
printf '  %-26s %8s\n' \
  "outside checks" "$(median outside_ms "$out/timings")" \
  "create (API call)" "$(median create_ms "$out/timings")" \
  "-> scheduled" "$(median scheduled_ms "$out/timings")" \
  "-> running (kubelet says)" "$(median running_ms "$out/timings")" \
  "-> first event" "$(median first_event_ms "$out/timings")" \
  "-> verdict" "$(median verdict_ms "$out/timings")" \
  "-> pod gone" "$(median gone_ms "$out/timings")" \
  "total (in verify)" "$(median total_ms "$out/timings")" \
  "wall (process)" "$(median wall_ms "$out/wall")" \
  "probe's own run" "$(median probe_ms "$out/timings")" \
  "overhead after running" "$(median overhead_after_running_ms "$out/timings")" \
  "probe result -> verdict" "$(median log_latency_ms "$out/timings")"
# The image as the registry stores it: its compressed size, as mkimage reported the push.
size=$(sed -n 's/^linux\/amd64: \([0-9]*\) bytes compressed$/\1/p' "$WI_STATE/logs/probe-push.log")
printf '  %-26s %8s bytes (%.1f MiB)\n' "probe image, compressed" "$size" "$(echo "$size" | awk '{print $1/1048576}')"
printf '\nraw timings: %s/timings\n' "$out"
