"""What `wait` calls discoverable: the pure verdict on one Service, its workloads and its targets."""

from __future__ import annotations

import pytest

from inspector.diagnosis.readiness import Target, endpoint_drift, parse_targets
from inspector.diagnosis.report import inspect_snapshot
from inspector.errors import BadInput
from inspector.model.building import snapshot_from_manifests
from tests.conftest import load

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  generation: 2
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, tier: frontend}
status:
  observedGeneration: 2
  replicas: 3
  updatedReplicas: 3
  readyReplicas: 3
"""


def drift(*sources: str, service: str = "web") -> list[str]:
    """The verdict on shop.yaml's pods, Service and slice, with the workloads of `sources` (shop.yaml's
    own Deployment, which has no status, is left out)."""
    docs = [d for d in load("shop.yaml") if d["kind"] != "Deployment"] + load(*sources)
    snapshot = snapshot_from_manifests(docs)
    sr = inspect_snapshot(snapshot).service("shop", service)
    assert sr is not None
    return endpoint_drift(sr, snapshot.workloads)


def test_a_healthy_service_whose_workload_is_rolled_out_is_discoverable():
    assert drift(WEB) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("readyReplicas: 3", "Deployment web is still rolling out: 1 of 3 replica(s) ready"),
        ("updatedReplicas: 3", "Deployment web is still rolling out: 3 of 3 replica(s) ready"),
        ("observedGeneration: 2", "Deployment web is still rolling out: 3 of 3 replica(s) ready"),
    ],
    ids=["scaling-up", "old-pods-still-serving", "new-spec-not-yet-seen"],
)
def test_a_workload_still_rolling_out_keeps_its_service_waiting(change: str, reason: str):
    stale = {
        "readyReplicas: 3": "readyReplicas: 1",
        "updatedReplicas: 3": "updatedReplicas: 1",
        "observedGeneration: 2": "observedGeneration: 1",
    }[change]
    assert drift(WEB.replace(change, stale)) == [reason]


def test_workloads_whose_pods_the_service_does_not_select_do_not_count():
    other = (
        WEB.replace("name: web", "name: admin")
        .replace("app: web", "app: admin")
        .replace("readyReplicas: 3", "readyReplicas: 0")
    )
    assert drift(WEB, other) == []


def test_a_replicaset_owned_by_a_deployment_is_judged_through_its_deployment():
    owned = """
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: shop
  ownerReferences: [{kind: Deployment, name: web, controller: true, apiVersion: apps/v1, uid: "1"}]
spec:
  replicas: 3
  template:
    metadata:
      labels: {app: web}
status:
  readyReplicas: 0
"""
    assert drift(WEB, owned) == []


def test_a_stale_endpoint_that_still_receives_traffic_keeps_its_service_waiting():
    stale = """
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-old
  namespace: shop
  labels:
    kubernetes.io/service-name: web
    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
  - addresses: [10.244.3.9]
    conditions: {ready: true}
"""
    assert drift(WEB, stale) == [
        "1 endpoint(s) not (or no longer) explained by a selected pod still receive traffic: 10.244.3.9:8080"
    ]
    assert drift(WEB, stale.replace("ready: true", "ready: false")) == []  # present, but gets no traffic


@pytest.mark.parametrize(
    ("names", "targets"),
    [
        (["web"], [Target("shop", "web")]),
        (["ops/db", "web"], [Target("ops", "db"), Target("shop", "web")]),
    ],
)
def test_targets_are_names_in_the_default_namespace_or_namespace_slash_name(names, targets):
    assert parse_targets(names, "shop") == targets


@pytest.mark.parametrize("names", [[], ["Web"], ["a/b/c"], ["ops/"], ["/web"]])
def test_bad_targets_are_bad_input(names):
    with pytest.raises(BadInput):
        parse_targets(names, "shop")
