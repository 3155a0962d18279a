"""Snapshot building: unusual but valid objects get their API defaults, and nothing raises."""

from __future__ import annotations

import yaml

from inspector.diagnosis.report import inspect_snapshot
from inspector.model.snapshot import (
    ContainerPort,
    EndpointSlice,
    ObjectRef,
    Pod,
    Service,
    ServicePort,
    SliceEndpoint,
    SlicePort,
    Snapshot,
    Workload,
)
from inspector.output import documents, tables
from inspector.output.text import explain
from tests.conftest import snapshot_of

LONG = "23456789-123456789-123456789-123456789-123456789-123456789-123"  # with one leading letter: 63


def pod_named(snapshot: Snapshot, name: str) -> Pod:
    return next(p for p in snapshot.pods if p.name == name)


def slice_named(snapshot: Snapshot, name: str) -> EndpointSlice:
    return next(s for s in snapshot.slices if s.name == name)


def test_unusual_objects_build_a_snapshot_that_inspects_and_renders() -> None:
    snapshot = snapshot_of("unusual.yaml")

    report = inspect_snapshot(snapshot)

    assert [s.key for s in snapshot.services] == [f"b{LONG}/a{LONG}", "odd/dns-only", "odd/bare"]
    assert len(snapshot.pods) == 3
    assert [s.name for s in snapshot.slices] == ["dns-only-empty", "bare/subset-0", "bare/subset-1"]
    assert [n.name for n in snapshot.nodes] == ["node-a"]
    # infos: a port not declared, and two selected pods not ready
    assert documents.summary_json(report) == {"services": 3, "errors": 2, "warnings": 0, "infos": 3}
    data = documents.report_json(report)
    assert yaml.safe_load(documents.dump(data, "yaml")) == data
    assert tables.services_table(report, wide=True).count("\n") == 3
    assert explain(report).splitlines()[-1] == "3 service(s): 2 error(s), 0 warning(s), 3 info(s)"
    details = [tables.service_detail(sr).split("\n\n") for sr in report.services]
    assert [(d[0].splitlines()[0], d[-1].splitlines()[0]) for d in details] == [
        (f"Service:     {sr.service.key}", "Findings:") for sr in report.services
    ]


def test_pod_without_status_is_pending_without_ip_and_not_ready() -> None:
    pod = pod_named(snapshot_of("unusual.yaml"), "just-created")

    assert pod == Pod(namespace="odd", name="just-created", labels={"app": "odd"}, phase="Pending")


def test_pod_with_only_pod_ips_takes_its_first_as_ip() -> None:
    pod = pod_named(snapshot_of("unusual.yaml"), "ipv6-only")

    assert (pod.ip, pod.ips, pod.ready, pod.node) == (
        "fd00:10:244:1::7",
        ("fd00:10:244:1::7",),
        True,
        "node-a",
    )
    assert pod.container_ports == (ContainerPort("app", 8080, "TCP", None),)


def test_63_character_names_are_kept_whole() -> None:
    snapshot = snapshot_of("unusual.yaml")
    report = inspect_snapshot(snapshot)
    sr = report.service(f"b{LONG}", f"a{LONG}")

    assert sr is not None
    assert [p.name for p in sr.expectation.selected] == [f"a{LONG}"]
    assert len(sr.service.name) == len(sr.service.namespace) == 63


def test_service_without_spec_is_a_clusterip_service_without_ports_or_selector() -> None:
    svc = snapshot_of("unusual.yaml").service("odd", "bare")

    assert svc == Service(namespace="odd", name="bare")
    assert (svc.type, svc.ports, svc.has_selector, svc.headless) == ("ClusterIP", (), False, False)


def test_slice_without_endpoints_or_ports_is_empty() -> None:
    slice_ = slice_named(snapshot_of("unusual.yaml"), "dns-only-empty")

    assert slice_ == EndpointSlice(namespace="odd", name="dns-only-empty", service_name="dns-only")


def test_legacy_endpoints_become_one_slice_per_subset_with_ready_and_not_ready_addresses() -> None:
    snapshot = snapshot_of("unusual.yaml")

    assert [s for s in snapshot.slices if s.legacy] == [
        EndpointSlice(
            namespace="odd",
            name="bare/subset-0",
            service_name="bare",
            endpoints=(
                SliceEndpoint(("172.16.0.5",), ready=True, serving=True, terminating=False),
                SliceEndpoint(
                    ("172.16.0.6",),
                    ready=False,
                    serving=False,
                    terminating=False,
                    target=ObjectRef("Pod", "odd", "bare-0"),
                    node="node-b",
                ),
            ),
            ports=(SlicePort(5432, "TCP", None),),
            legacy=True,
        ),
        EndpointSlice(namespace="odd", name="bare/subset-1", service_name="bare", legacy=True),
    ]


def test_list_items_are_read_and_unknown_kinds_ignored() -> None:
    snapshot = snapshot_of("unusual.yaml")

    assert snapshot.workloads == (
        Workload(
            kind="StatefulSet",
            namespace="odd",
            name="db",
            replicas=1,
            template_labels={"app": "db"},
            updated_replicas=0,  # no status yet: nothing rolled out
            service_name="dns-only",
        ),
    )


def test_manifest_without_namespace_lands_in_default_like_kubectl_apply() -> None:
    snapshot = snapshot_of(
        """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80, targetPort: 8080, nodePort: 30080, protocol: UDP}]
  type: NodePort
"""
    )

    assert snapshot.services == (
        Service(
            namespace="default",
            name="web",
            type="NodePort",
            ports=(ServicePort(80, "UDP", None, 8080, 30080),),
        ),
    )
    assert snapshot.services[0].ports[0].label == "80:8080/30080/UDP"


def test_pod_owner_is_its_controller_reference() -> None:
    pod = pod_named(snapshot_of("shop.yaml"), "web-7d9f8-a1")

    assert pod.owner == ObjectRef("ReplicaSet", "shop", "web-7d9f8")


def test_empty_snapshot_inspects_to_an_empty_ok_report() -> None:
    report = inspect_snapshot(Snapshot())

    assert (report.services, report.findings, report.ok) == ((), (), True)


def test_pod_not_ready_says_why_from_its_status_and_its_latest_unhealthy_event() -> None:
    snapshot = snapshot_of("notready.yaml")

    crashing = pod_named(snapshot, "api-crashing")
    assert (crashing.troubles, crashing.restarts) == (
        (
            "container app: CrashLoopBackOff (last exit: Error, exit code 3)",
            "ContainersReady: ContainersNotReady",
        ),
        4,
    )
    assert pod_named(snapshot, "api-ready").troubles == ()
    assert [(e.pod, e.count, e.message) for e in snapshot.probe_events] == [
        ("api-wrong-probe", 2, "Readiness probe failed: HTTP probe failed with statuscode: 500"),
        ("api-wrong-probe", 7, "Readiness probe failed: HTTP probe failed with statuscode: 404"),
    ]  # the Normal "Started" event is no probe failure


def test_pod_hostname_subdomain_and_restarts_are_read() -> None:
    snapshot = snapshot_of(
        """
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: data}
spec: {hostname: db-0, subdomain: db, containers: [{name: a, image: a}, {name: b, image: b}]}
status:
  containerStatuses: [{name: a, restartCount: 2}, {name: b, restartCount: 3}]
"""
    )

    (pod,) = snapshot.pods
    assert (pod.hostname, pod.subdomain, pod.restarts) == ("db-0", "db", 5)
