"""The node model answers kube-proxy's own cases the same (tests/kubeproxy_cases.py), and reads
what it needs from Kubernetes manifests."""

from __future__ import annotations

from dataclasses import replace

import pytest

from inspector.diagnosis.nodetraffic import (
    Policies,
    ProxyAction,
    ProxyEndpoint,
    Topology,
    categorize,
    health_check,
    node_traffic,
    proxy_endpoints,
    route,
)
from inspector.diagnosis.report import inspect_snapshot
from inspector.model.building import snapshot_from_manifests
from inspector.output.tables import service_detail
from tests.conftest import inspect_manifests, load, snapshot_of
from tests.kubeproxy_cases import (
    CATEGORIZE_CASES,
    HEALTH_CHECK_CASES,
    IPTABLES,
    IPVS,
    NFTABLES,
    PACKET_FLOW_CASES,
    TEST_NODE,
    CategorizeCase,
    Ep,
    Flow,
    HealthCheckCase,
    PacketFlowCase,
)


def _proxy_endpoint(ep: Ep, node: str) -> ProxyEndpoint:
    return ProxyEndpoint(
        address=ep.endpoint,
        node=node if ep.is_local else None,
        ready=ep.ready,
        serving=ep.serving,
        terminating=ep.terminating,
        zone_hints=frozenset(ep.zone_hints),
        node_hints=frozenset(ep.node_hints),
    )


def _names(endpoints: tuple[ProxyEndpoint, ...] | None) -> frozenset[str]:
    return frozenset(e.address for e in endpoints or ())


@pytest.mark.parametrize("case", CATEGORIZE_CASES, ids=lambda c: c.name)
def test_categorize_endpoints_agrees_with_kube_proxy(case: CategorizeCase) -> None:
    """pkg/proxy/topology_test.go, TestCategorizeEndpoints."""
    # upstream marks locality by a flag; the model by node name: an unnamed node is "test-node"
    node = case.node_name or TEST_NODE
    policies = Policies(
        internal_local=case.internal_local,
        external_local=case.external_local and case.node_port != 0,
        externally_accessible=case.node_port != 0,
    )
    endpoints = [_proxy_endpoint(e, node) for e in case.endpoints]

    got = categorize(endpoints, policies, node, case.zone, node_hints=case.prefer_same_enabled)

    # as upstream: allEndpoints is whichever of the two is non-empty, else the case's own
    if case.cluster and not case.local:
        expected_all = case.cluster
    elif case.local and not case.cluster:
        expected_all = case.local
    else:
        expected_all = case.all or frozenset()
    assert _names(got.cluster) == case.cluster
    assert _names(got.local) == case.local
    assert _names(got.reachable) == expected_all
    assert got.has_any == (bool(expected_all) or case.only_remote)


FLOWS = [(case, flow) for case in PACKET_FLOW_CASES for flow in case.flows]


@pytest.mark.parametrize(("case", "flow"), FLOWS, ids=[f"{c.test}: {f.name}" for c, f in FLOWS])
def test_packet_flow_agrees_with_kube_proxy(case: PacketFlowCase, flow: Flow) -> None:
    """pkg/proxy/iptables/, nftables/ and ipvs/proxier_test.go (flow.files)."""
    snapshot = snapshot_from_manifests(case.manifests)
    namespace, name = flow.service.split("/") if flow.service else ("ns1", "svc1")
    service = snapshot.service(namespace, name)
    assert service is not None
    port = next(p for p in service.ports if flow.port in (None, p.port) and p.protocol == flow.protocol)
    slices = [s for s in snapshot.slices if s.namespace == namespace and s.service_name == name]
    endpoints = proxy_endpoints(slices, port)

    verdict = route(
        endpoints, Policies.of(service, port), TEST_NODE, None, flow.destination, flow.source, case.settings
    )

    forwarded = verdict.action is ProxyAction.FORWARD
    if flow.files == (IPVS,):  # a virtual server's real servers: none where the others DROP or REJECT
        output = ", ".join(verdict.targets) if forwarded else ""
    else:
        output = ", ".join(verdict.targets) if forwarded else verdict.action.value.upper()
    assert output == flow.output
    if flow.masq is not None:
        assert verdict.snat == flow.masq


def test_every_upstream_case_is_transcribed() -> None:
    assert len(CATEGORIZE_CASES) == 32  # every case of TestCategorizeEndpoints
    assert len({c.name for c in CATEGORIZE_CASES}) == 32
    # nftables has no localhost node ports: 3 flows fewer in each of the 4 TestInternalExternalMasquerade cases
    per_file = {f: sum(1 for _, flow in FLOWS if f in flow.files) for f in (IPTABLES, NFTABLES, IPVS)}
    assert per_file == {IPTABLES: 184, NFTABLES: 172, IPVS: 23}


def test_topology_is_reported_per_node() -> None:
    eps = [
        ProxyEndpoint("10.0.0.1", node="a", zone_hints=frozenset({"zone-a"})),
        ProxyEndpoint("10.0.0.2", node="b", zone_hints=frozenset({"zone-b"})),
    ]
    assert categorize(eps, Policies(), "a", "zone-a").topology is Topology.SAME_ZONE
    assert categorize(eps, Policies(), "c", "zone-c").topology is Topology.NONE


# ----------------------------------------------------------------------------- from manifests


def test_snapshot_keeps_what_kube_proxy_reads() -> None:
    snapshot = snapshot_of("topology.yaml")
    zonal = snapshot.service("edge", "web-zonal")
    sticky = snapshot.service("edge", "web-sticky")
    hintless = snapshot.service("edge", "web-hintless")
    local = snapshot.service("edge", "web-local")
    assert zonal is not None and sticky is not None and hintless is not None and local is not None

    assert zonal.traffic_distribution == "PreferSameZone"
    assert local.internal_traffic_policy == "Local"
    assert (sticky.session_affinity, sticky.external_ips) == ("ClientIP", ("192.168.10.100",))
    assert hintless.topology_mode == "Auto"
    assert {n.name: n.zone for n in snapshot.nodes} == {
        "node-a": "zone-a",
        "node-b": "zone-b",
        "node-c": "zone-c",
        "node-sim": "zone-d",
    }
    same_node = next(s for s in snapshot.slices if s.service_name == "web-same-node")
    assert [(e.zone, e.zone_hints, e.node_hints) for e in same_node.endpoints] == [
        ("zone-a", ("zone-a",), ("node-a",)),
        ("zone-b", ("zone-b",), ("node-b",)),
    ]


def _per_node(service: str) -> dict[str, tuple[str, tuple[str, ...], str | None, tuple[str, ...] | None]]:
    snapshot = snapshot_of("topology.yaml")
    svc = snapshot.service("edge", service)
    assert svc is not None
    out = {}
    for nt in node_traffic(svc, snapshot.slices, snapshot.nodes):
        (port,) = nt.ports
        assert port.cluster_ip is not None
        external = port.external
        out[nt.node] = (
            port.cluster_ip.action.value,
            port.cluster_ip.addresses,
            external.action.value if external else None,
            external.addresses if external else None,
        )
    return out


def test_internal_traffic_policy_local_drops_on_nodes_without_an_endpoint() -> None:
    assert _per_node("web-local") == {
        "node-a": ("forward", ("10.244.1.11",), None, None),
        "node-b": ("forward", ("10.244.2.11",), None, None),
        "node-c": ("drop", (), None, None),
        "node-sim": ("drop", (), None, None),
    }


def test_prefer_same_zone_keeps_each_zone_to_its_endpoints_and_a_zone_without_one_uses_all() -> None:
    both = ("10.244.1.11", "10.244.2.11")
    assert _per_node("web-zonal") == {
        "node-a": ("forward", ("10.244.1.11",), None, None),
        "node-b": ("forward", ("10.244.2.11",), None, None),
        "node-c": ("forward", both, None, None),
        "node-sim": ("forward", both, None, None),
    }


def test_prefer_same_node_keeps_a_node_to_its_own_endpoint() -> None:
    both = ("10.244.1.11", "10.244.2.11")
    per_node = _per_node("web-same-node")
    assert per_node["node-a"] == ("forward", ("10.244.1.11",), None, None)
    # node-c has no node hint, and no endpoint is hinted for zone-c: no topology there
    assert per_node["node-c"] == ("forward", both, None, None)


def test_external_paths_of_a_node_port_service_with_cluster_policy_use_every_endpoint_snat() -> None:
    snapshot = snapshot_of("topology.yaml")
    svc = snapshot.service("edge", "web-sticky")
    assert svc is not None
    (node_c,) = [n for n in node_traffic(svc, snapshot.slices, snapshot.nodes) if n.node == "node-c"]
    (port,) = node_c.ports
    assert port.external is not None
    assert (port.external.action, port.external.addresses, port.external.snat) == (
        ProxyAction.FORWARD,
        ("10.244.1.11", "10.244.2.11"),
        True,
    )
    assert node_c.session_affinity == "ClientIP"


def test_headless_and_externalname_services_have_no_node_traffic() -> None:
    snapshot = snapshot_of("shop.yaml", "service-types.yaml")
    for name in ("web-headless", "payments-gateway"):
        svc = snapshot.service("shop", name)
        assert svc is not None
        assert node_traffic(svc, snapshot.slices, snapshot.nodes) == ()


TERMINATING_LOCAL = """
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
status: {conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-c}
status: {conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: edge}
spec:
  type: NodePort
  clusterIP: 10.96.30.1
  externalTrafficPolicy: Local
  internalTrafficPolicy: Local
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abcde
  namespace: edge
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
  - addresses: [10.244.1.5]
    conditions: {ready: true, serving: true, terminating: false}
    nodeName: node-a
  - addresses: [10.244.2.5]
    conditions: {ready: false, serving: true, terminating: true}
    nodeName: node-b
"""


def test_a_node_whose_only_endpoint_is_terminating_still_serves_local_traffic() -> None:
    report = inspect_manifests(TERMINATING_LOCAL)
    sr = report.service("edge", "web")
    assert sr is not None
    named = {f.code: f.details["nodeList"] for f in sr.findings if "nodeList" in f.details}

    # node-b's serving, terminating endpoint is used there: only node-c drops
    assert named == {
        "local-policy-nodes-without-endpoints": ["node-c"],
        "internal-traffic-policy-local-no-endpoint": ["node-c"],
    }


def test_missing_hints_without_the_controllers_event_say_so_without_a_reason() -> None:
    docs = [d for d in load("topology.yaml") if d.get("kind") != "Event"]
    report = inspect_snapshot(snapshot_from_manifests(docs))
    sr = report.service("edge", "web-hintless")
    assert sr is not None
    (found,) = [f for f in sr.findings if f.code == "topology-hints-missing"]

    assert found.message.startswith(
        "topology-mode Auto, but 2 of 2 ready endpoint(s) carry no zone hint in the EndpointSlices: "
    )
    assert found.details["hintsDisabledEvent"] is None


@pytest.mark.parametrize("case", HEALTH_CHECK_CASES, ids=lambda c: c.test)
def test_health_check_node_port_agrees_with_kube_proxy(case: HealthCheckCase) -> None:
    """pkg/proxy/iptables/proxier_test.go and pkg/proxy/nftables/proxier_test.go,
    TestHealthCheckNodePortWhenTerminating."""
    snapshot = snapshot_from_manifests(case.manifests)
    service = snapshot.service("ns1", "svc1")
    assert service is not None

    check = health_check(service, snapshot.slices, TEST_NODE)

    assert (check.local_endpoints > 0) == case.has_local_ready_endpoints
    assert check.status() == (200 if case.has_local_ready_endpoints else 503)
    assert check.status(proxy_healthy=False) == 503


def test_health_check_counts_an_endpoint_once_across_ports() -> None:
    """upstream's comment: 10.0.0.1:80 and 10.0.0.1:443 are one endpoint."""
    snapshot = snapshot_of("topology.yaml")
    service = snapshot.service("edge", "web-sticky")
    assert service is not None
    two_ports = replace(service, ports=(*service.ports, replace(service.ports[0], name="again", port=81)))
    slices = [
        replace(s, ports=(*s.ports, replace(s.ports[0], name="again")))
        if s.service_name == "web-sticky"
        else s
        for s in snapshot.slices
    ]

    assert health_check(two_ports, slices, "node-a").local_endpoints == 1
    assert health_check(two_ports, slices, "node-c").status() == 503


DUAL_STACK_LOCAL = """
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
status: {conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: net}
spec:
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  clusterIP: 10.96.7.7
  clusterIPs: [10.96.7.7, "fd00:96::7"]
  internalTrafficPolicy: Local
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-v4abc, namespace: net, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints: [{addresses: [10.244.1.9], conditions: {ready: true}, nodeName: node-a}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-v6def, namespace: net, labels: {kubernetes.io/service-name: api}}
addressType: IPv6
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints: [{addresses: ["fd00:10:244:2::9"], conditions: {ready: true}, nodeName: node-b}]
"""


def test_each_ip_family_is_decided_alone() -> None:
    """kube-proxy runs one proxier per family: node-a's IPv4 endpoint does not serve its IPv6 clients."""
    report = inspect_manifests(DUAL_STACK_LOCAL)
    sr = report.service("net", "api")
    assert sr is not None

    (found,) = [f for f in sr.findings if f.code == "internal-traffic-policy-local-no-endpoint"]
    assert found.details["nodeList"] == ["node-a", "node-b"]
    assert _section_lines(service_detail(sr), "Traffic per node")[1:] == [
        "  NODE     ZONE     PORT          FROM-A-POD-THERE              TOPOLOGY",
        "  node-a   <none>   http (IPv4)   10.244.1.9                    -",
        "  node-a   <none>   http (IPv6)   DROPPED (no local endpoint)   -",
        "  node-b   <none>   http (IPv4)   DROPPED (no local endpoint)   -",
        "  node-b   <none>   http (IPv6)   fd00:10:244:2::9              -",
    ]


def _section_lines(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), len(lines))
    return lines[start:end]
