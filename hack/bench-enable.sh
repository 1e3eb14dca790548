#!/usr/bin/env bash
# make bench-enable: `kubectl wi enable -l` against the shell loop it replaces, on the local
# cluster, in the same run.
#
# Three namespaces, each with service accounts bench-NNNN labelled kubectl-wi/bench=enable and
# one Deployment of one replica per account (Pending pods; see hack/cmd/bench-enable):
#   plugin  N accounts:     bin/kubectl-wi enable -n NS -l kubectl-wi/bench=enable --role-arn ARN
#   shell   N accounts:     for each: kubectl annotate sa ... role-arn=ARN; kubectl rollout restart deployment/...
#   small   SMALL accounts: the same enable, to show its LIST requests do not grow with N
# It prints each one's wall time and API requests (from the apiserver's audit log, told apart
# by the program name each runs under), and the ratio. The cluster is brought up first when it
# is not running, and taken down at the end only then; the namespaces are deleted on every
# exit path, waiting until they are gone.
#
#   N=500 SMALL=100 hack/bench-enable.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
N=${N:-500}
SMALL=${SMALL:-100}
ROLE=${ROLE:-arn:aws:iam::111122223333:role/bench-enable}
SELECTOR=kubectl-wi/bench=enable
wi=$here/../bin/kubectl-wi
[[ -x $wi ]] || die "$wi is missing: run make build (make bench-enable does)"

up_here=
if [[ ! -f $WI_STATE/env ]] || ! alive kube-apiserver; then
  log "the local cluster is not running: bringing it up"
  up_here=1
  "$here/cluster-up.sh"
fi
. "$WI_STATE/env"
kubectl=$WI_K8S_BIN/kubectl
"$kubectl" get --raw /readyz >/dev/null || die "the apiserver does not answer (KUBECONFIG=$KUBECONFIG)"

work=$(mktemp -d)
suffix=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
ns_plugin=wi-bench-plugin-$suffix
ns_shell=wi-bench-shell-$suffix
ns_small=wi-bench-small-$suffix

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  log "deleting the bench namespaces and waiting until they are gone"
  "$kubectl" delete namespace "$ns_plugin" "$ns_shell" "$ns_small" --ignore-not-found --wait=true --timeout=15m >/dev/null ||
    log "warning: the bench namespaces are not gone yet: $kubectl get ns -l $SELECTOR"
  rm -rf "$work"
  if [[ -n $up_here ]]; then
    "$here/cluster-down.sh"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building the bench helper"
go build -o "$work/bench" "$here/cmd/bench-enable"
bench=$work/bench

for ns in "$ns_small:$SMALL" "$ns_plugin:$N" "$ns_shell:$N"; do
  log "seeding ${ns%%:*} with ${ns##*:} accounts and Deployments"
  "$bench" seed -namespace "${ns%%:*}" -n "${ns##*:}" >&2
done

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# enable_run NS AGENT: enable -l in NS under the program name AGENT; sets $took and $counts.
enable_run() {
  local ns=$1 agent=$2 mark t0 t1
  mark=$("$bench" mark)
  t0=$(now)
  (exec -a "$agent" "$wi" enable -n "$ns" -l "$SELECTOR" --role-arn "$ROLE" >"$work/$agent.out" 2>&1) ||
    { cat "$work/$agent.out" >&2; die "enable in $ns failed"; }
  t1=$(now)
  took=$(secs "$t0" "$t1")
  counts=$("$bench" count -mark "$mark" -agent "$agent" -namespace "$ns")
}

log "plugin, $SMALL accounts: enable -l"
enable_run "$ns_small" "kubectl-wi-bench-small-$suffix"
small_took=$took small_counts=$counts
small_restarted=$(grep -c ' restarted: ' "$work/kubectl-wi-bench-small-$suffix.out" || true)

"$bench" settle -namespace "$ns_small" -n "$SMALL" >&2
log "plugin, $N accounts: enable -l"
enable_run "$ns_plugin" "kubectl-wi-bench-plugin-$suffix"
plugin_took=$took plugin_counts=$counts
plugin_annotated=$(grep -c '^serviceaccount/.* annotated' "$work/kubectl-wi-bench-plugin-$suffix.out" || true)
plugin_restarted=$(grep -c ' restarted: ' "$work/kubectl-wi-bench-plugin-$suffix.out" || true)

"$bench" settle -namespace "$ns_plugin" -n "$N" >&2
log "shell loop, $N accounts: kubectl annotate + kubectl rollout restart per account"
agent=kubectl-bench-shell-$suffix
mark=$("$bench" mark)
t0=$(now)
for ((i = 0; i < N; i++)); do
  name=$(printf 'bench-%04d' "$i")
  (exec -a "$agent" "$kubectl" annotate serviceaccount -n "$ns_shell" "$name" "eks.amazonaws.com/role-arn=$ROLE" --overwrite >/dev/null)
  (exec -a "$agent" "$kubectl" rollout restart -n "$ns_shell" "deployment/$name" >/dev/null)
done
t1=$(now)
shell_took=$(secs "$t0" "$t1")
shell_counts=$("$bench" count -mark "$mark" -agent "$agent" -namespace "$ns_shell")
"$bench" settle -namespace "$ns_shell" -n "$N" >&2

field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$2"; }
row() { printf '%-34s %9s %6s %6s %6s %6s %7s\n' "$@"; }
echo
echo "kubectl wi enable -l vs kubectl annotate + rollout restart, $(date -u +%Y-%m-%dT%H:%MZ), Kubernetes $("$kubectl" version -o json | jq -r .serverVersion.gitVersion)"
row "run" "wall (s)" "LIST" "GET" "PATCH" "other" "total"
for r in "plugin enable -l, N=$SMALL|$small_took|$small_counts" \
  "plugin enable -l, N=$N|$plugin_took|$plugin_counts" \
  "shell loop, N=$N|$shell_took|$shell_counts"; do
  IFS='|' read -r label took counts <<<"$r"
  row "$label" "$took" "$(field list "$counts")" "$(field get "$counts")" "$(field patch "$counts")" "$(field other "$counts")" "$(field total "$counts")"
done
echo
echo "plugin, N=$N: $plugin_annotated service accounts annotated, $plugin_restarted Deployments restarted (N=$SMALL: $small_restarted restarted)"
ratio=$(awk -v a="$shell_took" -v b="$plugin_took" 'BEGIN { printf "%.1f", a / b }')
echo "measured with: N=$N SMALL=$SMALL make bench-enable"
echo "speed-up at N=$N: ${ratio}x (target >= 30x; the shell loop's time moves with the machine's load, the request counts do not)"
echo "LIST requests: $(field list "$small_counts") at N=$SMALL, $(field list "$plugin_counts") at N=$N (target: not growing with N;" \
  "one per kind, read in pages of 500 objects, so a namespace with more than 500 service accounts adds a page)"
