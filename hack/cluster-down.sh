#!/usr/bin/env bash
# Stops the local cluster started by cluster-up.sh and removes its state: only processes it
# started (by the PIDs it recorded, never by name), their mounts and network namespaces, the
# bridge, the Pod Identity agent's address on lo, and the host paths the kubelet and containerd write outside $WI_STATE. Safe to run
# twice, and when cluster-up stopped half way. The binary cache in $WI_CACHE is kept.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[[ -d $WI_STATE ]] || exit 0
export KUBECONFIG=$WI_STATE/pki/admin.kubeconfig
kubectl=$K8S_BIN/kubectl
sock=$RUN/containerd/containerd.sock
ctr_() { ctr --address "$sock" -n k8s.io "$@"; }

stop() { # NAME: SIGTERM, then SIGKILL after 10 s
  local f=$RUN/$1.pid p
  [[ -f $f ]] || return 0
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill "$p" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
    log "stopped $1 ($p)"
  fi
  rm -f "$f"
}

# 1. Let the kubelet tear pods down (containers, volumes, CNI) while the control plane is up;
# workloads first, or their controllers recreate the pods. Only the pods bound to the node have
# anything to tear down: a bench's tens of thousands of pending pods, deleted one request each,
# took ten minutes.
if alive kubelet && alive kube-apiserver; then
  "$kubectl" delete deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs --all -A --wait=false >/dev/null 2>&1
  "$kubectl" delete pods -A --field-selector "spec.nodeName=$NODE_NAME" --grace-period=0 --force --wait=false >/dev/null 2>&1
  for _ in $(seq 1 60); do
    [[ -z $(ctr_ tasks ls -q 2>/dev/null) ]] && break
    sleep 0.5
  done
fi
stop kubelet
# 2. Whatever containerd still runs (the kubelet died, or was too slow).
if alive containerd; then
  for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  sleep 0.5
  for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks rm -f "$t" >/dev/null 2>&1; done
fi
stop containerd
# Shims outlive containerd; each recorded its PID in its bundle.
for f in $(find "$RUN/containerd/state" -name shim.pid 2>/dev/null); do
  p=$(cat "$f" 2>/dev/null) || continue
  [[ -n $p ]] && kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null && log "stopped shim $p"
done
# 3. The services and the control plane.
for n in wi-agent minio wi-sts wi-registry wi-webhook kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$n"; done

# 4. Mounts under the state dir (deepest first), the pods' network namespaces, the bridge.
awk -v s="$WI_STATE" 'index($2, s) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
done
for ns in $(ip netns list 2>/dev/null | awk '/^cni-/{print $1}'); do
  # containerd names pod namespaces cni-*; normally it removed them with the pods already
  ip netns delete "$ns" 2>/dev/null
done
if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE" && log "deleted bridge $BRIDGE"; fi
# The Pod Identity agent's address, only when it carries the test bed's label.
if [[ $(agent_addr_owner) == "$POD_IDENTITY_AGENT_LABEL" ]]; then
  ip addr del "$POD_IDENTITY_AGENT_ADDR/32" dev lo && log "removed $POD_IDENTITY_AGENT_ADDR from lo"
fi
# 5. Host paths that kubelet 1.34 and containerd 1.6 write regardless of their configuration.
find /var/log/containers /var/log/pods -maxdepth 1 -lname "$WI_STATE/*" -delete 2>/dev/null
rm -f /var/lib/kubelet/device-plugins/kubelet.sock
rm -f /var/lib/cni/results/kubectl-wi-*
rm -rf /run/containerd/s /run/containerd/fifo 2>/dev/null
rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet /run/containerd /var/log/containers /var/log/pods 2>/dev/null

left=$(awk -v s="$WI_STATE" 'index($2, s) == 1' /proc/mounts)
[[ -z $left ]] || die "mounts left under $WI_STATE: $left"
rm -rf "$WI_STATE"
log "local cluster removed"
