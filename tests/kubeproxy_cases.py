"""kube-proxy's own cases, transcribed: what the node model (inspector/diagnosis/nodetraffic.py) must
answer the same.

From the pinned module k8s.io/kubernetes@v1.37.2:
- pkg/proxy/topology_test.go, TestCategorizeEndpoints: every case (CATEGORIZE_CASES);
- pkg/proxy/iptables/proxier_test.go and pkg/proxy/nftables/proxier_test.go: the packet-flow tests
  whose expectation is "this packet goes to these endpoints / is dropped / is rejected"
  (PACKET_FLOW_CASES). The two files hold the same cases, except that the nftables proxier has no
  localhost node ports, so its copy of TestInternalExternalMasquerade lacks the three "localhost to
  NodePort" flows; each case says which files it comes from.
- pkg/proxy/ipvs/proxier_test.go: the tests that check a virtual server's real servers (the cluster
  IP's, and the external IP's, which serve clients from outside); IPVS has no DROP or REJECT rule of
  its own, so "no real server" stands for both (output "").
- TestHealthCheckNodePortWhenTerminating of the iptables and nftables files (HEALTH_CHECK_CASES).

Upstream's fake node is "test-node" with address 192.168.0.2; its flows come from a pod on it
(10.0.0.2), from the node itself (192.168.0.2 or 127.0.0.1), or from outside (203.0.113.2). They
are written here as Source.POD, Source.NODE, Source.EXTERNAL, and the destination IP as the kind of
destination it is (the ClusterIP, the node's NodePort, the load balancer IP, the external IP).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inspector.diagnosis.nodetraffic import Destination, ProxySettings, Source

TOPOLOGY_TEST = "pkg/proxy/topology_test.go"
IPTABLES = "pkg/proxy/iptables/proxier_test.go"
NFTABLES = "pkg/proxy/nftables/proxier_test.go"
IPVS = "pkg/proxy/ipvs/proxier_test.go"
BOTH = (IPTABLES, NFTABLES)

TEST_NODE = "test-node"

# --------------------------------------------------------------------------- TestCategorizeEndpoints


@dataclass(frozen=True)
class Ep:
    """upstream's BaseEndpointInfo: every field false or empty unless the case sets it."""

    endpoint: str
    ready: bool = False
    serving: bool = False
    terminating: bool = False
    is_local: bool = False
    zone_hints: tuple[str, ...] = ()
    node_hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class CategorizeCase:
    name: str
    endpoints: tuple[Ep, ...]
    internal_local: bool = False
    external_local: bool = False
    node_port: int = 0  # upstream's BaseServicePortInfo.nodePort: externally accessible when set
    node_name: str = ""
    zone: str | None = None  # nodeLabels' topology.kubernetes.io/zone; None: no such label
    prefer_same_enabled: bool = False
    cluster: frozenset[str] = frozenset()
    local: frozenset[str] = frozenset()
    all: frozenset[str] | None = None  # None: as upstream, the non-empty one of cluster and local
    only_remote: bool = False


def s(*items: str) -> frozenset[str]:
    return frozenset(items)


A, B, C, D = "zone-a", "zone-b", "zone-c", "zone-d"

CATEGORIZE_CASES = (
    CategorizeCase(
        "should use topology since all endpoints have hints, node has a zone label and and there are "
        "endpoints for the node's zone",
        zone=A,
        endpoints=(
            Ep("10.1.2.3:80", zone_hints=(A,), ready=True),
            Ep("10.1.2.4:80", zone_hints=(B,), ready=True),
            Ep("10.1.2.5:80", zone_hints=(C,), ready=True),
            Ep("10.1.2.6:80", zone_hints=(A,), ready=True),
        ),
        cluster=s("10.1.2.3:80", "10.1.2.6:80"),
    ),
    CategorizeCase(
        "externalTrafficPolicy: Local, topology ignored for Local endpoints",
        zone=A,
        external_local=True,
        node_port=8080,
        endpoints=(
            Ep("10.1.2.3:80", zone_hints=(A,), ready=True, is_local=True),
            Ep("10.1.2.4:80", zone_hints=(B,), ready=True, is_local=True),
            Ep("10.1.2.5:80", zone_hints=(C,), ready=True),
            Ep("10.1.2.6:80", zone_hints=(A,), ready=True),
        ),
        cluster=s("10.1.2.3:80", "10.1.2.6:80"),
        local=s("10.1.2.3:80", "10.1.2.4:80"),
        all=s("10.1.2.3:80", "10.1.2.4:80", "10.1.2.6:80"),
    ),
    CategorizeCase(
        "internalTrafficPolicy: Local, topology ignored for Local endpoints",
        zone=A,
        internal_local=True,
        node_port=8080,
        endpoints=(
            Ep("10.1.2.3:80", zone_hints=(A,), ready=True, is_local=True),
            Ep("10.1.2.4:80", zone_hints=(B,), ready=True, is_local=True),
            Ep("10.1.2.5:80", zone_hints=(C,), ready=True),
            Ep("10.1.2.6:80", zone_hints=(A,), ready=True),
        ),
        cluster=s("10.1.2.3:80", "10.1.2.6:80"),
        local=s("10.1.2.3:80", "10.1.2.4:80"),
        all=s("10.1.2.3:80", "10.1.2.4:80", "10.1.2.6:80"),
    ),
    CategorizeCase(
        "empty node labels",
        endpoints=(Ep("10.1.2.3:80", zone_hints=(A,), ready=True),),
        cluster=s("10.1.2.3:80"),
    ),
    CategorizeCase(
        "empty zone label",
        zone="",
        endpoints=(Ep("10.1.2.3:80", zone_hints=(A,), ready=True),),
        cluster=s("10.1.2.3:80"),
    ),
    CategorizeCase(
        "node in different zone, no endpoint filtering",
        zone=B,
        endpoints=(Ep("10.1.2.3:80", zone_hints=(A,), ready=True),),
        cluster=s("10.1.2.3:80"),
    ),
    CategorizeCase(
        "unready endpoint",
        zone=A,
        endpoints=(
            Ep("10.1.2.3:80", zone_hints=(A,), ready=True),
            Ep("10.1.2.4:80", zone_hints=(B,), ready=True),
            Ep("10.1.2.5:80", zone_hints=(C,), ready=True),
            Ep("10.1.2.6:80", zone_hints=(A,), ready=False),
        ),
        cluster=s("10.1.2.3:80"),
    ),
    CategorizeCase(
        "only unready endpoints in same zone (should not filter)",
        zone=A,
        endpoints=(
            Ep("10.1.2.3:80", zone_hints=(A,), ready=False),
            Ep("10.1.2.4:80", zone_hints=(B,), ready=True),
            Ep("10.1.2.5:80", zone_hints=(C,), ready=True),
            Ep("10.1.2.6:80", zone_hints=(A,), ready=False),
        ),
        cluster=s("10.1.2.4:80", "10.1.2.5:80"),
    ),
    CategorizeCase(
        "missing hints, no filtering applied",
        zone=A,
        endpoints=(
            Ep("10.1.2.3:80", zone_hints=(A,), ready=True),
            Ep("10.1.2.4:80", zone_hints=(B,), ready=True),
            Ep("10.1.2.5:80", ready=True),
            Ep("10.1.2.6:80", zone_hints=(A,), ready=True),
        ),
        cluster=s("10.1.2.3:80", "10.1.2.4:80", "10.1.2.5:80", "10.1.2.6:80"),
    ),
    CategorizeCase(
        "multiple hints per endpoint, filtering includes any endpoint with zone included",
        zone=C,
        endpoints=(
            Ep("10.1.2.3:80", zone_hints=(A, B, C), ready=True),
            Ep("10.1.2.4:80", zone_hints=(B, C), ready=True),
            Ep("10.1.2.5:80", zone_hints=(B, D), ready=True),
            Ep("10.1.2.6:80", zone_hints=(C,), ready=True),
        ),
        cluster=s("10.1.2.3:80", "10.1.2.4:80", "10.1.2.6:80"),
    ),
    CategorizeCase(
        "PreferSameNode falls back to same-zone when feature gate disabled",
        prefer_same_enabled=False,
        node_name="node-1",
        zone=A,
        endpoints=(
            Ep("10.1.2.3:80", zone_hints=(A,), node_hints=("node-1",), ready=True),
            Ep("10.1.2.4:80", zone_hints=(B,), node_hints=("node-2",), ready=True),
            Ep("10.1.2.5:80", zone_hints=(C,), node_hints=("node-3",), ready=True),
            Ep("10.1.2.6:80", zone_hints=(A,), node_hints=("node-4",), ready=True),
        ),
        cluster=s("10.1.2.3:80", "10.1.2.6:80"),
    ),
    CategorizeCase(
        "PreferSameNode available",
        prefer_same_enabled=True,
        node_name="node-1",
        zone=A,
        endpoints=(
            Ep("10.1.2.3:80", zone_hints=(A,), node_hints=("node-1",), ready=True),
            Ep("10.1.2.4:80", zone_hints=(B,), node_hints=("node-2",), ready=True),
            Ep("10.1.2.5:80", zone_hints=(C,), node_hints=("node-3",), ready=True),
            Ep("10.1.2.6:80", zone_hints=(A,), node_hints=("node-4",), ready=True),
        ),
        cluster=s("10.1.2.3:80"),
    ),
    CategorizeCase(
        "PreferSameNode ignored if some endpoints unhinted",
        prefer_same_enabled=True,
        node_name="node-1",
        zone=A,
        endpoints=(
            Ep("10.1.2.3:80", zone_hints=(A,), node_hints=("node-1",), ready=True),
            Ep("10.1.2.4:80", ready=True),
            Ep("10.1.2.5:80", zone_hints=(C,), node_hints=("node-3",), ready=True),
            Ep("10.1.2.6:80", zone_hints=(A,), node_hints=("node-4",), ready=True),
        ),
        cluster=s("10.1.2.3:80", "10.1.2.4:80", "10.1.2.5:80", "10.1.2.6:80"),
    ),
    CategorizeCase(
        "PreferSameNode falls back to PreferSameZone if no endpoint for node",
        prefer_same_enabled=True,
        node_name="node-0",
        zone=A,
        endpoints=(
            Ep("10.1.2.3:80", zone_hints=(A,), node_hints=("node-1",), ready=True),
            Ep("10.1.2.4:80", zone_hints=(B,), node_hints=("node-2",), ready=True),
            Ep("10.1.2.5:80", zone_hints=(C,), node_hints=("node-3",), ready=True),
            Ep("10.1.2.6:80", zone_hints=(A,), node_hints=("node-4",), ready=True),
        ),
        cluster=s("10.1.2.3:80", "10.1.2.6:80"),
    ),
    CategorizeCase(
        "conflicting topology and localness require merging allEndpoints",
        zone=A,
        external_local=True,
        node_port=8080,
        endpoints=(
            Ep("10.0.0.0:80", zone_hints=(A,), ready=True, is_local=True),
            Ep("10.0.0.1:80", zone_hints=(B,), ready=True, is_local=True),
            Ep("10.0.0.2:80", zone_hints=(A,), ready=True, is_local=False),
            Ep("10.0.0.3:80", zone_hints=(B,), ready=True, is_local=False),
        ),
        cluster=s("10.0.0.0:80", "10.0.0.2:80"),
        local=s("10.0.0.0:80", "10.0.0.1:80"),
        all=s("10.0.0.0:80", "10.0.0.1:80", "10.0.0.2:80"),
    ),
    CategorizeCase("internalTrafficPolicy: Local, with empty endpoints", internal_local=True, endpoints=()),
    CategorizeCase(
        "internalTrafficPolicy: Local, but all endpoints are remote",
        internal_local=True,
        endpoints=(Ep("10.0.0.0:80", ready=True), Ep("10.0.0.1:80", ready=True)),
        only_remote=True,
    ),
    CategorizeCase(
        "internalTrafficPolicy: Local, all endpoints are local",
        internal_local=True,
        endpoints=(
            Ep("10.0.0.0:80", ready=True, is_local=True),
            Ep("10.0.0.1:80", ready=True, is_local=True),
        ),
        local=s("10.0.0.0:80", "10.0.0.1:80"),
    ),
    CategorizeCase(
        "internalTrafficPolicy: Local, some endpoints are local",
        internal_local=True,
        endpoints=(Ep("10.0.0.0:80", ready=True, is_local=True), Ep("10.0.0.1:80", ready=True)),
        local=s("10.0.0.0:80"),
    ),
    CategorizeCase(
        "Cluster traffic policy, endpoints not Ready",
        endpoints=(Ep("10.0.0.0:80"), Ep("10.0.0.1:80")),
    ),
    CategorizeCase(
        "Cluster traffic policy, some endpoints are Ready",
        endpoints=(Ep("10.0.0.0:80"), Ep("10.0.0.1:80", ready=True)),
        cluster=s("10.0.0.1:80"),
    ),
    CategorizeCase(
        "Cluster traffic policy, all endpoints are terminating",
        endpoints=(
            Ep("10.0.0.0:80", serving=True, terminating=True, is_local=True),
            Ep("10.0.0.1:80", serving=True, terminating=True),
        ),
        cluster=s("10.0.0.0:80", "10.0.0.1:80"),
    ),
    CategorizeCase(
        "iTP: Local, eTP: Cluster, some endpoints local",
        internal_local=True,
        node_port=8080,
        endpoints=(Ep("10.0.0.0:80", ready=True, is_local=True), Ep("10.0.0.1:80", ready=True)),
        cluster=s("10.0.0.0:80", "10.0.0.1:80"),
        local=s("10.0.0.0:80"),
        all=s("10.0.0.0:80", "10.0.0.1:80"),
    ),
    CategorizeCase(
        "iTP: Cluster, eTP: Local, some endpoints local",
        external_local=True,
        node_port=8080,
        endpoints=(Ep("10.0.0.0:80", ready=True, is_local=True), Ep("10.0.0.1:80", ready=True)),
        cluster=s("10.0.0.0:80", "10.0.0.1:80"),
        local=s("10.0.0.0:80"),
        all=s("10.0.0.0:80", "10.0.0.1:80"),
    ),
    CategorizeCase(
        "iTP: Local, eTP: Local, some endpoints local",
        internal_local=True,
        external_local=True,
        node_port=8080,
        endpoints=(Ep("10.0.0.0:80", ready=True, is_local=True), Ep("10.0.0.1:80", ready=True)),
        cluster=s("10.0.0.0:80", "10.0.0.1:80"),
        local=s("10.0.0.0:80"),
        all=s("10.0.0.0:80", "10.0.0.1:80"),
    ),
    CategorizeCase(
        "iTP: Local, eTP: Local, all endpoints remote",
        internal_local=True,
        external_local=True,
        node_port=8080,
        endpoints=(Ep("10.0.0.0:80", ready=True), Ep("10.0.0.1:80", ready=True)),
        cluster=s("10.0.0.0:80", "10.0.0.1:80"),
        all=s("10.0.0.0:80", "10.0.0.1:80"),
    ),
    CategorizeCase(
        "iTP: Local, eTP: Local, all endpoints remote and terminating",
        internal_local=True,
        external_local=True,
        node_port=8080,
        endpoints=(
            Ep("10.0.0.0:80", serving=True, terminating=True),
            Ep("10.0.0.1:80", serving=True, terminating=True),
        ),
        cluster=s("10.0.0.0:80", "10.0.0.1:80"),
        all=s("10.0.0.0:80", "10.0.0.1:80"),
        only_remote=True,
    ),
    CategorizeCase(
        "iTP: Cluster, eTP: Local, with terminating endpoints",
        external_local=True,
        node_port=8080,
        endpoints=(
            Ep("10.0.0.0:80", ready=True),
            Ep("10.0.0.1:80", serving=False, is_local=True),
            Ep("10.0.0.2:80", serving=True, terminating=True, is_local=True),
            Ep("10.0.0.3:80", serving=True, terminating=True),
        ),
        cluster=s("10.0.0.0:80"),
        local=s("10.0.0.2:80"),
        all=s("10.0.0.0:80", "10.0.0.2:80"),
    ),
    CategorizeCase(
        "externalTrafficPolicy ignored if not externally accessible",
        external_local=True,
        endpoints=(Ep("10.0.0.0:80", ready=True), Ep("10.0.0.1:80", ready=True, is_local=True)),
        cluster=s("10.0.0.0:80", "10.0.0.1:80"),
        all=s("10.0.0.0:80", "10.0.0.1:80"),
    ),
    CategorizeCase(
        "no cluster endpoints for iTP:Local internal-only service",
        internal_local=True,
        endpoints=(Ep("10.0.0.0:80", ready=True), Ep("10.0.0.1:80", ready=True, is_local=True)),
        local=s("10.0.0.1:80"),
        all=s("10.0.0.1:80"),
    ),
    CategorizeCase("empty endpoints when no service endpoints exist", endpoints=()),
    CategorizeCase(
        "single endpoint not ready, not serving, not terminating",
        zone=A,
        endpoints=(Ep("10.0.0.0:80"),),
    ),
)

# --------------------------------------------------------------------------- packet flows


def service(
    namespace: str,
    name: str,
    cluster_ip: str,
    *,
    type: str = "ClusterIP",
    port_name: str = "",
    node_port: int | None = None,
    external_traffic_policy: str | None = None,
    internal_traffic_policy: str | None = None,
    load_balancer_ip: str | None = None,
    external_ips: tuple[str, ...] = (),
) -> dict[str, Any]:
    port: dict[str, Any] = {"name": port_name, "port": 80, "protocol": "TCP", "targetPort": 80}
    if node_port:
        port["nodePort"] = node_port
    spec: dict[str, Any] = {
        "type": type,
        "clusterIP": cluster_ip,
        "selector": {"foo": "bar"},
        "ports": [port],
    }
    if external_traffic_policy:
        spec["externalTrafficPolicy"] = external_traffic_policy
    if internal_traffic_policy:
        spec["internalTrafficPolicy"] = internal_traffic_policy
    if external_ips:
        spec["externalIPs"] = list(external_ips)
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"namespace": namespace, "name": name},
        "spec": spec,
    }
    if load_balancer_ip:
        manifest["status"] = {"loadBalancer": {"ingress": [{"ip": load_balancer_ip}]}}
    return manifest


def endpoint(ip: str, node: str | None = None, **conditions: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"addresses": [ip]}
    if node:
        out["nodeName"] = node
    if conditions:
        out["conditions"] = conditions
    return out


def endpoint_slice(
    namespace: str, service_name: str, *endpoints: dict[str, Any], port_name: str = ""
) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "namespace": namespace,
            "name": f"{service_name}-1",
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "ports": [{"name": port_name, "port": 80, "protocol": "TCP"}],
        "endpoints": list(endpoints),
    }


@dataclass(frozen=True)
class Flow:
    """upstream's packetFlowTest: `output` is "DROP", "REJECT" or the endpoints, "ip:port, ..."."""

    name: str
    source: Source
    destination: Destination
    output: str
    masq: bool | None = None  # None: upstream does not say (its DROP and REJECT flows)
    service: str = ""  # "namespace/name" where the case holds several Services
    files: tuple[str, ...] = BOTH
    port: int | None = None  # the Service port the packet is sent to; None: its only one
    protocol: str = "TCP"


@dataclass(frozen=True)
class PacketFlowCase:
    test: str  # upstream's test function, and its case where it has several
    manifests: tuple[dict[str, Any], ...]
    flows: tuple[Flow, ...]
    settings: ProxySettings = field(default_factory=ProxySettings)


POD, NODE, EXTERNAL = Source.POD, Source.NODE, Source.EXTERNAL
CIP, NP, LB, EIP = (
    Destination.CLUSTER_IP,
    Destination.NODE_PORT,
    Destination.LOAD_BALANCER,
    Destination.EXTERNAL_IP,
)


def _internal_traffic_policy(
    name: str, policy: str, nodes: tuple[str, str, str], flow: Flow
) -> PacketFlowCase:
    ips = ("10.0.1.1", "10.0.1.2", "10.0.1.3")
    return PacketFlowCase(
        f"TestInternalTrafficPolicy/{name}",
        (
            service("ns1", "svc1", "172.30.1.1", internal_traffic_policy=policy),
            endpoint_slice(
                "ns1", "svc1", *(endpoint(ip, n, ready=True) for ip, n in zip(ips, nodes, strict=True))
            ),
        ),
        (flow,),
    )


_ITP_DELETED = PacketFlowCase(
    "TestInternalTrafficPolicy/(every case) after the slice is deleted",
    (service("ns1", "svc1", "172.30.1.1", internal_traffic_policy="Local"),),
    (Flow("endpoints deleted", POD, CIP, "REJECT"),),
)

_TERMINATING_LOCAL_SVC = service(
    "ns1",
    "svc1",
    "172.30.1.1",
    type="LoadBalancer",
    external_traffic_policy="Local",
    load_balancer_ip="1.2.3.4",
)
_TERMINATING_CLUSTER_SVC = service(
    "ns1",
    "svc1",
    "172.30.1.1",
    type="LoadBalancer",
    external_traffic_policy="Cluster",
    load_balancer_ip="1.2.3.4",
)
_READY = {"ready": True, "serving": True, "terminating": False}
_SERVING_TERMINATING = {"ready": False, "serving": True, "terminating": True}
_ENDING = {"ready": False, "serving": False, "terminating": True}


def _terminating(
    test: str, svc: dict[str, Any], case: str, eps: tuple[dict[str, Any], ...], pod: str, ext: str
) -> list[PacketFlowCase]:
    return [
        PacketFlowCase(
            f"{test}/{case}",
            (svc, endpoint_slice("ns1", "svc1", *eps)),
            (Flow("pod to clusterIP", POD, CIP, pod), Flow("external to LB", EXTERNAL, LB, ext)),
        ),
        PacketFlowCase(
            f"{test}/{case}, after the slice is deleted",
            (svc,),
            (
                Flow("pod to clusterIP after endpoints deleted", POD, CIP, "REJECT"),
                Flow("external to LB after endpoints deleted", EXTERNAL, LB, "REJECT"),
            ),
        ),
    ]


_TL = "TestTerminatingEndpointsTrafficPolicyLocal"
_TC = "TestTerminatingEndpointsTrafficPolicyCluster"
TERMINATING_CASES = [
    *_terminating(
        _TL,
        _TERMINATING_LOCAL_SVC,
        "ready endpoints exist",
        (
            endpoint("10.0.1.1", TEST_NODE, **_READY),
            endpoint("10.0.1.2", TEST_NODE, **_READY),
            endpoint("10.0.1.3", TEST_NODE, **_SERVING_TERMINATING),
            endpoint("10.0.1.4", TEST_NODE, **_ENDING),
            endpoint("10.0.1.5", "node-1", **_READY),
        ),
        "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80",
        "10.0.1.1:80, 10.0.1.2:80",
    ),
    *_terminating(
        _TL,
        _TERMINATING_LOCAL_SVC,
        "only terminating endpoints exist",
        (
            endpoint("10.0.1.2", TEST_NODE, **_SERVING_TERMINATING),
            endpoint("10.0.1.3", TEST_NODE, **_SERVING_TERMINATING),
            endpoint("10.0.1.4", TEST_NODE, **_ENDING),
            endpoint("10.0.1.5", "node-1", **_READY),
        ),
        "10.0.1.5:80",
        "10.0.1.2:80, 10.0.1.3:80",
    ),
    *_terminating(
        _TL,
        _TERMINATING_LOCAL_SVC,
        "terminating endpoints on remote node",
        (endpoint("10.0.1.5", "node-1", **_SERVING_TERMINATING),),
        "10.0.1.5:80",
        "DROP",
    ),
    *_terminating(
        _TL,
        _TERMINATING_LOCAL_SVC,
        "no usable endpoints on any node",
        (endpoint("10.0.1.5", TEST_NODE, **_ENDING), endpoint("10.0.1.5", "node-1", **_ENDING)),
        "REJECT",
        "REJECT",
    ),
    *_terminating(
        _TC,
        _TERMINATING_CLUSTER_SVC,
        "ready endpoints exist",
        (
            endpoint("10.0.1.1", TEST_NODE, **_READY),
            endpoint("10.0.1.2", TEST_NODE, **_READY),
            endpoint("10.0.1.3", "another-node", **_SERVING_TERMINATING),
            endpoint("10.0.1.4", "another-node", **_ENDING),
            endpoint("10.0.1.5", "another-node", **_READY),
        ),
        "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80",
        "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80",
    ),
    *_terminating(
        _TC,
        _TERMINATING_CLUSTER_SVC,
        "only terminating endpoints exist",
        (
            endpoint("10.0.1.2", TEST_NODE, **_SERVING_TERMINATING),
            endpoint("10.0.1.3", TEST_NODE, **_SERVING_TERMINATING),
            endpoint("10.0.1.4", "another-node", **_ENDING),
            endpoint("10.0.1.5", "another-node", **_SERVING_TERMINATING),
        ),
        "10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80",
        "10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80",
    ),
    *_terminating(
        _TC,
        _TERMINATING_CLUSTER_SVC,
        "terminating endpoints on remote node",
        (endpoint("10.0.1.5", "node-1", **_SERVING_TERMINATING),),
        "10.0.1.5:80",
        "10.0.1.5:80",
    ),
    *_terminating(
        _TC,
        _TERMINATING_CLUSTER_SVC,
        "no usable endpoints on any node",
        (endpoint("10.0.1.5", TEST_NODE, **_ENDING), endpoint("10.0.1.5", "node-1", **_ENDING)),
        "REJECT",
        "REJECT",
    ),
]


def _external_policy(policy: str) -> tuple[dict[str, Any], ...]:
    return (
        service(
            "ns1",
            "svc1",
            "172.30.0.41",
            type="LoadBalancer",
            port_name="p80",
            node_port=3001,
            external_traffic_policy=policy,
            load_balancer_ip="1.2.3.4",
            external_ips=("192.168.99.11",),
        ),
        endpoint_slice(
            "ns1", "svc1", endpoint("10.180.0.1"), endpoint("10.180.2.1", TEST_NODE), port_name="p80"
        ),
    )


BOTH_EPS = "10.180.0.1:80, 10.180.2.1:80"

# TestInternalExternalMasquerade: three LoadBalancer Services, each with one endpoint on test-node
# and one on "remote": svc1 plain, svc2 eTP Local, svc3 iTP Local
_MASQUERADE_MANIFESTS = tuple(
    m
    for ns, name, ip, np, lb, etp, itp, n in (
        ("ns1", "svc1", "172.30.0.41", 3001, "1.2.3.4", None, None, 1),
        ("ns2", "svc2", "172.30.0.42", 3002, "5.6.7.8", "Local", None, 2),
        ("ns3", "svc3", "172.30.0.43", 3003, "9.10.11.12", None, "Local", 3),
    )
    for m in (
        service(
            ns,
            name,
            ip,
            type="LoadBalancer",
            port_name="p80",
            node_port=np,
            load_balancer_ip=lb,
            external_traffic_policy=etp,
            internal_traffic_policy=itp,
        ),
        endpoint_slice(
            ns,
            name,
            endpoint(f"10.180.0.{n}", TEST_NODE),
            endpoint(f"10.180.1.{n}", "remote"),
            port_name="p80",
        ),
    )
)
_S1, _S2, _S3 = "10.180.0.1:80, 10.180.1.1:80", "10.180.0.2:80, 10.180.1.2:80", "10.180.0.3:80, 10.180.1.3:80"
_IPT = (IPTABLES,)
_MASQUERADE_FLOWS = (
    Flow("pod to ClusterIP", POD, CIP, _S1, False, "ns1/svc1"),
    Flow("pod to NodePort", POD, NP, _S1, True, "ns1/svc1"),
    Flow("pod to LB", POD, LB, _S1, True, "ns1/svc1"),
    Flow("node to ClusterIP", NODE, CIP, _S1, True, "ns1/svc1"),
    Flow("node to NodePort", NODE, NP, _S1, True, "ns1/svc1"),
    Flow("localhost to NodePort", NODE, NP, _S1, True, "ns1/svc1", _IPT),
    Flow("node to LB", NODE, LB, _S1, True, "ns1/svc1"),
    Flow("external to ClusterIP", EXTERNAL, CIP, _S1, True, "ns1/svc1"),
    Flow("external to NodePort", EXTERNAL, NP, _S1, True, "ns1/svc1"),
    Flow("external to LB", EXTERNAL, LB, _S1, True, "ns1/svc1"),
    Flow("pod to ClusterIP with eTP:Local", POD, CIP, _S2, False, "ns2/svc2"),
    Flow("pod to NodePort with eTP:Local", POD, NP, _S2, False, "ns2/svc2"),
    Flow("pod to LB with eTP:Local", POD, LB, _S2, False, "ns2/svc2"),
    Flow("node to ClusterIP with eTP:Local", NODE, CIP, _S2, True, "ns2/svc2"),
    # upstream sends this one to port 3001, svc1's node port (not svc2's): so it is svc1's answer
    Flow("node to NodePort with eTP:Local", NODE, NP, _S1, True, "ns1/svc1"),
    Flow("localhost to NodePort with eTP:Local", NODE, NP, _S2, True, "ns2/svc2", _IPT),
    Flow("node to LB with eTP:Local", NODE, LB, _S2, True, "ns2/svc2"),
    Flow("external to ClusterIP with eTP:Local", EXTERNAL, CIP, _S2, True, "ns2/svc2"),
    Flow("external to NodePort with eTP:Local", EXTERNAL, NP, "10.180.0.2:80", False, "ns2/svc2"),
    Flow("external to LB with eTP:Local", EXTERNAL, LB, "10.180.0.2:80", False, "ns2/svc2"),
    Flow("pod to ClusterIP with iTP:Local", POD, CIP, "10.180.0.3:80", False, "ns3/svc3"),
    Flow("pod to NodePort with iTP:Local", POD, NP, _S3, True, "ns3/svc3"),
    Flow("pod to LB with iTP:Local", POD, LB, _S3, True, "ns3/svc3"),
    Flow("node to ClusterIP with iTP:Local", NODE, CIP, "10.180.0.3:80", True, "ns3/svc3"),
    Flow("node to NodePort with iTP:Local", NODE, NP, _S3, True, "ns3/svc3"),
    Flow("localhost to NodePort with iTP:Local", NODE, NP, _S3, True, "ns3/svc3", _IPT),
    Flow("node to LB with iTP:Local", NODE, LB, _S3, True, "ns3/svc3"),
    Flow("external to ClusterIP with iTP:Local", EXTERNAL, CIP, "10.180.0.3:80", True, "ns3/svc3"),
    Flow("external to NodePort with iTP:Local", EXTERNAL, NP, _S3, True, "ns3/svc3"),
    Flow("external to LB with iTP:Local", EXTERNAL, LB, _S3, True, "ns3/svc3"),
)


def _overridden(overrides: dict[str, dict[str, Any]]) -> tuple[Flow, ...]:
    """upstream's packetFlowTestOverride: the base flows with some outputs and masq flags replaced."""
    out = []
    for f in _MASQUERADE_FLOWS:
        o = overrides.get(f.name, {})
        out.append(
            Flow(
                f.name,
                f.source,
                f.destination,
                o.get("output", f.output),
                o.get("masq", f.masq),
                f.service,
                f.files,
            )
        )
    assert set(overrides) <= {f.name for f in _MASQUERADE_FLOWS}
    return tuple(out)


_NO_DETECTOR: dict[str, dict[str, Any]] = {
    "node to ClusterIP": {"masq": False},
    "node to ClusterIP with eTP:Local": {"masq": False},
    "node to ClusterIP with iTP:Local": {"masq": False},
    "external to ClusterIP": {"masq": False},
    "external to ClusterIP with eTP:Local": {"masq": False},
    "external to ClusterIP with iTP:Local": {"masq": False},
    "pod to NodePort with eTP:Local": {"output": "10.180.0.2:80"},
    "pod to LB with eTP:Local": {"output": "10.180.0.2:80"},
}
_MASQUERADE_ALL: dict[str, dict[str, Any]] = {
    "pod to ClusterIP": {"masq": True},
    "pod to ClusterIP with eTP:Local": {"masq": True},
    "pod to ClusterIP with iTP:Local": {"masq": True},
}
_MASQUERADE_ALL_NO_DETECTOR: dict[str, dict[str, Any]] = {
    **_MASQUERADE_ALL,
    "pod to NodePort with eTP:Local": {"output": "10.180.0.2:80"},
    "pod to LB with eTP:Local": {"output": "10.180.0.2:80"},
}

_SVC2_PORTS = (
    ("http", 80, "TCP", None, 80),
    ("https", 443, "TCP", 8443, 8443),
    ("dns-udp", 53, "UDP", None, 53),
    ("dns-tcp", 53, "TCP", 5353, 5353),
    ("dns-sctp", 53, "SCTP", None, 53),
)
# TestClusterIPGeneral: svc1 with one port, svc2 with five (a targetPort on some, one port number
# under three protocols); the slice's port numbers are what the packets are sent to
_CLUSTER_IP_GENERAL = (
    {
        "kind": "Service",
        "metadata": {"namespace": "ns1", "name": "svc1"},
        "spec": {"clusterIP": "172.30.0.41", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
    },
    {
        "kind": "Service",
        "metadata": {"namespace": "ns2", "name": "svc2"},
        "spec": {
            "clusterIP": "172.30.0.42",
            "ports": [
                {"name": n, "port": p, "protocol": proto} | ({"targetPort": t} if t else {})
                for n, p, proto, t, _ in _SVC2_PORTS
            ],
        },
    },
    {
        "kind": "EndpointSlice",
        "metadata": {"namespace": "ns1", "name": "svc1-1", "labels": {"kubernetes.io/service-name": "svc1"}},
        "addressType": "IPv4",
        "endpoints": [endpoint("10.180.0.1", TEST_NODE)],
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
    },
    {
        "kind": "EndpointSlice",
        "metadata": {"namespace": "ns2", "name": "svc2-1", "labels": {"kubernetes.io/service-name": "svc2"}},
        "addressType": "IPv4",
        "endpoints": [endpoint("10.180.0.1", TEST_NODE), endpoint("10.180.2.1", "node2")],
        "ports": [{"name": n, "port": e, "protocol": proto} for n, _, proto, _, e in _SVC2_PORTS],
    },
)

_IPVS = (IPVS,)


def _ipvs_internal_traffic_policy(
    name: str, policy: str, nodes: tuple[str, str, str], servers: str
) -> list[PacketFlowCase]:
    ips = ("10.0.1.1", "10.0.1.2", "10.0.1.3")
    svc = service("ns1", "svc1", "172.20.1.1", internal_traffic_policy=policy)
    eps = (endpoint(ip, n, ready=True) for ip, n in zip(ips, nodes, strict=True))
    after = Flow("cluster IP real servers after the slice is deleted", POD, CIP, "", files=_IPVS)
    return [
        PacketFlowCase(
            f"TestTestInternalTrafficPolicyE2E/{name}",
            (svc, endpoint_slice("ns1", "svc1", *eps)),
            (Flow("cluster IP real servers", POD, CIP, servers, files=_IPVS),),
        ),
        PacketFlowCase(
            f"TestTestInternalTrafficPolicyE2E/{name}, after the slice is deleted", (svc,), (after,)
        ),
    ]


def _ipvs_terminating(
    test: str, policy: str, eps: tuple[dict[str, Any], ...], cip: str, eip: str
) -> list[PacketFlowCase]:
    svc = service(
        "ns1",
        "svc1",
        "172.20.1.1",
        type="NodePort",
        external_traffic_policy=policy,
        external_ips=("1.2.3.4",),
    )
    return [
        PacketFlowCase(
            test,
            (svc, endpoint_slice("ns1", "svc1", *eps)),
            (
                Flow("cluster IP real servers", POD, CIP, cip, files=_IPVS),
                Flow("external IP real servers", EXTERNAL, EIP, eip, files=_IPVS),
            ),
        ),
        PacketFlowCase(
            f"{test}, after the slice is deleted",
            (svc,),
            (
                Flow("cluster IP real servers", POD, CIP, "", files=_IPVS),
                Flow("external IP real servers", EXTERNAL, EIP, "", files=_IPVS),
            ),
        ),
    ]


_NOTHING = {"ready": False, "serving": False, "terminating": False}
IPVS_CASES = [
    *_ipvs_internal_traffic_policy(
        "internalTrafficPolicy is cluster with non-zero local endpoints",
        "Cluster",
        (TEST_NODE, "node1", "node2"),
        "10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80",
    ),
    # the two "zero local endpoints" cases expect no virtual server check but the one after deletion
    *_ipvs_internal_traffic_policy(
        "internalTrafficPolicy is local with non-zero local endpoints",
        "Local",
        (TEST_NODE, "node1", "node2"),
        "10.0.1.1:80",
    ),
    *_ipvs_terminating(
        "Test_EndpointSliceReadyAndTerminatingCluster",
        "Cluster",
        (
            endpoint("10.0.1.1", TEST_NODE, **_READY),
            endpoint("10.0.1.2", TEST_NODE, **_READY),
            endpoint("10.0.1.3", TEST_NODE, **_SERVING_TERMINATING),
            endpoint("10.0.1.4", TEST_NODE, **_ENDING),
            endpoint("10.0.1.5", "another-node", **_READY),
        ),
        "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80",
        # upstream checks the length (3) and the first two; its third check reads the cluster IP's list
        "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80",
    ),
    *_ipvs_terminating(
        "Test_EndpointSliceReadyAndTerminatingLocal",
        "Local",
        (
            endpoint("10.0.1.1", TEST_NODE, **_READY),
            endpoint("10.0.1.2", TEST_NODE, **_READY),
            endpoint("10.0.1.3", TEST_NODE, **_SERVING_TERMINATING),
            endpoint("10.0.1.4", TEST_NODE, **_ENDING),
            endpoint("10.0.1.5", "another-node", **_READY),
        ),
        "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80",
        "10.0.1.1:80, 10.0.1.2:80",
    ),
    *_ipvs_terminating(
        "Test_EndpointSliceOnlyReadyAndTerminatingCluster",
        "Cluster",
        (
            endpoint("10.0.1.1", TEST_NODE, **_SERVING_TERMINATING),
            endpoint("10.0.1.2", TEST_NODE, **_SERVING_TERMINATING),
            endpoint("10.0.1.3", TEST_NODE, **_ENDING),
            endpoint("10.0.1.4", "another-node", **_SERVING_TERMINATING),
            endpoint("10.0.1.5", "another-node", **_NOTHING),
        ),
        "10.0.1.1:80, 10.0.1.2:80, 10.0.1.4:80",
        "10.0.1.1:80, 10.0.1.2:80, 10.0.1.4:80",
    ),
    *_ipvs_terminating(
        "Test_EndpointSliceOnlyReadyAndTerminatingLocal",
        "Local",
        (
            endpoint("10.0.1.1", TEST_NODE, **_SERVING_TERMINATING),
            endpoint("10.0.1.2", TEST_NODE, **_SERVING_TERMINATING),
            endpoint("10.0.1.3", TEST_NODE, **_ENDING),
            endpoint("10.0.1.4", "another-node", **_SERVING_TERMINATING),
            endpoint("10.0.1.5", "another-node", **_READY),
        ),
        "10.0.1.5:80",
        "10.0.1.1:80, 10.0.1.2:80",
    ),
]


def _ipvs_only_local(test: str, destination: Destination, **spec: Any) -> PacketFlowCase:
    """TestOnlyLocal*: eTP Local, one endpoint here and one on other-node: the virtual server of the
    external destination holds only the local one."""
    return PacketFlowCase(
        test,
        (
            service("ns1", "svc1", "10.20.30.41", port_name="p80", external_traffic_policy="Local", **spec),
            endpoint_slice(
                "ns1",
                "svc1",
                endpoint("10.180.0.1", TEST_NODE),
                endpoint("10.180.1.1", "other-node"),
                port_name="p80",
            ),
        ),
        (Flow(f"{destination} real servers", EXTERNAL, destination, "10.180.0.1:80", files=_IPVS),),
    )


IPVS_CASES += [
    _ipvs_only_local(
        "TestOnlyLocalExternalIPs", EIP, type="NodePort", external_ips=("50.60.70.81", "127.0.0.1")
    ),
    _ipvs_only_local("TestOnlyLocalNodePorts", NP, type="NodePort", node_port=3001),
    _ipvs_only_local(
        "TestOnlyLocalLoadBalancing", LB, type="LoadBalancer", node_port=3001, load_balancer_ip="1.2.3.4"
    ),
]

PACKET_FLOW_CASES: tuple[PacketFlowCase, ...] = (
    PacketFlowCase(
        "TestClusterIPGeneral",
        _CLUSTER_IP_GENERAL,
        (
            Flow("simple clusterIP", POD, CIP, "10.180.0.1:80", False, "ns1/svc1"),
            # upstream also masquerades this one (hairpin: the source is the endpoint itself), a rule
            # per endpoint the model does not hold: only the endpoints are compared
            Flow("hairpin to cluster IP", POD, CIP, "10.180.0.1:80", None, "ns1/svc1"),
            Flow(
                "clusterIP with multiple endpoints",
                POD,
                CIP,
                "10.180.0.1:80, 10.180.2.1:80",
                False,
                "ns2/svc2",
                port=80,
            ),
            Flow(
                "clusterIP with TargetPort",
                POD,
                CIP,
                "10.180.0.1:8443, 10.180.2.1:8443",
                False,
                "ns2/svc2",
                port=443,
            ),
            Flow(
                "clusterIP with TCP, UDP, and SCTP on same port (TCP)",
                POD,
                CIP,
                "10.180.0.1:5353, 10.180.2.1:5353",
                False,
                "ns2/svc2",
                port=53,
            ),
            Flow(
                "clusterIP with TCP, UDP, and SCTP on same port (UDP)",
                POD,
                CIP,
                "10.180.0.1:53, 10.180.2.1:53",
                False,
                "ns2/svc2",
                port=53,
                protocol="UDP",
            ),
            Flow(
                "clusterIP with TCP, UDP, and SCTP on same port (SCTP)",
                POD,
                CIP,
                "10.180.0.1:53, 10.180.2.1:53",
                False,
                "ns2/svc2",
                port=53,
                protocol="SCTP",
            ),
        ),
    ),
    _internal_traffic_policy(
        "internalTrafficPolicy is cluster",
        "Cluster",
        (TEST_NODE, "node1", "node2"),
        Flow("pod to ClusterIP hits all endpoints", POD, CIP, "10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80", False),
    ),
    _internal_traffic_policy(
        "internalTrafficPolicy is local and there is one local endpoint",
        "Local",
        (TEST_NODE, "node1", "node2"),
        Flow("pod to ClusterIP hits only local endpoint", POD, CIP, "10.0.1.1:80", False),
    ),
    _internal_traffic_policy(
        "internalTrafficPolicy is local and there are multiple local endpoints",
        "Local",
        (TEST_NODE, TEST_NODE, "node2"),
        Flow("pod to ClusterIP hits all local endpoints", POD, CIP, "10.0.1.1:80, 10.0.1.2:80", False),
    ),
    _internal_traffic_policy(
        "internalTrafficPolicy is local and there are no local endpoints",
        "Local",
        ("node0", "node1", "node2"),
        Flow("no endpoints", POD, CIP, "DROP"),
    ),
    _ITP_DELETED,
    *TERMINATING_CASES,
    PacketFlowCase(
        "TestExternalTrafficPolicyLocal",
        _external_policy("Local"),
        (
            Flow("pod to cluster IP hits both endpoints, unmasqueraded", POD, CIP, BOTH_EPS, False),
            Flow("pod to external IP hits both endpoints, unmasqueraded", POD, EIP, BOTH_EPS, False),
            Flow(
                "external to external IP hits only local endpoint, unmasqueraded",
                EXTERNAL,
                EIP,
                "10.180.2.1:80",
                False,
            ),
            Flow("pod to LB IP hits only both endpoints, unmasqueraded", POD, LB, BOTH_EPS, False),
            Flow(
                "external to LB IP hits only local endpoint, unmasqueraded",
                EXTERNAL,
                LB,
                "10.180.2.1:80",
                False,
            ),
            Flow("pod to NodePort hits both endpoints, unmasqueraded", POD, NP, BOTH_EPS, False),
            Flow(
                "external to NodePort hits only local endpoint, unmasqueraded",
                EXTERNAL,
                NP,
                "10.180.2.1:80",
                False,
            ),
        ),
    ),
    PacketFlowCase(
        "TestExternalTrafficPolicyCluster",
        _external_policy("Cluster"),
        (
            Flow("pod to cluster IP hits both endpoints, unmasqueraded", POD, CIP, BOTH_EPS, False),
            Flow("pod to external IP hits both endpoints, masqueraded", POD, EIP, BOTH_EPS, True),
            Flow("external to external IP hits both endpoints, masqueraded", EXTERNAL, EIP, BOTH_EPS, True),
            Flow("pod to LB IP hits both endpoints, masqueraded", POD, LB, BOTH_EPS, True),
            Flow("external to LB IP hits both endpoints, masqueraded", EXTERNAL, LB, BOTH_EPS, True),
            Flow("pod to NodePort hits both endpoints, masqueraded", POD, NP, BOTH_EPS, True),
            Flow("external to NodePort hits both endpoints, masqueraded", EXTERNAL, NP, BOTH_EPS, True),
        ),
    ),
    PacketFlowCase(
        "TestNoEndpointsReject",
        (
            service(
                "ns1",
                "svc1",
                "172.30.0.41",
                type="LoadBalancer",
                port_name="p80",
                node_port=3001,
                load_balancer_ip="1.2.3.4",
                external_ips=("192.168.99.11",),
            ),
        ),
        (
            Flow("pod to cluster IP with no endpoints", POD, CIP, "REJECT"),
            Flow("external to external IP with no endpoints", EXTERNAL, EIP, "REJECT"),
            Flow("pod to NodePort with no endpoints", POD, NP, "REJECT"),
            Flow("external to NodePort with no endpoints", EXTERNAL, NP, "REJECT"),
            Flow("pod to LoadBalancer IP with no endpoints", POD, LB, "REJECT"),
            Flow("external to LoadBalancer IP with no endpoints", EXTERNAL, LB, "REJECT"),
        ),
    ),
    PacketFlowCase("TestInternalExternalMasquerade/base", _MASQUERADE_MANIFESTS, _MASQUERADE_FLOWS),
    PacketFlowCase(
        "TestInternalExternalMasquerade/no LocalTrafficDetector",
        _MASQUERADE_MANIFESTS,
        _overridden(_NO_DETECTOR),
        ProxySettings(pod_traffic_detected=False),
    ),
    PacketFlowCase(
        "TestInternalExternalMasquerade/masqueradeAll",
        _MASQUERADE_MANIFESTS,
        _overridden(_MASQUERADE_ALL),
        ProxySettings(masquerade_all=True),
    ),
    PacketFlowCase(
        "TestInternalExternalMasquerade/masqueradeAll, no LocalTrafficDetector",
        _MASQUERADE_MANIFESTS,
        _overridden(_MASQUERADE_ALL_NO_DETECTOR),
        ProxySettings(pod_traffic_detected=False, masquerade_all=True),
    ),
    *IPVS_CASES,
)


# --------------------------------------------------------------------------- health check node port


@dataclass(frozen=True)
class HealthCheckCase:
    """upstream checks how many Services have local ready endpoints (LocalReadyEndpoints): 1 or 0
    here, for its single Service; the node's health check answers 200 with some, 503 without."""

    test: str
    manifests: tuple[dict[str, Any], ...]
    has_local_ready_endpoints: bool


_HC_SVC = service("ns1", "svc1", "172.30.1.1")
HEALTH_CHECK_CASES = (
    HealthCheckCase(
        "TestHealthCheckNodePortWhenTerminating/ready local endpoints",
        (
            _HC_SVC,
            endpoint_slice(
                "ns1",
                "svc1",
                endpoint("10.0.1.1", TEST_NODE, ready=True),
                endpoint("10.0.1.2", TEST_NODE, ready=True),
                endpoint("10.0.1.3", TEST_NODE, ready=True),
                endpoint("10.0.1.4", TEST_NODE, ready=False),  # not ready endpoints should be ignored
            ),
        ),
        True,
    ),
    HealthCheckCase(
        "TestHealthCheckNodePortWhenTerminating/all endpoints set to terminating",
        (
            _HC_SVC,
            endpoint_slice(
                "ns1",
                "svc1",
                endpoint("10.0.1.1", TEST_NODE, ready=False, serving=True, terminating=False),
                endpoint("10.0.1.2", TEST_NODE, **_SERVING_TERMINATING),
                endpoint("10.0.1.3", TEST_NODE, **_SERVING_TERMINATING),
                endpoint("10.0.1.4", TEST_NODE, **_ENDING),
            ),
        ),
        False,
    ),
)
