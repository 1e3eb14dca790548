#!/usr/bin/env bash
# Runs the end-to-end tests on a fresh local cluster and removes the cluster on every exit
# path, failures and Ctrl-C included. Extra arguments go to `go test` (e.g. -run TestVerify).
# WI_WEBHOOK_PROFILE picks how the pod identity webhook stand-in runs: default or eks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
# The tests need a fresh cluster: one still running from $WI_STATE (make demo's, make
# cluster-up's) is replaced, and so are the leftovers of one that did not stop cleanly.
# Everything else that would stop cluster-up is refused before anything is torn down.
host_free
if cluster_running; then
  log "replacing the local cluster running from $WI_STATE with a fresh one for the e2e tests; 'make demo' brings the demo back afterwards"
fi
[[ ! -d $WI_STATE ]] || "$here/cluster-down.sh"
# E2E_KEEP_LOGS=DIR: a copy of the cluster's logs (the stand-ins', the registry's, the
# apiserver's audit log) survives the teardown there.
keep_logs() { [[ -z ${E2E_KEEP_LOGS:-} || ! -d $LOGS ]] || { mkdir -p "$E2E_KEEP_LOGS" && cp -r "$LOGS/." "$E2E_KEEP_LOGS/"; }; }
trap 'keep_logs; "$here/cluster-down.sh"' EXIT
trap 'exit 130' INT TERM
# The profile asked for, before the cluster's env says which one it runs: e2e-report holds the
# tests to the former.
profile=$WI_WEBHOOK_PROFILE
# Built before the cluster starts, so a compile error costs no cluster-up.
report="$WI_CACHE/bin/e2e-report"
(cd "$here/.." && go build -o "$report" ./hack/cmd/e2e-report)
"$here/cluster-up.sh"
. "$WI_STATE/env"
export WI_BIN=${WI_BIN:-$here/../bin/kubectl-wi}
cd "$here/.."
# The run is read through e2e-report: a line per test, the output of those that failed or
# skipped, and a failure when a test that needs this run's webhook profile skipped (the
# prefix of requireProfile's message in test/e2e), so that make e2e-eks cannot pass with its
# Pod Identity tests not run. The events are kept in $LOGS/e2e-tests.json; with -v (make
# chaos) the output of the tests that passed is printed too.
report_args=(-forbid-skip "needs webhook profile $profile (" -events "$LOGS/e2e-tests.json")
for a in "$@"; do [[ $a != -v && $a != -test.v ]] || report_args+=(-v); done
t0=$SECONDS
# The tests wait on pods, the apiserver and the stand-ins far more than they compute: four at
# a time (those that call t.Parallel; the ones that change shared state run alone first)
# keep a 2-core machine busy without starving the cluster.
go test -tags e2e -count=1 -timeout 40m -parallel 4 -json "$@" ./test/e2e/... |
  "$report" "${report_args[@]}"
log "e2e tests under webhook profile $profile: $((SECONDS - t0))s"
