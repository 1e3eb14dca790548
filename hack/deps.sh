#!/usr/bin/env bash
# Installs the Debian packages the local cluster and the tests need. Idempotent: does nothing
# when every package is already installed, and never downloads anything but Debian packages.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

packages=(containerd runc containernetworking-plugins iptables iproute2 openssl curl tmux procps util-linux time)
# The test bed's app images (hack/testapps-up.sh): botocore's metadata for the Python layout,
# and npm to fetch the Node layout's packages. npm only when the command is missing: a Node
# from elsewhere brings its own, which Debian's npm would conflict with.
packages+=(python3-botocore)
command -v npm >/dev/null 2>&1 || packages+=(npm)
# The monitor's scrape and its alert rules: a real Prometheus server and promtool (both in
# Debian's prometheus package). The test bed runs its own on an address it owns, never the
# packaged service.
packages+=(prometheus)
# WI_PACKAGES replaces the list: the preflight test uses it to prove a package that cannot be
# installed stops cluster-up with its name.
[[ -n ${WI_PACKAGES:-} ]] && read -r -a packages <<<"$WI_PACKAGES"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
[[ $(id -u) == 0 ]] || die "packages missing (${missing[*]}) and not root: install them with apt-get"
log "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || die "apt-get update failed: Debian's package mirror is not reachable"
# Debian's maintainer scripts start the daemons they install (invoke-rc.d, deb-systemd-invoke);
# both ask /usr/sbin/policy-rc.d first, and its exit code 101 forbids the start. One is put in
# place for this install when the machine has none, and removed after.
policy=/usr/sbin/policy-rc.d own_policy=
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# hack/deps.sh: no daemon starts while it installs packages.\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  own_policy=1
fi
status=0
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
[[ -n $own_policy ]] && rm -f "$policy"
((status == 0)) || die "apt-get install ${missing[*]} failed"
# Debian enables the packaged daemons; the harness runs its own, so stop and disable those.
for svc in containerd prometheus; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done
