"""The detail view's per-node table: what each node's kube-proxy does, where that depends on the node."""

from __future__ import annotations

from inspector.output.tables import service_detail
from tests.conftest import inspect_manifests


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), len(lines))
    return lines[start:end]


def test_internal_traffic_policy_local_shows_the_node_that_drops() -> None:
    sr = inspect_manifests("topology.yaml").service("edge", "web-local")
    assert sr is not None

    # node-sim is a kwok node: no kube-proxy, no row
    assert _section(service_detail(sr), "Traffic per node") == [
        "Traffic per node (the endpoints each node's kube-proxy uses):",
        "  NODE     ZONE     FROM-A-POD-THERE              TOPOLOGY",
        "  node-a   zone-a   10.244.1.11                   -",
        "  node-b   zone-b   10.244.2.11                   -",
        "  node-c   zone-c   DROPPED (no local endpoint)   -",
    ]


def test_prefer_same_zone_shows_each_nodes_zone_and_the_zone_without_endpoints_using_all() -> None:
    sr = inspect_manifests("topology.yaml").service("edge", "web-zonal")
    assert sr is not None

    assert _section(service_detail(sr), "Traffic per node")[1:] == [
        "  NODE     ZONE     FROM-A-POD-THERE           TOPOLOGY",
        "  node-a   zone-a   10.244.1.11                PreferSameZone",
        "  node-b   zone-b   10.244.2.11                PreferSameZone",
        "  node-c   zone-c   10.244.1.11, 10.244.2.11   -",
    ]


def test_external_traffic_policy_local_shows_the_local_endpoint_from_outside() -> None:
    sr = inspect_manifests("shop.yaml", "service-types.yaml").service("shop", "web-public")
    assert sr is not None

    assert _section(service_detail(sr), "Traffic per node")[1:] == [
        "  NODE     ZONE     FROM-A-POD-THERE         FROM-OUTSIDE   TOPOLOGY",
        "  node-a   <none>   10.244.1.5, 10.244.2.7   10.244.1.5     -",
        "  node-b   <none>   10.244.1.5, 10.244.2.7   10.244.2.7     -",
    ]


def test_a_service_every_node_uses_alike_has_no_per_node_table() -> None:
    report = inspect_manifests("shop.yaml", "service-types.yaml")
    for name in ("web", "web-nodeport"):
        sr = report.service("shop", name)
        assert sr is not None
        assert "Traffic per node" not in service_detail(sr)
