#!/usr/bin/env bash
# Starts the local OCI registry (hack/cmd/wi-registry) on 127.0.0.1 and pushes the probe image
# of the kubectl-wi under test there (wi-probe, built beside it) with the project's push path (mkimage -push), under the
# path of its default image. node-up.sh points containerd at this registry for that image's
# registry name, so the node pulls the image by reference, as a cluster pulls a published one.
# Called by cluster-up.sh; again by probe-image.sh after a rebuild.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$WI_STATE/bin
image=$(probe_image)
[[ -n $image ]] || die "$WI_BIN names no probe image (kubectl-wi version): run make build"

if ! alive wi-registry; then
  log "starting the OCI registry on $REGISTRY"
  start wi-registry "$bin/wi-registry" --listen "$REGISTRY" --dir "$DATA/registry"
  wait_for "OCI registry" 30 wi-registry curl -fsS "http://$REGISTRY/v2/"
fi
probe=$(dirname "$WI_BIN")/wi-probe
[[ -x $probe ]] || die "$probe is missing: make build builds it beside $WI_BIN"
log "pushing $image (linux/amd64, $probe) to $REGISTRY"
"$bin/mkimage" -format oci -platform linux/amd64 -entrypoint /wi-probe \
  -push "$REGISTRY/$(image_path "$image")" "$probe:/wi-probe" 2>"$LOGS/probe-push.log" ||
  { cat "$LOGS/probe-push.log" >&2; die "push of the probe image failed"; }
# The plugin image beside it, for the monitor (monitor install's default image).
"$(dirname "$0")/plugin-image.sh" --no-build
