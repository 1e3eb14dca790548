#!/usr/bin/env bash
# make test's e2e run under the default webhook profile, in the order a newcomer types the
# README's two commands: make demo first (it leaves its cluster up), then the e2e tests, which
# must replace that cluster, saying so, rather than refuse. Extra arguments go to go test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
log "make demo, then the e2e tests on the cluster it leaves up"
"$here/demo.sh" >"$out" 2>&1 || { cat "$out" >&2; die "make demo failed"; }
cluster_running || { cat "$out" >&2; die "make demo left no local cluster running: the sequence under test did not happen"; }
WI_WEBHOOK_PROFILE=default "$here/e2e.sh" "$@" 2>&1 | tee "$out"
grep -q "replacing the local cluster running from $WI_STATE" "$out" ||
  die "the e2e run did not say that it replaced make demo's cluster"
