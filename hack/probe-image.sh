#!/usr/bin/env bash
# Rebuilds kubectl-wi and its probe image ($PROBE_IMAGE) from the working tree and loads it
# into the running local cluster's containerd, so verify runs the probe code being worked on.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
alive containerd || die "the local cluster is not running: make cluster-up"
bin=$WI_STATE/bin
(cd "$here/.." && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/kubectl-wi" ./cmd/kubectl-wi)
"$bin/mkimage" -ref "$PROBE_IMAGE" -out "$WI_STATE/images/probe.tar" -entrypoint /kubectl-wi "$bin/kubectl-wi:/kubectl-wi"
ctr --address "$RUN/containerd/containerd.sock" -n k8s.io images import "$WI_STATE/images/probe.tar" >/dev/null
log "loaded $PROBE_IMAGE"
