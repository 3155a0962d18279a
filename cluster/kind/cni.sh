#!/usr/bin/env bash
# The kind nodes' network, our own (kindnetd, kind's CNI, is pulled from a registry): on each node a
# CNI config (bridge, host-local on the node's podCIDR, portmap) and a route to every other node's
# pod range via that node's address on the kind network. The fence (cluster/kind/guard.sh) is
# already in place on every node from boot. Needs DOCKER_HOST, KUBECONFIG and kubectl (KUBECTL).
#   cni.sh CLUSTER
set -euo pipefail
cluster=${1:?usage: cni.sh CLUSTER}
kubectl=${KUBECTL:-kubectl}
say() { printf 'kind-cni: %s\n' "$*" >&2; }

# name podCIDR address, one line per node (a podCIDR is assigned when the node registers)
nodes=$("$kubectl" get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}')
[[ -n $nodes ]] || { say "no nodes in the cluster"; exit 1; }
while read -r name cidr ip; do
    [[ -n $cidr && -n $ip ]] || { say "node $name has no podCIDR or address yet"; exit 1; }
    docker exec -i "$name" sh -euc 'mkdir -p /etc/cni/net.d && cat >/etc/cni/net.d/10-inspector.conflist.tmp &&
        mv /etc/cni/net.d/10-inspector.conflist.tmp /etc/cni/net.d/10-inspector.conflist' <<JSON
{
  "cniVersion": "1.0.0",
  "name": "inspector-kind",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "podbr0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$cidr"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
  ]
}
JSON
    while read -r other ocidr oip; do
        [[ $other == "$name" ]] && continue
        docker exec "$name" ip route replace "$ocidr" via "$oip" dev eth0
    done <<<"$nodes"
    say "$name: pods $cidr on podbr0, the other nodes' pod ranges through their addresses"
done <<<"$nodes"
