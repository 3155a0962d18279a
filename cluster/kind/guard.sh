#!/bin/sh
# The fence of a kind node (installed as /usr/local/bin/inspector-guard, run by inspector-guard.service
# at boot, before containerd and the kubelet): nothing the node or its pods send may leave this
# machine. Two locks, as on the local cluster's real nodes (cluster/hostnet.py):
#   - routes: the node's default route (to the Docker network's gateway, this host) is removed, so
#     a packet for anywhere but the node network, the pod ranges and the Service range is
#     unreachable in the node's own kernel; the Service range stays routed to the node network
#     (kube-proxy rewrites those packets after this routing decision, as on any node);
#   - a filter: an nftables table of its own (kube-proxy, in either mode, never touches it) rejects
#     whatever would still go elsewhere (after kube-proxy's DNAT: a manually managed EndpointSlice
#     can name any address).
# The host adds a third: its own forwarding stays off (cluster/kind/dockerd.sh). The ranges come
# from /etc/default/inspector-guard, written from e2e/kind-offline.yaml when the image is built.
set -eu
. /etc/default/inspector-guard  # POD_SUBNET, SERVICE_SUBNET (nodeimage.sh, from e2e/kind-offline.yaml)
# the node network: eth0's connected route (Docker's network for the kind nodes)
node_net=$(ip -4 route show dev eth0 proto kernel scope link | awk '{print $1; exit}')
[ -n "$node_net" ] || { echo "inspector-guard: no IPv4 network on eth0" >&2; exit 1; }
# the node forwards its pods' packets (in its own network namespace: the host's forwarding stays off)
sysctl -qw net.ipv4.ip_forward=1
ip route del default 2>/dev/null || true
ip -6 route del default 2>/dev/null || true
ip route replace "$SERVICE_SUBNET" dev eth0
# a pod address no node holds goes nowhere (the other nodes' ranges are more specific routes)
ip route replace unreachable "$POD_SUBNET"
nft -f - <<NFT
table inet inspector_guard
delete table inet inspector_guard
table inet inspector_guard {
    set allowed4 {
        type ipv4_addr; flags interval
        elements = { 127.0.0.0/8, $node_net, $POD_SUBNET, $SERVICE_SUBNET }
    }
    chain fence {
        oifname "lo" return
        ip daddr @allowed4 return
        ip6 daddr { ::1, fe80::/10, ff02::/16 } return
        meta l4proto tcp reject with tcp reset
        reject
    }
    chain output {
        type filter hook output priority -10; policy accept;
        jump fence
    }
    chain forward {
        type filter hook forward priority -10; policy accept;
        jump fence
    }
}
NFT
echo "inspector-guard: node network $node_net, pods $POD_SUBNET, Services $SERVICE_SUBNET; nothing else leaves"
