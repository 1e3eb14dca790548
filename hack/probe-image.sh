#!/usr/bin/env bash
# Rebuilds kubectl-wi (make build) from the working tree and pushes its probe image to the
# running local cluster's registry, so verify runs the probe code being worked on. The node's
# copy of that tag is removed, so the next probe pod pulls the new one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
alive containerd || die "the local cluster is not running: make cluster-up"
make -C "$here/.." build >/dev/null
"$here/registry-up.sh"
ctr --address "$RUN/containerd/containerd.sock" -n k8s.io images rm "$(probe_image)" >/dev/null 2>&1 || true
log "pushed $(probe_image)"
