"""Expected endpoints: selected pods x Service ports, the way the EndpointSlice controller computes them."""

from __future__ import annotations

import pytest

from inspector.diagnosis.endpoints import Endpoint
from inspector.diagnosis.expectations import Expectation, NodePortEndpoint, expect, expected_node_ports
from inspector.model.selectors import LabelIndex
from tests.conftest import snapshot_of


def expectation(*sources: str, service: str) -> Expectation:
    snapshot = snapshot_of(*sources)
    namespace, name = service.split("/")
    svc = snapshot.service(namespace, name)
    assert svc is not None, f"no Service {service} in {sources}"
    return expect(svc, LabelIndex(snapshot.pods))


def summary(endpoints: tuple[Endpoint, ...]) -> list[tuple[str, int | None, str, str | None, str | None]]:
    return [(e.ip, e.port, e.protocol, e.port_name, e.pod) for e in endpoints]


def conditions(endpoints: tuple[Endpoint, ...]) -> dict[str | None, tuple[bool, bool, bool]]:
    """pod -> (ready, serving, terminating)"""
    return {e.pod: (e.ready, e.serving, e.terminating) for e in endpoints}


# ----------------------------------------------------------------------------- ports


def test_named_target_port_resolves_to_each_pods_own_container_port() -> None:
    exp = expectation("shop.yaml", service="shop/web")

    assert exp.endpoints == (
        Endpoint("10.244.1.5", 8080, "TCP", "http", "web-7d9f8-a1", "node-a", True, True, False),
        Endpoint("10.244.2.7", 8080, "TCP", "http", "web-7d9f8-b2", "node-b", True, True, False),
    )


def test_numeric_target_port_is_used_as_is() -> None:
    exp = expectation("shop.yaml", "service-types.yaml", service="shop/web-public")

    assert summary(exp.endpoints) == [
        ("10.244.1.5", 8080, "TCP", "https", "web-7d9f8-a1"),
        ("10.244.2.7", 8080, "TCP", "https", "web-7d9f8-b2"),
    ]


def test_absent_target_port_means_the_service_port() -> None:
    redis = """
apiVersion: v1
kind: Service
metadata: {name: web-raw, namespace: shop}
spec:
  selector: {app: web}
  ports:
    - port: 6379
"""
    exp = expectation("shop.yaml", redis, service="shop/web-raw")

    assert summary(exp.endpoints) == [
        ("10.244.1.5", 6379, "TCP", None, "web-7d9f8-a1"),
        ("10.244.2.7", 6379, "TCP", None, "web-7d9f8-b2"),
    ]


def test_named_target_port_resolved_per_pod_sidecars_included_protocol_matched() -> None:
    exp = expectation("ports.yaml", service="shop/api")

    assert summary(exp.endpoints) == [
        ("10.244.1.50", 8080, "TCP", "http", "api-main"),
        ("10.244.1.50", 9090, "TCP", "metrics", "api-main"),
        ("10.244.2.51", 15001, "TCP", "http", "api-meshed"),
        ("10.244.2.51", 9090, "TCP", "metrics", "api-meshed"),
        ("10.244.1.52", 9090, "TCP", "metrics", "api-init-only"),
        ("10.244.2.53", 9090, "TCP", "metrics", "api-udp"),
    ]


def test_port_resolution_per_pod_says_which_container_declares_the_port() -> None:
    exp = expectation("ports.yaml", service="shop/api")

    assert [
        (r.pod.name, r.service_port.name, r.container_port, r.container, r.declared) for r in exp.resolutions
    ] == [
        ("api-main", "http", 8080, "api", True),
        ("api-main", "metrics", 9090, "api", True),
        ("api-meshed", "http", 15001, "proxy", True),  # restartable init container: a sidecar
        ("api-meshed", "metrics", 9090, "api", True),
        ("api-init-only", "http", None, None, False),  # an ordinary init container does not count
        ("api-init-only", "metrics", 9090, None, False),  # numeric: still an endpoint, undeclared
        ("api-udp", "http", None, None, False),  # "http" is a UDP port there
        ("api-udp", "metrics", 9090, "api", True),
    ]


def test_named_target_port_missing_on_one_pod_drops_only_that_pods_endpoint_for_that_port() -> None:
    exp = expectation("ports.yaml", service="shop/api")

    http_pods = [e.pod for e in exp.endpoints if e.port_name == "http"]
    metrics_pods = [e.pod for e in exp.endpoints if e.port_name == "metrics"]

    assert http_pods == ["api-main", "api-meshed"]
    assert metrics_pods == ["api-main", "api-meshed", "api-init-only", "api-udp"]


def test_udp_service_port_resolves_the_name_against_udp_container_ports_only() -> None:
    api_udp = """
apiVersion: v1
kind: Service
metadata: {name: api-datagrams, namespace: shop}
spec:
  selector: {app: api}
  ports:
    - {name: http, port: 80, targetPort: http, protocol: UDP}
"""
    exp = expectation("ports.yaml", api_udp, service="shop/api-datagrams")

    assert summary(exp.endpoints) == [("10.244.2.53", 8080, "UDP", "http", "api-udp")]


# ----------------------------------------------------------------------------- conditions


def test_not_ready_pod_is_expected_with_ready_false_and_terminating_pod_as_serving_terminating() -> None:
    exp = expectation("readiness.yaml", service="shop/queue")

    assert conditions(exp.endpoints) == {
        "queue-ready": (True, True, False),
        "queue-starting": (False, False, False),
        "queue-draining": (False, True, True),
    }


def test_publish_not_ready_addresses_makes_every_endpoint_ready_serving_stays_the_pods_readiness() -> None:
    exp = expectation("readiness.yaml", service="shop/queue-peers")

    assert conditions(exp.endpoints) == {
        "queue-ready": (True, True, False),
        "queue-starting": (True, False, False),
        "queue-draining": (True, True, True),
    }


def test_terminal_pods_and_pods_without_ip_are_selected_but_get_no_endpoint() -> None:
    exp = expectation("readiness.yaml", service="shop/queue")

    assert [p.name for p in exp.selected] == [
        "queue-ready",
        "queue-starting",
        "queue-draining",
        "queue-migrate",
        "queue-crashed",
        "queue-unscheduled",
    ]
    assert [p.name for p in exp.eligible] == ["queue-ready", "queue-starting", "queue-draining"]
    assert [p.name for p in exp.ready_pods] == ["queue-ready"]
    assert {e.pod for e in exp.endpoints} == {"queue-ready", "queue-starting", "queue-draining"}


# ----------------------------------------------------------------------------- no expectations


PAYMENT_PODS = """
apiVersion: v1
kind: Pod
metadata: {name: payments-0, namespace: shop, labels: {app: payments}}
spec:
  containers: [{name: pay, image: pay:1, ports: [{containerPort: 8443}]}]
status:
  phase: Running
  podIP: 10.244.1.70
  conditions: [{type: Ready, status: "True"}]
"""


@pytest.mark.parametrize(
    ("sources", "service"),
    [
        pytest.param(
            ("misconfigured-types.yaml", PAYMENT_PODS), "shop/payments", id="externalname-with-selector"
        ),
        pytest.param(("shop.yaml", "service-types.yaml"), "shop/payments-gateway", id="externalname"),
        pytest.param(("shop.yaml", "service-types.yaml"), "shop/legacy-db", id="selectorless"),
    ],
)
def test_externalname_and_selectorless_services_expect_nothing(
    sources: tuple[str, ...], service: str
) -> None:
    exp = expectation(*sources, service=service)

    assert (exp.selected, exp.eligible, exp.resolutions, exp.endpoints) == ((), (), (), ())


def test_headless_service_without_ports_expects_one_portless_endpoint_per_pod() -> None:
    exp = expectation("shop.yaml", "service-types.yaml", service="shop/web-headless")

    assert summary(exp.endpoints) == [
        ("10.244.1.5", None, "TCP", None, "web-7d9f8-a1"),
        ("10.244.2.7", None, "TCP", None, "web-7d9f8-b2"),
    ]
    assert exp.resolutions == ()


# ----------------------------------------------------------------------------- address families

DUAL_STACK_POD = """
apiVersion: v1
kind: Pod
metadata: {name: dns-0, namespace: net, labels: {app: dns}}
spec:
  nodeName: node-a
  containers: [{name: dns, image: coredns:1.11, ports: [{name: dns, containerPort: 53, protocol: UDP}]}]
status:
  phase: Running
  podIP: 10.244.1.80
  podIPs: [{ip: 10.244.1.80}, {ip: "fd00:10:244:1::80"}]
  conditions: [{type: Ready, status: "True"}]
"""
IPV4_ONLY_POD = """
apiVersion: v1
kind: Pod
metadata: {name: dns-legacy, namespace: net, labels: {app: dns}}
spec:
  containers: [{name: dns, image: coredns:1.11, ports: [{name: dns, containerPort: 53, protocol: UDP}]}]
status:
  phase: Running
  podIP: 10.244.2.81
  conditions: [{type: Ready, status: "True"}]
"""


def dns_service(spec_lines: str) -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: dns, namespace: net}}
spec:
  selector: {{app: dns}}
  ports: [{{name: dns, port: 53, targetPort: dns, protocol: UDP}}]
{spec_lines}
"""


@pytest.mark.parametrize(
    ("spec_lines", "addresses"),
    [
        pytest.param(
            "  ipFamilies: [IPv4, IPv6]\n  ipFamilyPolicy: RequireDualStack",
            ["10.244.1.80", "fd00:10:244:1::80", "10.244.2.81"],
            id="dual-stack-both-families",
        ),
        pytest.param(
            "  ipFamilies: [IPv6, IPv4]\n  ipFamilyPolicy: PreferDualStack",
            ["fd00:10:244:1::80", "10.244.1.80", "10.244.2.81"],
            id="dual-stack-ipv6-primary",
        ),
        pytest.param("  ipFamilies: [IPv6]", ["fd00:10:244:1::80"], id="ipv6-only-skips-ipv4-only-pod"),
        pytest.param("  ipFamilies: [IPv4]", ["10.244.1.80", "10.244.2.81"], id="ipv4-only"),
        pytest.param('  clusterIP: "fd00:96::10"', ["fd00:10:244:1::80"], id="family-from-ipv6-cluster-ip"),
        pytest.param(
            "  clusterIP: 10.96.0.10", ["10.244.1.80", "10.244.2.81"], id="family-from-ipv4-cluster-ip"
        ),
    ],
)
def test_endpoint_addresses_follow_the_services_ip_families(spec_lines: str, addresses: list[str]) -> None:
    exp = expectation(DUAL_STACK_POD, IPV4_ONLY_POD, dns_service(spec_lines), service="net/dns")

    assert [e.ip for e in exp.endpoints] == addresses
    assert {(e.port, e.protocol, e.port_name) for e in exp.endpoints} == {(53, "UDP", "dns")}


# ----------------------------------------------------------------------------- node ports


def test_every_node_opens_every_node_port() -> None:
    snapshot = snapshot_of("shop.yaml", "service-types.yaml")
    svc = snapshot.service("shop", "web-nodeport")
    assert svc is not None

    assert expected_node_ports(svc, snapshot.nodes) == (
        NodePortEndpoint("node-a", "192.168.0.10", 30080, "TCP", 80),
        NodePortEndpoint("node-b", "192.168.0.11", 30080, "TCP", 80),
    )


def test_cluster_ip_service_opens_no_node_port() -> None:
    snapshot = snapshot_of("shop.yaml")
    svc = snapshot.service("shop", "web")
    assert svc is not None

    assert expected_node_ports(svc, snapshot.nodes) == ()
