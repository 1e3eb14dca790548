#!/usr/bin/env bash
# Builds every artefact a release publishes, for VERSION (a semantic version with a leading v),
# into $DIST_DIR (dist/):
#   kubectl-wi_<VERSION>_<os>_<arch>.tar.gz   the five platform archives (hack/dist.sh)
#   kubectl-wi-image_<VERSION>.tar            the probe image, linux/amd64 and linux/arm64, as an
#                                              OCI image layout tarball, from the same binaries
#   kubectl-wi-plugin-image_<VERSION>.tar     the plugin image (the whole kubectl-wi and CA roots,
#                                              what `monitor install` runs), the same two platforms
#   kubectl-wi_<VERSION>_krew.yaml            .krew.yaml rendered for these archives, validated:
#                                              what krew-release-bot submits to the krew index
#   kubectl-wi_<VERSION>_checksums.txt        sha256 of all of the above
# With --push it also pushes the probe image to $IMAGE_REPO:<VERSION> and the plugin image to
# $IMAGE_REPO-plugin:<VERSION> (the release workflow does, logged in to the registry); without,
# nothing leaves this machine (make release-dry-run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

push=false
[[ ${1:-} == --push ]] && push=true
VERSION=${VERSION:?VERSION=vX.Y.Z is required}
DIST_DIR=${DIST_DIR:-$root/dist}
IMAGE_REPO=${PROBE_REPO:-$(image_repository)}
[[ $VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "VERSION $VERSION is not a release version (vX.Y.Z, maybe -pre.release)"
export VERSION DIST_DIR

cd "$root"
rm -f "$DIST_DIR"/kubectl-wi_"$VERSION"_* "$DIST_DIR/kubectl-wi-image_$VERSION.tar" "$DIST_DIR/kubectl-wi-plugin-image_$VERSION.tar"
"$here/dist.sh"
archives=("$DIST_DIR"/kubectl-wi_"$VERSION"_*.tar.gz)
image_tar=$DIST_DIR/kubectl-wi-image_$VERSION.tar
mkimage=(go run ./hack/cmd/mkimage -format oci -platform linux/amd64,linux/arm64 -entrypoint /wi-probe)
src="$DIST_DIR/build/{os}_{arch}/wi-probe:/wi-probe"
log "writing $image_tar ($IMAGE_REPO:$VERSION)"
"${mkimage[@]}" -ref "$IMAGE_REPO:$VERSION" -out "$image_tar" "$src"
plugin_tar=$DIST_DIR/kubectl-wi-plugin-image_$VERSION.tar
plugin_mkimage=(go run ./hack/cmd/mkimage -format oci -platform linux/amd64,linux/arm64 -entrypoint /kubectl-wi)
layout=$(mktemp -d)
plugin_image_layout "$layout/etc"
plugin_src=("$DIST_DIR/build/{os}_{arch}/kubectl-wi:/kubectl-wi" "$layout/etc:/etc")
log "writing $plugin_tar ($IMAGE_REPO-plugin:$VERSION)"
"${plugin_mkimage[@]}" -ref "$IMAGE_REPO-plugin:$VERSION" -out "$plugin_tar" "${plugin_src[@]}"

krew=$DIST_DIR/kubectl-wi_${VERSION}_krew.yaml
log "rendering $krew"
go run ./hack/cmd/krew-manifest -template .krew.yaml -version "$VERSION" -o "$krew" "${archives[@]}"
"$here/install-krew.sh"
# validate-krew-manifest takes the plugin's name from the file's.
check_dir=$(mktemp -d)
trap 'rm -rf "$check_dir" "$layout"' EXIT
cp "$krew" "$check_dir/wi.yaml"
"$root/hack/tools/bin/validate-krew-manifest" -manifest "$check_dir/wi.yaml" -skip-install

(cd "$DIST_DIR" && sha256sum "${archives[@]##*/}" "${image_tar##*/}" "${plugin_tar##*/}" "${krew##*/}" >"kubectl-wi_${VERSION}_checksums.txt")

if $push; then
  log "pushing $IMAGE_REPO:$VERSION"
  "${mkimage[@]}" -push "$IMAGE_REPO:$VERSION" "$src"
  log "pushing $IMAGE_REPO-plugin:$VERSION"
  "${plugin_mkimage[@]}" -push "$IMAGE_REPO-plugin:$VERSION" "${plugin_src[@]}"
fi
log "release artefacts of $VERSION:"
(cd "$DIST_DIR" && ls -l "${archives[@]##*/}" "${image_tar##*/}" "${plugin_tar##*/}" "${krew##*/}" "kubectl-wi_${VERSION}_checksums.txt" >&2)
