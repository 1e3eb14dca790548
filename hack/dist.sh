#!/usr/bin/env bash
# Builds the release archives, one platform at a time:
#   $DIST_DIR/kubectl-wi_<VERSION>_<os>_<arch>.tar.gz   (DIST_DIR defaults to dist/)
#   $DIST_DIR/kubectl-wi_<VERSION>_checksums.txt         (sha256sum of those archives)
# each holding the static binary (kubectl-wi, or kubectl-wi.exe on windows), the completion
# script kubectl runs for `kubectl wi <TAB>` (kubectl_complete-wi, or kubectl_complete-wi.cmd on
# windows), LICENSE (krew requires it inside) and README.md. The binaries stay in $DIST_DIR/build/<os>_<arch>/ for the
# probe image, with wi-probe (cmd/wi-probe, the image's probe) on linux, which no archive holds. Archives are reproducible for a given tree and Go: entries sorted, owner 0:0,
# the last commit's time, gzip without a name or time.
#
#   VERSION=v1.2.3 hack/dist.sh                  # the five release platforms
#   VERSION=v1.2.3 hack/dist.sh linux/amd64      # only these
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

PLATFORMS="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64"
VERSION=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
DIST_DIR=${DIST_DIR:-$root/dist}
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}

need_cmd go
need_cmd tar
need_cmd gzip
if (($# > 0)); then PLATFORMS="$*"; fi
mkdir -p "$DIST_DIR"
cd "$root"
for p in $PLATFORMS; do
  goos=${p%/*} goarch=${p#*/}
  [[ $p == */* && -n $goos && -n $goarch ]] || die "bad platform $p: want OS/ARCH"
  exe=kubectl-wi comp=kubectl_complete-wi
  [[ $goos == windows ]] && exe=kubectl-wi.exe comp=kubectl_complete-wi.cmd
  stage=$DIST_DIR/build/${goos}_$goarch
  archive=$DIST_DIR/kubectl-wi_${VERSION}_${goos}_$goarch.tar.gz
  log "building $archive"
  rm -rf "$stage"
  mkdir -p "$stage"
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath \
    -ldflags "$(VERSION=$VERSION "$here/ldflags.sh")" -o "$stage/$exe" ./cmd/kubectl-wi
  if [[ $goos == linux ]]; then
    CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath \
      -ldflags "$(VERSION=$VERSION "$here/ldflags.sh")" -o "$stage/wi-probe" ./cmd/wi-probe
  fi
  cp LICENSE README.md "completion/$comp" "$stage/"
  tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
    --mode='u+rwX,go+rX,go-w' --format=gnu -cf - "$exe" "$comp" LICENSE README.md |
    gzip -9n >"$archive.tmp"
  mv "$archive.tmp" "$archive"
done
# The checksums of every archive of this version in DIST_DIR, for `sha256sum -c`.
(cd "$DIST_DIR" && sha256sum kubectl-wi_"${VERSION}"_*.tar.gz >"kubectl-wi_${VERSION}_checksums.txt")
for p in $PLATFORMS; do
  f=$DIST_DIR/kubectl-wi_${VERSION}_${p%/*}_${p#*/}.tar.gz
  printf '%10d  %s\n' "$(stat -c %s "$f")" "${f#"$root"/}"
done
