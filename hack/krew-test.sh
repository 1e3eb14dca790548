#!/usr/bin/env bash
# The packaging checks of `make test` (make krew-test): the linux/amd64 release archive and the
# krew manifest rendered for it from .krew.yaml install with krew v0.4.4, offline, into a
# temporary KREW_ROOT; real kubectl then finds the plugin and runs it; uninstall works; and a
# tampered archive is refused. One PASS or FAIL line per check; exits 1 when any check failed.
# Everything it creates lives in one temporary directory, removed on every exit path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

# A semantic version (krew wants one) that no other build stamps, so the version check below
# cannot pass on some other kubectl-wi.
VERSION=v0.0.0-krewtest
export KREW_VERSION=${KREW_VERSION:-v0.4.4} # what install-krew.sh installs
TOOLS=$root/hack/tools/bin
# The sha256 of nothing: the placeholder for the platforms this test does not build.
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

tmp=$(mktemp -d "${TMPDIR:-/tmp}/krew-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

failed=0
# check NAME CMD...: runs CMD with its output in $tmp/out and prints PASS or FAIL, with the
# output's tail on failure.
check() {
  local name=$1; shift
  if "$@" >"$tmp/out" 2>&1; then
    printf 'PASS %s\n' "$name"
  else
    printf 'FAIL %s\n' "$name"
    tail -n 20 "$tmp/out" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
}
# setup NAME CMD...: a check the others depend on; stops the run when it fails.
setup() {
  check "$@"
  ((failed == 0)) || { printf 'FAIL krew-test: %s failed, nothing else checked\n' "$1"; exit 1; }
}

archive=$tmp/dist/kubectl-wi_${VERSION}_linux_amd64.tar.gz
manifest=$tmp/manifest/wi.yaml # validate-krew-manifest takes the plugin name from the file name
mkdir -p "$tmp/manifest" "$tmp/path"
cd "$root"

setup "krew $KREW_VERSION and validate-krew-manifest installed in hack/tools/bin" "$here/install-krew.sh"
setup "kubectl $K8S_VERSION built" "$here/build-k8s.sh"
setup "linux/amd64 archive built for $VERSION" env VERSION=$VERSION DIST_DIR="$tmp/dist" "$here/dist.sh" linux/amd64

archive_lists() { [[ $(tar -tzf "$archive" | sort | tr '\n' ' ') == "LICENSE README.md kubectl-wi kubectl_complete-wi " ]]; }
check "archive holds kubectl-wi, kubectl_complete-wi, LICENSE and README.md" archive_lists

setup "krew/wi.yaml rendered from .krew.yaml for the archive" \
  go run ./hack/cmd/krew-manifest -template "$root/.krew.yaml" -version "$VERSION" \
  -missing-sha "$EMPTY_SHA" -o "$manifest" "$archive"
check "validate-krew-manifest -skip-install: rendered manifest" "$TOOLS/validate-krew-manifest" -manifest "$manifest" -skip-install
check "validate-krew-manifest -skip-install: committed krew/wi.yaml" "$TOOLS/validate-krew-manifest" -manifest "$root/krew/wi.yaml" -skip-install
check "committed krew/wi.yaml is .krew.yaml rendered (no drift)" \
  go test -count=1 -run 'TestCommittedManifestMatchesTemplate|TestKrewTemplate' ./hack/cmd/krew-manifest

# The user's setup: kubectl and `kubectl krew` on PATH, krew's bin dir first, and nothing else
# that could hold another kubectl-wi. The proxy variables point at a closed port so that any
# download attempt fails: the install must be offline.
ln -s "$K8S_BIN/kubectl" "$tmp/path/kubectl"
ln -s "$TOOLS/krew" "$tmp/path/kubectl-krew"
krew_env() { # krew_env ROOT CMD...
  local r=$1; shift
  env KREW_ROOT="$r" KREW_NO_UPGRADE_CHECK=1 PATH="$r/bin:$tmp/path:/usr/bin:/bin" \
    HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY= "$@" </dev/null
}
kr=$tmp/krew-root

check "kubectl krew install --manifest --archive (offline)" \
  krew_env "$kr" kubectl krew install --manifest="$manifest" --archive="$archive"

wi_version() {
  local out
  out=$(krew_env "$kr" kubectl wi version) || return 1
  echo "$out"
  [[ $out == "kubectl-wi $VERSION "* ]]
}
check "kubectl wi version (plugin discovery) prints $VERSION" wi_version
found_in_krew() {
  local out
  out=$(krew_env "$kr" kubectl plugin list 2>&1) || true # exits 1 on any warning
  echo "$out"
  grep -qx "$kr/bin/kubectl-wi" <<<"$out"
}
check "kubectl plugin list finds kubectl-wi in KREW_ROOT/bin" found_in_krew
check "LICENSE installed with the plugin" test -f "$kr/store/wi/$VERSION/LICENSE"
# krew links only the binary into its bin dir; the completion script is linked as the
# manifest's caveats say, then kubectl's plugin completion finds it and asks the plugin.
completes() {
  ln -sf "$kr/store/wi/$VERSION/kubectl_complete-wi" "$kr/bin/kubectl_complete-wi"
  local out
  out=$(krew_env "$kr" kubectl __complete wi en) || return 1
  echo "$out"
  grep -q '^enable' <<<"$out"
}
check "kubectl __complete wi en (kubectl_complete-wi from the archive) offers enable" completes

# krew list and uninstall refuse to run without a local index (`kubectl krew update` would
# clone it from GitHub). krew v0.4.4 only checks that index/<name>/.git is a directory
# (cmd/krew/cmd/root.go checkIndex, internal/gitutil IsGitCloned); nothing runs git in it.
mkdir -p "$kr/index/default/.git"
listed() {
  local out
  out=$(krew_env "$kr" kubectl krew list) || return 1
  echo "$out"
  grep -qx 'detached/wi' <<<"$out" # installed from a manifest file: krew's "detached" index
}
check "kubectl krew list shows wi" listed
gone() {
  krew_env "$kr" kubectl krew uninstall wi || return 1
  [[ ! -e $kr/bin/kubectl-wi && ! -e $kr/store/wi ]] || { echo "still installed"; return 1; }
  if krew_env "$kr" kubectl wi version; then echo "kubectl wi still runs"; return 1; fi
}
check "kubectl krew uninstall wi removes it" gone

# One byte of the archive changed: krew must refuse it and install nothing.
tampered=$tmp/tampered/$(basename "$archive")
mkdir -p "$tmp/tampered"
cp "$archive" "$tampered"
off=$(($(stat -c %s "$tampered") / 2))
byte=$(od -An -tu1 -j "$off" -N1 "$tampered" | tr -d ' ')
printf '%b' "\\0$(printf %o $(((byte + 1) % 256)))" | dd of="$tampered" bs=1 seek="$off" conv=notrunc status=none
refused() {
  local out rc=0
  out=$(krew_env "$tmp/krew-root-tampered" kubectl krew install --manifest="$manifest" --archive="$tampered" 2>&1) || rc=$?
  echo "$out"
  ((rc != 0)) || { echo "install of a tampered archive exited 0"; return 1; }
  grep -q 'checksum does not match' <<<"$out" || { echo "no checksum mismatch in the output"; return 1; }
  [[ ! -e $tmp/krew-root-tampered/bin/kubectl-wi ]] || { echo "kubectl-wi installed anyway"; return 1; }
}
check "a tampered archive is refused (checksum mismatch)" refused

if ((failed > 0)); then
  printf 'FAIL krew-test: %d check(s) failed\n' "$failed"
  exit 1
fi
printf 'PASS krew-test\n'
