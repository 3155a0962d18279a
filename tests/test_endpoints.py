"""Actual endpoints: what the EndpointSlices of a Service hold, merged across slices."""

from __future__ import annotations

import pytest

from inspector.diagnosis.endpoints import Endpoint, SliceIndex, actual_endpoints, addresses_without_ports
from inspector.model.snapshot import EndpointSlice
from tests.conftest import snapshot_of


def slices_of(*sources: str, service: str) -> list[EndpointSlice]:
    snapshot = snapshot_of(*sources)
    namespace, name = service.split("/")
    svc = snapshot.service(namespace, name)
    assert svc is not None
    return SliceIndex(snapshot.slices).for_service(svc)


def slice_yaml(name: str, endpoints: str, ports: str = "[{name: http, port: 8080, protocol: TCP}]") -> str:
    return f"""
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}
  namespace: shop
  labels:
    kubernetes.io/service-name: web
    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
addressType: IPv4
ports: {ports}
endpoints: {endpoints}
"""


def test_endpoints_of_several_slices_are_merged_in_slice_name_order() -> None:
    slices = slices_of("ports.yaml", service="shop/api")

    assert [(e.address, e.port_name, e.pod, e.slice) for e in actual_endpoints(reversed(slices))] == [
        ("10.244.1.50:8080", "http", "api-main", "api-2xk9d"),
        ("10.244.1.50:9090", "metrics", "api-main", "api-2xk9d"),
        ("10.244.2.51:15001", "http", "api-meshed", "api-7bq4w"),
        ("10.244.2.51:9090", "metrics", "api-meshed", "api-7bq4w"),
        ("10.244.1.52:9090", "metrics", "api-init-only", "api-c8v5n"),
        ("10.244.2.53:9090", "metrics", "api-udp", "api-c8v5n"),
    ]


def test_endpoint_carries_the_slices_conditions_pod_and_node() -> None:
    slices = slices_of("readiness.yaml", service="shop/queue")

    assert actual_endpoints(slices) == [
        Endpoint(
            "10.244.1.40", 5672, "TCP", "amqp", "queue-ready", "node-a", True, True, False, "queue-7fj2k"
        ),
        Endpoint(
            "10.244.2.41", 5672, "TCP", "amqp", "queue-starting", "node-b", False, False, False, "queue-7fj2k"
        ),
        Endpoint(
            "10.244.1.42", 5672, "TCP", "amqp", "queue-draining", "node-a", False, True, True, "queue-7fj2k"
        ),
    ]


def test_endpoint_listed_in_two_slices_counts_once_from_the_first_slice() -> None:
    # while the controller moves an endpoint between slices, both may briefly list it
    both = "[{addresses: [10.244.1.5], conditions: {ready: true}}]"
    second = "[{addresses: [10.244.1.5], conditions: {ready: true}}, {addresses: [10.244.2.7]}]"
    snapshot = snapshot_of(slice_yaml("web-bbbbb", second), slice_yaml("web-aaaaa", both))

    endpoints = actual_endpoints(snapshot.slices)

    assert [(e.address, e.slice) for e in endpoints] == [
        ("10.244.1.5:8080", "web-aaaaa"),
        ("10.244.2.7:8080", "web-bbbbb"),
    ]


def test_same_address_on_another_port_is_another_endpoint() -> None:
    ports = "[{name: http, port: 8080, protocol: TCP}, {name: dns, port: 8080, protocol: UDP}]"
    snapshot = snapshot_of(slice_yaml("web-aaaaa", "[{addresses: [10.244.1.5]}]", ports=ports))

    assert [e.key for e in actual_endpoints(snapshot.slices)] == [
        ("10.244.1.5", 8080, "TCP", "http"),
        ("10.244.1.5", 8080, "UDP", "dns"),
    ]


def test_slice_without_ports_carries_no_endpoint_of_a_service_with_ports() -> None:
    # the controller's slice for pods that resolve none of the Service's named ports
    snapshot = snapshot_of(slice_yaml("web-noport", "[{addresses: [10.244.3.3]}]", ports="[]"))

    assert actual_endpoints(snapshot.slices) == []
    assert addresses_without_ports(snapshot.slices) == ["10.244.3.3"]


def test_portless_headless_service_counts_each_address_once_without_port() -> None:
    slices = slices_of("shop.yaml", "service-types.yaml", service="shop/web-headless")

    endpoints = actual_endpoints(slices, portless_service=True)

    assert [(e.key, e.address, e.pod) for e in endpoints] == [
        (("10.244.1.5", None, "TCP", None), "10.244.1.5", "web-7d9f8-a1"),
        (("10.244.2.7", None, "TCP", None), "10.244.2.7", "web-7d9f8-b2"),
    ]


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        pytest.param("{}", (True, True, False), id="absent-conditions-read-as-ready-serving"),
        pytest.param("{ready: false}", (False, False, False), id="serving-absent-follows-ready"),
        pytest.param(
            "{ready: false, serving: true, terminating: true}", (False, True, True), id="terminating-serving"
        ),
    ],
)
def test_absent_conditions_get_their_api_meaning(conditions: str, expected: tuple[bool, bool, bool]) -> None:
    snapshot = snapshot_of(
        slice_yaml("web-aaaaa", f"[{{addresses: [10.244.1.5], conditions: {conditions}}}]")
    )

    [endpoint] = actual_endpoints(snapshot.slices)

    assert (endpoint.ready, endpoint.serving, endpoint.terminating) == expected


def test_endpoint_targeting_something_other_than_a_pod_names_no_pod() -> None:
    endpoints = """[
      {addresses: [192.168.0.10], targetRef: {kind: Node, name: node-a}},
      {addresses: [192.168.0.11]}
    ]"""
    snapshot = snapshot_of(slice_yaml("web-aaaaa", endpoints))

    assert [(e.ip, e.pod, e.node) for e in actual_endpoints(snapshot.slices)] == [
        ("192.168.0.10", None, None),
        ("192.168.0.11", None, None),
    ]


@pytest.mark.parametrize(
    ("ip", "port", "address"),
    [
        pytest.param("10.244.1.5", 8080, "10.244.1.5:8080", id="ipv4"),
        pytest.param("fd00:10:244:1::5", 8080, "[fd00:10:244:1::5]:8080", id="ipv6-bracketed"),
        pytest.param("10.244.1.5", None, "10.244.1.5", id="portless"),
    ],
)
def test_endpoint_address_is_host_and_port(ip: str, port: int | None, address: str) -> None:
    assert Endpoint(ip, port, "TCP", None).address == address


def test_slice_index_groups_slices_by_the_service_they_name() -> None:
    snapshot = snapshot_of(
        "shop.yaml",
        "drift.yaml",
        slice_yaml("unnamed", "[]").replace("kubernetes.io/service-name: web\n", ""),
    )
    index = SliceIndex(snapshot.slices)
    web = snapshot.service("shop", "web")
    assert web is not None

    assert [s.name for s in index.for_service(web)] == ["web-x7k2p"]
    assert [s.name for s in index.slices_naming("shop", "web-old")] == ["web-old-pqrst"]
    assert [s.name for s in index.unlabelled] == ["unnamed"]
    assert sorted(index.services_named()) == [
        ("shop", "web"),
        ("shop", "web-lagging"),
        ("shop", "web-missing"),
        ("shop", "web-old"),
        ("shop", "web-stale"),
    ]


def test_unnamed_slice_port_matches_an_unnamed_service_port() -> None:
    # the controller writes name: "" for the single unnamed port of a Service
    snapshot = snapshot_of(
        slice_yaml(
            "web-aaaaa", "[{addresses: [10.244.1.5]}]", ports='[{name: "", port: 6379, protocol: TCP}]'
        )
    )

    assert [e.key for e in actual_endpoints(snapshot.slices)] == [("10.244.1.5", 6379, "TCP", None)]
