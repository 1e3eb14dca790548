#!/usr/bin/env bash
# make bench-probe-image: the probe image's compressed size per platform, and the cold
# pull-to-running time of a probe pod, against the image of the whole plugin that releases
# shipped before cmd/wi-probe existed (built from the commit before cmd/wi-probe's first, in a
# temporary worktree).
#
# Sizes: each image is built as the release builds it (hack/dist.sh's GOOS/GOARCH build with
# hack/ldflags.sh, then mkimage -format oci for linux/amd64 and linux/arm64), and the size is
# the sum of a platform's manifest, config and gzip layer blobs: what a node downloads.
# Pull to running: both images are pushed to the local cluster's registry under the tags
# bench-probe-new and bench-probe-old (linux/amd64, as hack/registry-up.sh pushes), the node's
# copy is removed before each pod (ctr images rm, as hack/probe-image.sh does), and the time
# from the pod's create to its container having started (phase Running, or already done) is
# measured BENCH_RUNS (3) times each, alternating. The pod runs the image's entrypoint with
# --help, which needs nothing from the cluster; its namespace is deleted at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"
runs=${BENCH_RUNS:-3}
alive containerd && [[ -f $WI_STATE/env ]] || die "the local cluster is not running: make cluster-up"
. "$WI_STATE/env"
kubectl=$WI_K8S_BIN/kubectl

tmp=$(mktemp -d)
ns=wi-bench-probe-image-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
old_rev=$(git -C "$repo" log --format=%H --reverse -- cmd/wi-probe | head -1)^
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  "$kubectl" delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  git -C "$repo" worktree remove --force "$tmp/old" >/dev/null 2>&1 || true
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$repo" && go build -o "$tmp/mkimage" ./hack/cmd/mkimage)
# build DIR PKG NAME: linux/amd64 and linux/arm64 binaries of PKG as the release builds them.
build() {
  local dir=$1 pkg=$2 name=$3 arch
  for arch in amd64 arm64; do
    (cd "$dir" && CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath \
      -ldflags "$(VERSION=bench hack/ldflags.sh)" -o "$tmp/$name/linux_$arch/$name" "$pkg")
  done
}
log "building wi-probe (this tree) for linux/amd64 and linux/arm64"
build "$repo" ./cmd/wi-probe wi-probe
log "building the whole plugin at $(git -C "$repo" rev-parse --short "$old_rev") (the image before cmd/wi-probe)"
git -C "$repo" worktree add -q --detach "$tmp/old" "$old_rev"
build "$tmp/old" ./cmd/kubectl-wi kubectl-wi

# size TAR PLATFORM: bytes of that platform's manifest, config and layers in an OCI layout tarball.
size() {
  local tar=$1 arch=${2#linux/} index manifest
  index=$(tar -xOf "$tar" index.json | jq -r '.manifests[0].digest | sub(":"; "/")')
  manifest=$(tar -xOf "$tar" "blobs/$index" | jq -r --arg a "$arch" '.manifests[] | select(.platform.architecture == $a) | .digest')
  tar -xOf "$tar" "blobs/${manifest/://}" |
    jq --argjson m "$(tar -xOf "$tar" "blobs/${manifest/://}" | wc -c)" '$m + .config.size + ([.layers[].size] | add)'
}
declare -A entry=([new]=/wi-probe [old]=/kubectl-wi) bin=([new]=wi-probe [old]=kubectl-wi)
echo "BENCH_RUNS=$runs make bench-probe-image  (old image: the whole plugin at $(git -C "$repo" rev-parse --short "$old_rev"), new: $(git -C "$repo" rev-parse --short HEAD))"
printf '%-28s %14s %14s\n' image "linux/amd64" "linux/arm64"
for v in new old; do
  "$tmp/mkimage" -format oci -platform linux/amd64,linux/arm64 -ref "wi.local/bench-probe:$v" -out "$tmp/$v.tar" \
    -entrypoint "${entry[$v]}" "$tmp/${bin[$v]}/{os}_{arch}/${bin[$v]}:${entry[$v]}"
  printf '%-28s %11.2f MiB %11.2f MiB\n' "$v (${bin[$v]})" \
    "$(awk -v b="$(size "$tmp/$v.tar" linux/amd64)" 'BEGIN { print b / 1048576 }')" \
    "$(awk -v b="$(size "$tmp/$v.tar" linux/arm64)" 'BEGIN { print b / 1048576 }')"
done
echo

alive wi-registry || die "the local registry is not running (hack/registry-up.sh starts it)"
repo_ref=$(image_repository)
for v in new old; do
  "$tmp/mkimage" -format oci -platform linux/amd64 -entrypoint "${entry[$v]}" \
    -push "$REGISTRY/$(image_path "$repo_ref"):bench-probe-$v" "$tmp/${bin[$v]}/{os}_{arch}/${bin[$v]}:${entry[$v]}" 2>"$tmp/push.log" ||
    { cat "$tmp/push.log" >&2; die "push of the $v image failed"; }
done
"$kubectl" create namespace "$ns" >/dev/null

now() { date +%s.%N; }
# started NAME: waits until the pod's container has started (Running, Succeeded or Failed).
started() {
  local phase
  for _ in $(seq 1 1200); do
    phase=$("$kubectl" get pod "$1" -n "$ns" -o jsonpath='{.status.phase}')
    [[ $phase == Running || $phase == Succeeded || $phase == Failed ]] && return 0
    sleep 0.05
  done
  die "pod $1 did not start within a minute"
}
declare -A took=([new]="" [old]="")
for i in $(seq 1 "$runs"); do
  for v in new old; do
    image=$repo_ref:bench-probe-$v
    ctr --address "$RUN/containerd/containerd.sock" -n k8s.io images rm "$image" >/dev/null 2>&1 || true
    t0=$(now)
    "$kubectl" run "probe-$v-$i" -n "$ns" --image "$image" --image-pull-policy Always --restart Never \
      --overrides '{"spec":{"automountServiceAccountToken":false}}' -- --help >/dev/null
    started "probe-$v-$i"
    took[$v]+="$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }') "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '%-28s %s\n' "pod create to started (s)" "runs, median"
for v in new old; do
  printf '%-28s %s median %s\n' "$v (${bin[$v]})" "${took[$v]}" "$(median <<<"${took[$v]}")"
done
echo "(the poll of the pod's phase adds up to ~0.1 s plus one kubectl call to each figure)"
