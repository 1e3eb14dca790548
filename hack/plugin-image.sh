#!/usr/bin/env bash
# Rebuilds kubectl-wi (make build) from the working tree and pushes its plugin image (the whole
# binary at /kubectl-wi and CA roots; what `monitor install` runs) to the running local
# cluster's registry under the path of its default image, as registry-up.sh pushes the probe's.
# The node's copy of that tag is removed, so the next monitor pod pulls the new one.
#   hack/plugin-image.sh            build, then push
#   hack/plugin-image.sh --no-build push the kubectl-wi already built (registry-up.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
alive wi-registry || die "the local registry is not running: make cluster-up"
[[ ${1:-} == --no-build ]] || make -C "$here/.." build >/dev/null
image=$(plugin_image)
[[ -n $image ]] || die "$WI_BIN names no plugin image (kubectl-wi version): run make build"
layout=$(mktemp -d)
trap 'rm -rf "$layout"' EXIT
plugin_image_layout "$layout/etc"
log "pushing $image (linux/amd64, $WI_BIN) to $REGISTRY"
"$WI_STATE/bin/mkimage" -format oci -platform linux/amd64 -entrypoint /kubectl-wi \
  -push "$REGISTRY/$(image_path "$image")" "$WI_BIN:/kubectl-wi" "$layout/etc:/etc" 2>"$LOGS/plugin-push.log" ||
  { cat "$LOGS/plugin-push.log" >&2; die "push of the plugin image failed"; }
if alive containerd; then
  ctr --address "$RUN/containerd/containerd.sock" -n k8s.io images rm "$image" >/dev/null 2>&1 || true
fi
log "pushed $image"
