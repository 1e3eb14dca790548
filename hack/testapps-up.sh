#!/usr/bin/env bash
# Builds the test bed's app images (hack/testapps/README.md): Go apps built against real AWS
# SDKs, a Node layout and a Python layout of real SDK metadata with the idle binary as their
# process, and the log app. Writes one docker-archive per app to $WI_STATE/images (node-up.sh
# imports every tar there, so pods use them with imagePullPolicy IfNotPresent) and the images'
# names and the SDK versions each carries to $WI_STATE/testapps.env (cluster-up.sh appends it
# to the tests' env file).
#
# Downloads happen here, never in a test: Go modules through the module proxy, npm packages
# with npm pack, both cached under $WI_CACHE/testapps; the Python metadata is Debian's
# python3-botocore (hack/deps.sh). Each binary is cached under a hash of its sources and each
# image under a hash of its contents, so a warm run only copies images. It needs neither root
# nor a cluster: WI_STATE=$(mktemp -d) hack/testapps-up.sh builds every image alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

need_cmd go
need_cmd npm
need_cmd node
need_cmd sha256sum

# The npm packages of the Node layout: aws-sdk (JavaScript v2) before 2.1550.0, which added
# EKS Pod Identity, and a recent JavaScript v3 credential chain.
NPM_PACKAGES=(
  aws-sdk@2.1500.0
  @aws-sdk/credential-providers@3.1178.0
  @aws-sdk/credential-provider-node@3.972.99
  @aws-sdk/credential-provider-http@3.972.88
)
NODE_APP_DIR=/app
# Debian's botocore, and where Debian's Python finds it.
BOTOCORE_PACKAGE=python3-botocore
DIST_PACKAGES=/usr/lib/python3/dist-packages

cache=$WI_CACHE/testapps
images=$WI_STATE/images
mkdir -p "$cache/bin" "$cache/npm" "$cache/images" "$images"
work=$(mktemp -d "${TMPDIR:-/tmp}/wi-testapps.XXXXXX")
trap 'rm -rf "$work"' EXIT

# tree_hash PATH...: a short hash of the files under PATHs (relative to the repo) and the Go
# toolchain, the key of a binary built from them.
go_version=$(go version)
tree_hash() {
  {
    echo "$go_version"
    (cd "$repo" && find "$@" -type f ! -name '*_test.go' -print0 | sort -z | xargs -0r sha256sum)
  } | sha256sum | cut -c1-16
}

# go_bin NAME MODDIR PKG SRC...: builds PKG of the module in MODDIR (relative to the repo) as
# a static binary, once per hash of SRCs, and prints its path.
go_bin() {
  local name=$1 moddir=$2 pkg=$3; shift 3
  local out
  out=$cache/bin/$name/$(tree_hash "$@")
  if [[ ! -x $out ]]; then
    log "building $name"
    mkdir -p "$cache/bin/$name"
    (cd "$repo/$moddir" && GOWORK=off CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$out.tmp" "$pkg")
    mv "$out.tmp" "$out"
    find "$cache/bin/$name" -type f ! -path "$out" -delete
  fi
  echo "$out"
}

# module_version BIN MODULE: MODULE's version in BIN's build info, without the leading v.
module_version() {
  go version -m "$1" | awk -v m="$2" '$1 == "dep" && $2 == m {sub(/^v/, "", $3); print $3}'
}

# npm_package SPEC DIR: puts the package.json of npm package SPEC (name@version) at
# DIR/node_modules/NAME/package.json, from its tarball, fetched once with npm pack (the
# tarball is kept beside it in the cache).
npm_package() {
  local spec=$1 dir=$2
  local name=${spec%@*}
  local tgz=$cache/npm/${spec//\//+}.tgz
  if [[ ! -f $tgz.package.json ]]; then
    log "fetching $spec with npm pack"
    local tmp=$work/pack
    rm -rf "$tmp" && mkdir -p "$tmp"
    (cd "$tmp" && npm pack --silent --ignore-scripts --cache "$cache/npm/cache" "$spec" >/dev/null) ||
      die "npm pack $spec failed"
    mv "$tmp"/*.tgz "$tgz"
    tar -xzf "$tgz" -O package/package.json >"$tgz.package.json.tmp"
    mv "$tgz.package.json.tmp" "$tgz.package.json"
  fi
  mkdir -p "$dir/node_modules/$name"
  cp "$tgz.package.json" "$dir/node_modules/$name/package.json"
}

# image NAME -entrypoint PATH [mkimage flags] SRC:DST...: the image wi.local/NAME:v1 as
# $images/NAME.tar, built once per hash of its flags and of what it holds (each DST, and the
# names, modes and contents of the files under its SRC), wherever SRC is.
image() {
  local name=$1; shift
  local ref=wi.local/$name:v1 key
  key=$({
    echo "$ref $mkimage"
    for a in "$@"; do
      src=${a%%:*}
      if [[ $a == *:* && -d $src ]]; then
        echo "${a#*:}"
        (cd "$src" && find . -type f -printf '%m %p\n' | sort && find . -type f -print0 | sort -z | xargs -0r sha256sum)
      elif [[ $a == *:* && -f $src ]]; then
        echo "${a#*:}" && sha256sum <"$src"
      else
        echo "$a"
      fi
    done
  } | sha256sum | cut -c1-16)
  local cached=$cache/images/$name/$key.tar
  if [[ ! -f $cached ]]; then
    log "making $ref"
    mkdir -p "$cache/images/$name"
    "$mkimage" -ref "$ref" -out "$cached.tmp" "$@" 2>"$work/mkimage.log" || { cat "$work/mkimage.log" >&2; die "mkimage $ref failed"; }
    mv "$cached.tmp" "$cached"
    find "$cache/images/$name" -type f ! -path "$cached" -delete
  fi
  cp "$cached" "$images/$name.tar"
  echo "$ref"
}

t0=$SECONDS
log "building the app images (hack/testapps)"
root_src=(go.mod go.sum)
mkimage=$(go_bin mkimage . ./hack/cmd/mkimage "${root_src[@]}" hack/cmd/mkimage hack/image)
pause=$(go_bin pause . ./hack/cmd/pause "${root_src[@]}" hack/cmd/pause)
logapp=$(go_bin wi-logapp . ./hack/cmd/wi-logapp "${root_src[@]}" hack/cmd/wi-logapp hack/logapp)
sdkv1old=$(go_bin go-sdkv1-old hack/testapps/go-sdkv1-old . hack/testapps/go-sdkv1-old hack/testapps/sdkapp)
sdkv1=$(go_bin go-sdkv1 hack/testapps/go-sdkv1 . hack/testapps/go-sdkv1 hack/testapps/sdkapp)
sdkv2=$(go_bin go-sdkv2 hack/testapps/go-sdkv2 . hack/testapps/go-sdkv2 hack/testapps/sdkapp)

# The Node layout: the packages' own package.json files and the app's manifest naming them.
node_app=$work/node/app
deps=""
for spec in "${NPM_PACKAGES[@]}"; do
  npm_package "$spec" "$node_app"
  deps+="${deps:+,}\"${spec%@*}\":\"${spec##*@}\""
done
printf '{"name":"wi-testapp-node","version":"1.0.0","private":true,"dependencies":{%s}}\n' "$deps" >"$node_app/package.json"
node_version() { node -p 'require(process.argv[1]).version' "$node_app/node_modules/$1/package.json"; }

# The Python layout: the metadata directory Debian ships for botocore (an egg-info).
botocore_meta=$(dpkg-query -L "$BOTOCORE_PACKAGE" 2>/dev/null | grep -E "^$DIST_PACKAGES/botocore-[^/]*\.(egg|dist)-info$" | head -1) ||
  die "$BOTOCORE_PACKAGE is not installed: run 'make deps' (hack/deps.sh)"
botocore_version=""
for f in "$botocore_meta"/PKG-INFO "$botocore_meta"/METADATA; do
  [[ -f $f ]] && botocore_version=$(sed -n 's/^Version: //p' "$f" | head -1) && break
done
[[ -n $botocore_version ]] || die "no Version in $botocore_meta"

img_sdkv1old=$(image go-sdkv1-old -entrypoint /go-sdkv1-old "$sdkv1old:/go-sdkv1-old")
img_sdkv1=$(image go-sdkv1 -entrypoint /go-sdkv1 "$sdkv1:/go-sdkv1")
img_sdkv2=$(image go-sdkv2 -entrypoint /go-sdkv2 "$sdkv2:/go-sdkv2")
img_node=$(image node-sdk -entrypoint /app-idle -workdir "$NODE_APP_DIR" "$pause:/app-idle" "$node_app:$NODE_APP_DIR")
img_python=$(image python-botocore -entrypoint /app-idle "$pause:/app-idle" "$botocore_meta:$botocore_meta")
img_logapp=$(image logapp -entrypoint /wi-logapp "$logapp:/wi-logapp")

cat >"$WI_STATE/testapps.env" <<ENV
# Written by hack/testapps-up.sh: the test bed's app images (hack/testapps/README.md), imported
# by the node, and the AWS SDK versions each carries, read from the binaries' build info and
# the packages' own metadata.
export WI_APP_IMAGE_GO_SDKV1_OLD=$img_sdkv1old
export WI_APP_SDKV1_OLD_VERSION=$(module_version "$sdkv1old" github.com/aws/aws-sdk-go)
export WI_APP_IMAGE_GO_SDKV1=$img_sdkv1
export WI_APP_SDKV1_VERSION=$(module_version "$sdkv1" github.com/aws/aws-sdk-go)
export WI_APP_IMAGE_GO_SDKV2=$img_sdkv2
export WI_APP_SDKV2_VERSION=$(module_version "$sdkv2" github.com/aws/aws-sdk-go-v2)
export WI_APP_SDKV2_CONFIG_VERSION=$(module_version "$sdkv2" github.com/aws/aws-sdk-go-v2/config)
export WI_APP_SDKV2_CREDENTIALS_VERSION=$(module_version "$sdkv2" github.com/aws/aws-sdk-go-v2/credentials)
export WI_APP_IMAGE_NODE=$img_node
export WI_APP_NODE_DIR=$NODE_APP_DIR
export WI_APP_NODE_AWS_SDK_VERSION=$(node_version aws-sdk)
export WI_APP_NODE_CREDENTIAL_PROVIDERS_VERSION=$(node_version @aws-sdk/credential-providers)
export WI_APP_NODE_CREDENTIAL_PROVIDER_NODE_VERSION=$(node_version @aws-sdk/credential-provider-node)
export WI_APP_NODE_CREDENTIAL_PROVIDER_HTTP_VERSION=$(node_version @aws-sdk/credential-provider-http)
export WI_APP_IMAGE_PYTHON=$img_python
export WI_APP_PYTHON_DIST_PACKAGES=$DIST_PACKAGES
export WI_APP_PYTHON_BOTOCORE_VERSION=$botocore_version
export WI_APP_IMAGE_LOGAPP=$img_logapp
ENV
log "app images in $images, their env in $WI_STATE/testapps.env: $((SECONDS - t0))s"
