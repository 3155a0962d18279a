"""The report: snapshot in, expected vs actual endpoints and findings out, per Service.

Why it exists: every command (services, endpoints, diff, wait, the Python API) reads the same report,
so the decisions are made once, here, without any I/O. Work is linear in objects: pods are indexed
by label once, slices by Service name once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from inspector.diagnosis.checks import ServiceFacts, run_checks
from inspector.diagnosis.checks.naming import naming_findings
from inspector.diagnosis.endpoints import Endpoint, SliceIndex, actual_endpoints
from inspector.diagnosis.expectations import Expectation, NodePortEndpoint, expect, expected_node_ports
from inspector.diagnosis.routes import BackendState, backend_states
from inspector.model.findings import CATALOGUE, Finding, Severity, finding, worst
from inspector.model.selectors import LabelIndex, near_misses
from inspector.model.snapshot import Service, ServiceType, Snapshot, Workload


class Status(StrEnum):
    """A Service's overall state, as the `services` table shows it (info findings stay ok)."""

    OK = "ok"
    WARN = "warn"
    ERROR = "error"


_STATUS = {None: Status.OK, Severity.WARNING: Status.WARN, Severity.ERROR: Status.ERROR}


@dataclass(frozen=True, slots=True)
class ServiceReport:
    facts: ServiceFacts
    findings: tuple[Finding, ...]
    node_ports: tuple[NodePortEndpoint, ...]
    routes: tuple[BackendState, ...] = ()  # the route backends that name this Service

    @property
    def service(self) -> Service:
        return self.facts.service

    @property
    def expectation(self) -> Expectation:
        return self.facts.expectation

    @property
    def expected(self) -> tuple[Endpoint, ...]:
        return self.facts.expectation.endpoints

    @property
    def actual(self) -> tuple[Endpoint, ...]:
        return self.facts.actual

    @property
    def status(self) -> Status:
        return _STATUS[worst([f for f in self.findings if f.severity is not Severity.INFO])]


@dataclass(frozen=True, slots=True)
class Report:
    snapshot: Snapshot
    services: tuple[ServiceReport, ...]
    cluster_findings: tuple[Finding, ...] = ()  # about no one Service (orphan slices, naming, routes)
    routes: tuple[BackendState, ...] = ()  # every Service backend of every Ingress or route read

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for s in self.services for f in s.findings) + self.cluster_findings

    @property
    def notes(self) -> tuple[str, ...]:
        return self.snapshot.notes

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def ok(self) -> bool:
        return self.count(Severity.ERROR) == 0

    def service(self, namespace: str, name: str) -> ServiceReport | None:
        return next(
            (s for s in self.services if s.service.namespace == namespace and s.service.name == name), None
        )

    def with_findings(
        self,
        by_service: Mapping[str, Iterable[Finding]],
        note: str | None = None,
        cluster: Iterable[Finding] = (),
    ) -> Report:
        """This report with more findings (e.g. DNS ones) after each Service's own, keyed by
        "namespace/name", more cluster findings, and a note about where they came from."""
        services = tuple(
            dataclasses.replace(sr, findings=sr.findings + tuple(by_service.get(sr.service.key, ())))
            for sr in self.services
        )
        snapshot = self.snapshot
        if note is not None:
            snapshot = dataclasses.replace(snapshot, notes=(*snapshot.notes, note))
        return dataclasses.replace(
            self,
            snapshot=snapshot,
            services=services,
            cluster_findings=self.cluster_findings + tuple(cluster),
        )


def _diff(
    expected: tuple[Endpoint, ...], actual: tuple[Endpoint, ...]
) -> tuple[tuple[Endpoint, ...], tuple[Endpoint, ...], tuple[tuple[Endpoint, Endpoint], ...]]:
    by_key = {e.key: e for e in actual}
    expected_keys = {e.key for e in expected}
    missing = tuple(e for e in expected if e.key not in by_key)
    unexpected = tuple(a for a in actual if a.key not in expected_keys)
    differ = tuple((e, by_key[e.key]) for e in expected if e.key in by_key and by_key[e.key].ready != e.ready)
    return missing, unexpected, differ


def _scaled_to_zero(service: Service, workloads: list[Workload]) -> tuple[Workload, ...]:
    selector = service.selector or {}
    return tuple(
        w
        for w in workloads
        if w.replicas == 0 and not w.owned and all(w.template_labels.get(k) == v for k, v in selector.items())
    )


def judged_offline(findings: Iterable[Finding]) -> list[Finding]:
    """The findings judged from manifests alone: all a what-if run claims for what does not run yet."""
    return [f for f in findings if CATALOGUE[f.code].offline]


def inspect_snapshot(snapshot: Snapshot, include: Callable[[Service], bool] | None = None) -> Report:
    """Expected vs actual endpoints and findings for every Service in the snapshot that `include` keeps.

    Every Service of the snapshot still counts for orphan-slice detection, whatever `include` says.
    """
    index = LabelIndex(snapshot.pods)
    slice_index = SliceIndex(snapshot.slices)
    workloads_by_ns: dict[str, list[Workload]] = {}
    for w in snapshot.workloads:
        workloads_by_ns.setdefault(w.namespace, []).append(w)

    what_if = snapshot.what_if
    routes = backend_states(snapshot, slice_index, index)
    routes_to: dict[str, list[BackendState]] = {}
    for b in routes:
        routes_to.setdefault(b.backend.service_key, []).append(b)

    reports = []
    for svc in sorted(snapshot.services, key=lambda s: (s.namespace, s.name)):
        if include is not None and not include(svc):
            continue
        exp = expect(svc, index)
        # a Service the files of a what-if run touch: its slices are what the controller will write
        # once they are applied, which no one can read yet; nothing is claimed about them
        planned = what_if is not None and what_if.planned(svc.key)
        slices = () if planned else tuple(slice_index.for_service(svc))
        actual = tuple(actual_endpoints(slices, portless_service=not svc.ports))
        missing, unexpected, differ = (
            _diff(exp.endpoints, actual)
            if svc.type is not ServiceType.EXTERNAL_NAME and not planned
            else ((), (), ())
        )
        no_pods = svc.selects_pods and not exp.selected
        facts = ServiceFacts(
            service=svc,
            expectation=exp,
            slices=slices,
            actual=actual,
            missing=missing,
            unexpected=unexpected,
            conditions_differ=differ,
            near_misses=tuple(near_misses(index, svc.namespace, svc.selector or {})) if no_pods else (),
            scaled_to_zero=_scaled_to_zero(svc, workloads_by_ns.get(svc.namespace, [])) if no_pods else (),
            nodes=snapshot.nodes,
            probe_events=tuple(
                e for e in snapshot.probe_events if e.namespace == svc.namespace and e.pod in unready
            )
            if (unready := {p.name for p in exp.selected if not p.ready})
            else (),
            service_events=tuple(
                e for e in snapshot.service_events if e.namespace == svc.namespace and e.service == svc.name
            ),
            planned=planned,
        )
        leading = tuple(routes_to.get(svc.key, ()))
        route_findings = [b.finding for b in leading if b.finding is not None]
        found = run_checks(facts) + route_findings
        reports.append(
            ServiceReport(
                facts,
                tuple(judged_offline(found) if planned else found),
                expected_node_ports(svc, snapshot.nodes),
                leading,
            )
        )

    cluster = cluster_findings(snapshot, slice_index, routes) if include is None else ()
    if what_if is not None and what_if.offline:
        cluster = tuple(judged_offline(cluster))
    return Report(snapshot, tuple(reports), cluster, tuple(routes))


def cluster_findings(
    snapshot: Snapshot, slice_index: SliceIndex | None = None, routes: Sequence[BackendState] | None = None
) -> tuple[Finding, ...]:
    """The findings about no one Service: orphan EndpointSlices, naming mistakes, routes to a
    Service that does not exist. Each is about one namespace's objects only, so `serve` keeps them
    per namespace and judges again only the namespaces a change touched."""
    slice_index = SliceIndex(snapshot.slices) if slice_index is None else slice_index
    routes = backend_states(snapshot, slice_index) if routes is None else routes
    out: list[Finding] = []
    existing = {(s.namespace, s.name) for s in snapshot.services}
    for namespace, name in sorted(slice_index.services_named()):
        if (namespace, name) not in existing:
            for s in slice_index.slices_naming(namespace, name):
                if not s.legacy:
                    out.append(finding("orphan-endpointslice", slice=s.key, service=f"{namespace}/{name}"))
    out += naming_findings(snapshot)
    out += [b.finding for b in routes if b.state == "service-missing" and b.finding]
    return tuple(out)
