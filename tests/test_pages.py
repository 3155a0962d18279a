"""LIST pages decoded straight into the snapshot's types (`inspector.model.pages`) give exactly what
the other way gives: the page decoded into dicts of the fields read (`inspector.kube.decoding`) and
built by `building.py`'s builders. Compared on pages recorded from a cluster (tests/pages/: kwok's
pods, one of them not ready, CoreDNS' pods, headless, NodePort and selector-less Services, their
slices), on the unit tests' manifests, and on generated objects with fields left out, sent as null,
emptied or replaced by JSON of another type: the same objects, or the same refusal."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.errors import ClusterUnreachable
from inspector.kube.decoding import decode_page
from inspector.model.building import endpointslice_from_api, pod_from_api, service_from_api
from inspector.model.pages import pods_of_page, services_of_page, slices_of_page
from tests.test_decoding import MANIFESTS, objects
from tests.test_properties import (
    CLUSTER,
    JSONISH,
    endpointslice_manifests,
    pod_manifests,
    service_manifests,
)

PAGES = sorted((Path(__file__).parent / "pages").glob("*.json"))
KINDS: dict[str, tuple[str, Callable[[Any], Any], Callable[[bytes, str, str], Sequence[Any]]]] = {
    "pods": ("Pod", pod_from_api, pods_of_page),
    "services": ("Service", service_from_api, services_of_page),
    "endpointslices": ("EndpointSlice", endpointslice_from_api, slices_of_page),
}
BY_KIND = {kind: (build, straight) for kind, build, straight in KINDS.values()}


def both_ways(kind: str, data: bytes) -> tuple[Any, Any]:
    """What each way makes of a page: its objects, or the type of error it was refused with."""
    build, straight = BY_KIND[kind]
    try:
        through_dicts: Any = [
            build(o) for o in decode_page(kind, data, "https://127.0.0.1:6443", "/p")["items"]
        ]
    except ClusterUnreachable as exc:
        through_dicts = type(exc)
    try:
        decoded: Any = list(straight(data, "https://127.0.0.1:6443", "/p"))
    except ClusterUnreachable as exc:
        decoded = type(exc)
    return through_dicts, decoded


def page(kind: str, items: list[Any]) -> bytes:
    return json.dumps({"kind": f"{kind}List", "metadata": {"resourceVersion": "7"}, "items": items}).encode()


@pytest.mark.parametrize("recorded", PAGES, ids=lambda p: p.stem)
def test_a_recorded_page_decodes_straight_into_what_the_builders_make_of_it(recorded: Path) -> None:
    kind = KINDS[recorded.stem.partition("-")[0]][0]
    data = recorded.read_bytes()

    through_dicts, decoded = both_ways(kind, data)

    assert decoded == through_dicts
    assert len(decoded) == len(json.loads(data)["items"]) > 0


def test_the_recorded_pages_hold_the_cases_the_straight_reading_hands_on_or_reads_apart() -> None:
    pods = [p for f in PAGES if f.stem.startswith("pods") for p in pods_of_page(f.read_bytes(), "s", "p")]
    services = [
        s for f in PAGES if f.stem.startswith("services") for s in services_of_page(f.read_bytes(), "s", "p")
    ]

    assert any(not p.ready and p.troubles for p in pods)  # read by pod_from_api, from the page's dict
    assert any(p.ready and p.owner is not None for p in pods)
    assert any(s.headless for s in services) and any(s.type == "NodePort" for s in services)
    assert any(not s.selector for s in services)  # the API server's own `kubernetes` Service


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.stem)
def test_a_manifest_sent_as_pages_decodes_straight_into_what_the_builders_make_of_it(manifest: Path) -> None:
    for kind, _, _ in KINDS.values():
        items = [o for o in objects(manifest) if o.get("kind") == kind]

        through_dicts, decoded = both_ways(kind, page(kind, items))

        assert decoded == through_dicts


FATE = st.integers(0, 11)  # 0: dropped; 1: null; 2: emptied; 3: JSON of another shape; else kept


def mangle(draw: st.DrawFn, value: Any) -> Any:
    """`value` with fields at any depth left out, sent as null, emptied or replaced by garbage."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            fate = draw(FATE)
            if fate == 0:
                continue
            out[k] = None if fate == 1 else type(v)() if fate == 2 else draw(JSONISH) if fate == 3 else v
            if fate > 3:
                out[k] = mangle(draw, v)
        return out
    if isinstance(value, list):
        return [mangle(draw, v) for v in value]
    return value


@st.composite
def mangled_pages(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(BY_KIND)))
    strategy = {
        "Pod": pod_manifests(),
        "Service": service_manifests(),
        "EndpointSlice": endpointslice_manifests(),
    }
    items = [mangle(draw, o) for o in draw(st.lists(strategy[kind], min_size=1, max_size=3))]
    return kind, page(kind, items)


@settings(CLUSTER, max_examples=100)
@given(mangled_pages())
def test_any_page_decodes_straight_into_what_the_builders_make_of_it_or_is_refused_alike(
    kind_and_page: tuple[str, bytes],
) -> None:
    kind, data = kind_and_page

    through_dicts, decoded = both_ways(kind, data)

    assert decoded == through_dicts


def test_a_page_that_is_not_json_is_one_clear_error() -> None:
    with pytest.raises(ClusterUnreachable, match="answered /api/v1/pods with invalid JSON"):
        pods_of_page(b'{"items": [', "https://127.0.0.1:6443", "/api/v1/pods")
    wrong_type = (
        r"unexpected JSON: Expected `int \| null`, got `str` - at `\$.items\[0\].spec.ports\[0\].port`"
    )
    with pytest.raises(ClusterUnreachable, match=wrong_type):
        services_of_page(b'{"items": [{"spec": {"ports": [{"port": "80"}]}}]}', "s", "/api/v1/services")


def _ready_pod(name: str, labels: dict[str, str], node: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "shop",
            "labels": labels,
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-7d9", "controller": True}],
        },
        "spec": {
            "nodeName": node,
            "containers": [{"name": "app", "ports": [{"name": "http", "containerPort": 80}]}],
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.0.0.{len(name)}",
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def test_a_page_s_pods_share_one_copy_of_what_they_repeat_and_keep_their_own_values() -> None:
    web = {"app": "web", "tier": "front"}
    data = page(
        "Pod",
        [
            _ready_pod("web-1", web, "node-a"),
            _ready_pod("web-22", dict(web), "node-a"),
            _ready_pod("db-1", {"app": "db"}, "node-b"),
        ],
    )

    one, two, other = pods_of_page(data, "s", "p")

    assert one.labels is two.labels and one.labels == web  # one mapping for a workload's pods
    assert other.labels == {"app": "db"} and other.labels is not one.labels
    assert one.container_ports is two.container_ports and one.owner is two.owner
    assert one.namespace is two.namespace is other.namespace and one.node is two.node
    assert (one.node, other.node, one.ip, two.ip) == ("node-a", "node-b", "10.0.0.5", "10.0.0.6")
    # another page shares nothing with this one: no table outlives the page's objects
    (again,) = pods_of_page(page("Pod", [_ready_pod("web-1", web, "node-a")]), "s", "p")
    assert again == one and again.labels is not one.labels
