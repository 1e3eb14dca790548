#!/usr/bin/env bash
# Benchmarks `kubectl wi verify` on the local cluster: RUNS runs (default 10) against the STS
# stand-in, each split by verify's hidden --timings into outside checks, create, scheduled,
# running, first event, verdict and pod gone, and the median of each; the plugin's own overhead
# once the pod runs; and the probe image's size. Uses the running cluster, or brings one up and
# takes it down again. Then the fleet: FLEET service accounts (default 30) of one namespace
# proven one verify after another, against one fleet run (`verify -n NS`, --parallel
# PARALLEL, verify's default unless set), with both wall times and the ratio; and, on a
# deployment of the account, verify --in-pod against the probe pod (median wall time of RUNS
# runs each). Not a test: it prints figures, and fails only when verify does.
#
#   make bench-verify            # or: RUNS=20 FLEET=50 PARALLEL=16 hack/bench-verify.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
RUNS=${RUNS:-10}
FLEET=${FLEET:-30}
PARALLEL=${PARALLEL:-}
bin=${WI_BIN:-$here/../bin/kubectl-wi}
[[ -x $bin ]] || die "$bin is missing: run make build"

started=""
ns=""
fleet_ns=""
cleanup() {
  [[ -z $ns ]] || kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  [[ -z $fleet_ns ]] || kubectl delete namespace "$fleet_ns" --wait=false >/dev/null 2>&1 || true
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

# A role of the STS stand-in that trusts the service account, added to its configuration as
# data (hack/cmd/sts-role): the stand-in reads the file again when it changes.
host=${WI_ISSUER#https://}
# add_roles NS NAME...: a role bench-NS-NAME per account NS/NAME, trusting it, in one write.
add_roles() {
  local ns=$1 name args=()
  shift
  for name in "$@"; do
    args+=("bench-$ns-$name"
      "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"arn:aws:iam::$WI_STS_ACCOUNT:oidc-provider/$host\"},\"Action\":\"sts:AssumeRoleWithWebIdentity\",\"Condition\":{\"StringEquals\":{\"$host:sub\":\"system:serviceaccount:$ns:$name\",\"$host:aud\":\"sts.amazonaws.com\"}}}]}")
  done
  sts_role "${args[@]}"
  for name in "$@"; do
    kubectl create serviceaccount "$name" -n "$ns" >/dev/null
    kubectl annotate serviceaccount "$name" -n "$ns" "eks.amazonaws.com/role-arn=arn:aws:iam::$WI_STS_ACCOUNT:role/bench-$ns-$name" >/dev/null
  done
  sleep 1 # the stand-in notices the new roles
}
add_roles "$ns" app

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

# --in-pod against the probe pod, on one deployment of the same account: the wall time of each,
# RUNS runs, one after the other (each in-pod run leaves a terminated ephemeral container in
# the same pod, as it says).
kubectl create deployment web -n "$ns" --image="$WI_IDLE_IMAGE" --dry-run=client -o yaml |
  sed 's/      containers:/      serviceAccountName: app\n      containers:/' | kubectl apply -f - >/dev/null
kubectl rollout status deployment/web -n "$ns" --timeout=120s >/dev/null
for mode in probe-pod in-pod; do
  flags=()
  [[ $mode == in-pod ]] && flags=(--in-pod)
  log "verify deployment/web ($mode), $RUNS runs"
  for i in $(seq "$RUNS"); do
    start=$(date +%s%N)
    "$bin" verify -n "$ns" deployment/web "${flags[@]}" --sts-endpoint "$WI_STS_ENDPOINT" --ca-bundle "$WI_CA_FILE" -o json \
      >"$out/$mode-$i.jsonl" 2>"$out/$mode-$i.err" || { cat "$out/$mode-$i.err" >&2; die "$mode run $i failed (events in $out/$mode-$i.jsonl)"; }
    echo "wall_ms=$((($(date +%s%N) - start) / 1000000))" >>"$out/$mode.wall"
  done
done
printf '
kubectl wi verify deployment/web: median wall time of %d runs
' "$RUNS"
printf '  %-26s %8s ms
' "probe pod" "$(median wall_ms "$out/probe-pod.wall")" "--in-pod" "$(median wall_ms "$out/in-pod.wall")"

fleet_ns=wi-bench-fleet-$(date +%s)
kubectl create namespace "$fleet_ns" >/dev/null
until kubectl get serviceaccount default -n "$fleet_ns" >/dev/null 2>&1; do sleep 0.2; done
names=()
for i in $(seq -w 1 "$FLEET"); do names+=("sa-$i"); done
add_roles "$fleet_ns" "${names[@]}"
sleep 2 # the webhook's cache learns the annotations
common=(--sts-endpoint "$WI_STS_ENDPOINT" --ca-bundle "$WI_CA_FILE" -o json)
log "fleet: $FLEET service accounts, one verify after another"
start=$(date +%s%N)
for name in "${names[@]}"; do
  "$bin" verify -n "$fleet_ns" "$name" "${common[@]}" >"$out/single-$name.jsonl" 2>"$out/single-$name.err" ||
    { cat "$out/single-$name.err" >&2; die "verify $name failed (events in $out/single-$name.jsonl)"; }
done
singles_ms=$((($(date +%s%N) - start) / 1000000))
log "fleet: the same $FLEET in one run"
parallel=()
[[ -z $PARALLEL ]] || parallel=(--parallel "$PARALLEL")
start=$(date +%s%N)
"$bin" verify -n "$fleet_ns" "${common[@]}" "${parallel[@]}" >"$out/fleet.jsonl" 2>"$out/fleet.err" ||
  { cat "$out/fleet.err" >&2; die "the fleet run failed (events in $out/fleet.jsonl)"; }
fleet_ms=$((($(date +%s%N) - start) / 1000000))
verdicts=$(grep -c '"type":"result","status":"pass"' "$out/fleet.jsonl" || true)
[[ $verdicts == "$FLEET" ]] || die "the fleet run passed $verdicts accounts, not $FLEET"
printf '\nkubectl wi verify of %d service accounts (--parallel %s)\n' "$FLEET" "${PARALLEL:-default}"
printf '  %-26s %8d ms\n' "one after another" "$singles_ms" "one fleet run" "$fleet_ms"
printf '  %-26s %8s\n' "ratio" "$(awk -v a="$singles_ms" -v b="$fleet_ms" 'BEGIN {printf "%.1fx", a/b}')"
