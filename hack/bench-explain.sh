#!/usr/bin/env bash
# make bench-explain: `kubectl wi explain` on 200 service accounts of the local cluster, on 20
# roles of the AWS stand-in: the wall time and the AWS calls of explain reading IAM (about one
# per distinct role, not per account), then of the same 200 proven by --exchange (one STS
# round trip each, no pod). Prints figures, asserts none.
#
# Uses the running local cluster, or brings one up (and down again at the end) when there is
# none. Environment: BENCH_ACCOUNTS (200), BENCH_ROLES (20); WI_BIN (bin/kubectl-wi).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

wi=${WI_BIN:-$repo/bin/kubectl-wi}
[[ -x $wi ]] || die "$wi is not built: run 'make build' (or make bench-explain)"
tmp=$(mktemp -d)
brought_up=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((brought_up)); then
    log "stopping the cluster this script brought up"
    "$here/cluster-down.sh" || rc=1
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -f $WI_STATE/env ]] && alive kube-apiserver; then
  log "using the running local cluster ($WI_STATE)"
else
  log "no local cluster is running: bringing one up (and down again at the end)"
  [[ -d $RUN ]] && "$here/cluster-down.sh"
  brought_up=1
  "$here/cluster-up.sh"
fi
. "$WI_STATE/env"

(cd "$repo" && go build -o "$tmp/bench-explain" ./hack/cmd/bench-explain)
"$tmp/bench-explain" -bin "$wi" -accounts "${BENCH_ACCOUNTS:-200}" -roles "${BENCH_ROLES:-20}"
