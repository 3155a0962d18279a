"""The benchmark's plan (bench/populating.py): `make bench` measures at 20,000 pods, then fills the
same cluster on to 100,000 and measures again, creating only the objects missing. That is honest
only if the smaller plan's objects are exactly the first ones of the larger plan, by name and
content, and if no kwok node is given more pods than its /24 holds."""

from __future__ import annotations

import sys
from collections import Counter
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from populating import PODS_PER_NODE, PRESETS, Plan, pod_manifests, service_manifests

LARGE = Plan(**PRESETS["large"])
DEFAULT = Plan(**PRESETS["default"])


def test_the_20000_pod_plan_is_the_start_of_the_100000_pod_plan_object_for_object() -> None:
    assert DEFAULT.prefix_of(LARGE)
    small_pods = list(pod_manifests(DEFAULT))
    assert list(islice(pod_manifests(LARGE), len(small_pods))) == small_pods
    small_services = list(service_manifests(DEFAULT))
    assert list(islice(service_manifests(LARGE), len(small_services))) == small_services


def test_each_plan_deals_its_pods_over_all_its_nodes_and_no_node_gets_more_than_its_range_holds() -> None:
    for plan in (LARGE, DEFAULT, Plan(**PRESETS["small"]), Plan(services=1000, pods=2500, namespaces=20)):
        per_node = Counter(p["spec"]["nodeName"] for p in pod_manifests(plan))
        assert len(per_node) == plan.nodes, plan
        assert max(per_node.values()) <= PODS_PER_NODE, plan
        assert sum(per_node.values()) == plan.pods


def test_a_service_s_pods_are_spread_over_nodes_and_live_in_its_namespace() -> None:
    pods = [p for p in pod_manifests(DEFAULT) if p["metadata"]["labels"]["app"] == "app-00123"]
    assert len(pods) == DEFAULT.pods_of(123) == 10
    assert len({p["spec"]["nodeName"] for p in pods}) == 10
    assert {p["metadata"]["namespace"] for p in pods} == {DEFAULT.namespace(123)} == {"bench-01"}


def test_plans_that_do_not_line_up_are_not_prefixes() -> None:
    assert not Plan(services=2000, pods=20000, namespaces=10).prefix_of(LARGE)  # 200 Services a namespace
    assert not Plan(services=2000, pods=30000, namespaces=20).prefix_of(LARGE)  # 15 pods a Service
    assert not LARGE.prefix_of(DEFAULT)
