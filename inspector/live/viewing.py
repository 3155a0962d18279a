"""What the `pods` command and a Service's detail view (`services NAME`) show, gathered.

Why it exists: every command's reads and analyses run in the live tier and the CLI only shows what
comes back. These two views gather more than a report of Services: `pods` lists the pods of the
namespaces read with the Services that select each; the detail view adds, where NetworkPolicies
exist in the Service's namespace, their verdict on its ready endpoints for a client there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from inspector.diagnosis.policyverdicts import PolicyClient
from inspector.diagnosis.reach import Reachability, reachability
from inspector.diagnosis.report import Report, ServiceReport, inspect_snapshot
from inspector.kube.connection import Client
from inspector.live.inspecting import Scope
from inspector.live.reading import read_snapshot
from inspector.model.selectors import LabelSelector
from inspector.model.snapshot import Pod

PodRow = tuple[Pod, list[str]]  # a pod and the names of the Services that select it


@dataclass(frozen=True, slots=True)
class PodsView:
    report: Report  # of every Service of the namespaces read: their notes, whether they are several
    rows: list[PodRow]  # the pods chosen, by namespace and name


def pods_with_services(report: Report, pods: Iterable[Pod]) -> list[PodRow]:
    selecting: dict[tuple[str, str], list[str]] = {}
    for sr in report.services:
        for p in sr.expectation.selected:
            selecting.setdefault((p.namespace, p.name), []).append(sr.service.name)
    return [(p, selecting.get((p.namespace, p.name), [])) for p in pods]


def view_pods(client: Client, scope: Scope, pod_selector: LabelSelector | None) -> PodsView:
    """The pods of the scope's namespace (or all) that `pod_selector` picks (all without one)."""
    snapshot = read_snapshot(client, scope.namespace_in(client))
    report = inspect_snapshot(snapshot)
    chosen = [
        p
        for p in sorted(snapshot.pods, key=lambda p: (p.namespace, p.name))
        if pod_selector is None or pod_selector.matches(p.labels)
    ]
    return PodsView(report, pods_with_services(report, chosen))


@dataclass(frozen=True, slots=True)
class ServiceDetail:
    service: ServiceReport
    # the NetworkPolicies' verdict on its ready endpoints for a pod of its own namespace; None when
    # it selects no pods or no policy of its namespace exists
    policies: Reachability | None


def service_details(report: Report) -> list[ServiceDetail]:
    """The detail view of each Service of the report."""
    return [ServiceDetail(sr, _own_namespace_policies(report, sr)) for sr in report.services]


def _own_namespace_policies(report: Report, sr: ServiceReport) -> Reachability | None:
    svc = sr.service
    if not svc.selects_pods or not any(
        p.namespace == svc.namespace for p in report.snapshot.network_policies
    ):
        return None
    return reachability(report.snapshot, svc, PolicyClient.in_namespace(svc.namespace))
