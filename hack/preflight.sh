#!/usr/bin/env bash
# The first step of make test, done in a second: refuses now what would otherwise stop the e2e
# tests after the lint, unit and packaging steps (not root; a port, the pod network or the Pod
# Identity agent's address taken by something that is not this test bed), and says when the
# e2e tests will replace a local cluster that is running (make demo's, or make cluster-up's).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
host_free
if cluster_running; then
  log "make test replaces the local cluster running from $WI_STATE (make demo's or make cluster-up's) with its own, and removes it at the end: run 'make demo' afterwards to have the demo back"
fi
