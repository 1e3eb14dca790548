#!/usr/bin/env bash
# Starts the local cluster's node: the pod bridge, containerd with the pause and idle images
# imported and the probe image's registry name resolved to the local registry, and a kubelet.
# Called by cluster-up.sh once the control plane answers.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pki=$WI_STATE/pki
export KUBECONFIG=$pki/admin.kubeconfig
node=$WI_STATE/node
sock=$RUN/containerd/containerd.sock
mkdir -p "$node/net.d" "$node/certs.d" "$DATA/containerd" "$RUN/containerd" "$DATA/kubelet" "$DATA/pod-logs" "$DATA/cni"

# The bridge exists before any pod so the STS stand-in and MinIO can bind to its gateway
# address; the CNI bridge plugin adopts it.
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add "$BRIDGE" type bridge
  ip addr add "$BRIDGE_GW/${POD_CIDR#*/}" dev "$BRIDGE"
  ip link set "$BRIDGE" up
fi
# An address set by hand is one the bridge keeps (hack/lib.sh); set on a bridge left behind too.
ip link set "$BRIDGE" address "$BRIDGE_MAC"

cat >"$node/containerd.toml" <<TOML
version = 2
root = "$DATA/containerd/root"
state = "$RUN/containerd/state"
[grpc]
  address = "$sock"
[ttrpc]
  address = "$RUN/containerd/containerd.sock.ttrpc"
[debug]
  address = "$RUN/containerd/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # root here lacks CAP_SYS_RESOURCE, so runc cannot lower oom_score_adj below containerd's own.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUN/runc"
        BinaryName = "/usr/sbin/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$node/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$node/certs.d"
TOML

# The probe image's registry is the local one, and only it: the one host and the fallback
# server are both the local registry, so no pull leaves this machine. (containerd 1.6 refuses
# a hosts.toml without a host table.)
probe_host=$(image_host "$(probe_image)")
mkdir -p "$node/certs.d/$probe_host"
cat >"$node/certs.d/$probe_host/hosts.toml" <<TOML
server = "http://$REGISTRY"
[host."http://$REGISTRY"]
  capabilities = ["pull", "resolve"]
TOML

# Bridge CNI without masquerade: pods talk only to this host.
cat >"$node/net.d/10-wi.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "kubectl-wi",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$DATA/cni",
              "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$BRIDGE_GW"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}}
  ]
}
JSON

cgroup_driver=cgroupfs
cat >"$node/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: AlwaysAllow}
tlsCertFile: $pki/node.crt
tlsPrivateKeyFile: $pki/node.key
cgroupDriver: $cgroup_driver
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$sock
imageServiceEndpoint: unix://$sock
podLogsDir: $DATA/pod-logs
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
serializeImagePulls: false
maxPods: 250
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
rotateCertificates: false
# otherwise the kubelet adds its KUBE-FIREWALL and canary chains to the host's iptables
makeIPTablesUtilChains: false
YAML

log "starting containerd"
start containerd /usr/bin/containerd --config "$node/containerd.toml"
wait_for containerd 30 containerd ctr --address "$sock" version
for t in "$WI_STATE"/images/*.tar; do
  ctr --address "$sock" -n k8s.io images import "$t" >/dev/null
done

log "starting kubelet"
start kubelet "$K8S_BIN/kubelet" --config="$node/kubelet.yaml" --kubeconfig="$pki/node.kubeconfig" \
  --root-dir="$DATA/kubelet" --hostname-override="$NODE_NAME" --v=1
node_ready() {
  [[ $("$K8S_BIN/kubectl" get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
wait_for "node $NODE_NAME Ready" 120 kubelet node_ready
log "node $NODE_NAME Ready"
