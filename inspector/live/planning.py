"""What-if runs (-f): the report of the cluster as it will be once files are applied, offline or laid
over the live cluster.

Why it exists: `diff`, `services`, `dns` and `reach` judge manifests before `kubectl apply`. Offline
(`--offline`) the files are all there is and no cluster is contacted (no kubeconfig is read); laid
over the cluster, the namespaces the files touch are read (only read: nothing is written) and the
files' objects replace or join the live ones (`inspector.model.overlaying`). Which namespaces: those
the files' objects land in (an object without one in -n, else the context's), -n's, or all with -A.
`dns --offline -f` lists the records the files' Services will have (`offline_dns`): nothing is asked.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from inspector.diagnosis.endpoints import SliceIndex
from inspector.diagnosis.expectations import expected_slices
from inspector.diagnosis.policyverdicts import PolicyClient
from inspector.diagnosis.reach import DNS_NAMESPACE, Reachability, client_findings
from inspector.diagnosis.report import Report, inspect_snapshot
from inspector.dns.querynames import DEFAULT_DOMAIN, parse_cluster_domain
from inspector.dns.records import Record, expected_records, version_record
from inspector.errors import BadInput, NotFound
from inspector.live.manifests import read_manifests
from inspector.model.overlaying import Manifest, what_if
from inspector.model.snapshot import Service, Snapshot

if TYPE_CHECKING:
    from inspector.kube.connection import Client
    from inspector.live.inspecting import Scope

DEFAULT_NAMESPACE = "default"  # where an offline run puts objects without a namespace, as kubectl


@dataclass(frozen=True, slots=True)
class Files:
    """-f PATH... [-R] [--offline]: the manifests a what-if run judges."""

    paths: tuple[str, ...]
    recursive: bool = False
    offline: bool = False

    def read(self, namespace: str, stdin: TextIO | None = None) -> list[Manifest]:
        return read_manifests(self.paths, self.recursive, namespace, stdin or sys.stdin)


def make_files(paths: Sequence[str] | None, recursive: bool, offline: bool) -> Files | None:
    """The -f options, checked before anything is read."""
    if not paths:
        if offline:
            raise BadInput("--offline judges files: give them with -f PATH")
        if recursive:
            raise BadInput("-R descends into the directories of -f: give one with -f PATH")
        return None
    return Files(tuple(paths), recursive, offline)


def _in_scope(scope: Scope) -> Callable[[Service], bool] | None:
    return scope.includes if scope.filtered else None


def _found(report: Report, scope: Scope, where: str) -> Report:
    if scope.name is not None and not report.services:
        raise NotFound(f'service "{scope.name}" not found in {where}')
    return report


def offline_snapshot(files: Files, namespace: str | None, stdin: TextIO | None = None) -> Snapshot:
    """The files alone: objects without a namespace in `namespace` (else default)."""
    return what_if(files.read(namespace or DEFAULT_NAMESPACE, stdin))


def offline_report(files: Files, scope: Scope, stdin: TextIO | None = None) -> Report:
    snapshot = offline_snapshot(files, scope.namespace, stdin)
    report = inspect_snapshot(snapshot, _in_scope(scope))
    return _found(report, scope, "the files")


@dataclass(frozen=True, slots=True)
class PlannedDNS:
    """dns --offline -f: the files' report, and the records the cluster DNS should serve once they
    are applied (the cluster's dns-version last); nothing was asked."""

    report: Report
    records: tuple[Record, ...]
    domain: str


def planned_records(report: Report, domain: str) -> list[Record]:
    """Every record of the report's Services, from the EndpointSlices their controller will write
    (a Service without selector: the slices of the files that name it), then the cluster's dns-version record. Pod
    records are left out: whether they exist is the Corefile's to say, which no file holds."""
    files = SliceIndex(report.snapshot.slices)
    out: list[Record] = []
    for sr in report.services:
        svc = sr.service
        slices = expected_slices(sr.expectation) if svc.selects_pods else files.for_service(svc)
        out += expected_records(svc, slices, domain)
    return [*out, version_record(domain)]


def offline_dns(files: Files, scope: Scope, domain: str | None, stdin: TextIO | None = None) -> PlannedDNS:
    """The records the files' Services will have, in --cluster-domain (else cluster.local)."""
    zone = parse_cluster_domain(domain) if domain is not None else DEFAULT_DOMAIN
    report = offline_report(files, scope, stdin)
    return PlannedDNS(report, tuple(planned_records(report, zone)), zone)


def namespaces_of(manifests: Iterable[Manifest], *more: str | None) -> list[str]:
    """The namespaces the files' objects land in, then `more` (in that order, once each)."""
    found = [m.namespace for m in manifests if m.namespace is not None]
    return list(dict.fromkeys(ns for ns in [*found, *more] if ns))


def merged(snapshots: Sequence[Snapshot]) -> Snapshot:
    """Several namespaces' snapshots as one (the nodes and namespaces, read with each, once)."""
    first = snapshots[0]
    if len(snapshots) == 1:
        return first
    return dataclasses.replace(
        first,
        services=tuple(s for snap in snapshots for s in snap.services),
        slices=tuple(s for snap in snapshots for s in snap.slices),
        pods=tuple(p for snap in snapshots for p in snap.pods),
        workloads=tuple(w for snap in snapshots for w in snap.workloads),
        network_policies=tuple(p for snap in snapshots for p in snap.network_policies),
        routes=tuple(r for snap in snapshots for r in snap.routes),
        probe_events=tuple(e for snap in snapshots for e in snap.probe_events),
        service_events=tuple(e for snap in snapshots for e in snap.service_events),
        namespaces=tuple(ns for snap in snapshots for ns in snap.namespaces or ()),
        notes=tuple(dict.fromkeys(n for snap in snapshots for n in snap.notes)),
    )


def overlay_snapshot(
    client: Client, manifests: Sequence[Manifest], namespaces: Sequence[str] | None
) -> Snapshot:
    """The files laid over what the cluster holds in `namespaces` (None: all). A namespace the files
    create (a Namespace object) need not exist yet."""
    from inspector.live.reading import read_snapshot

    if namespaces is None:
        return what_if(manifests, read_snapshot(client, None))
    created = {m.name for m in manifests if m.kind == "Namespace"}
    read = []
    for ns in namespaces:
        try:
            read.append(read_snapshot(client, ns))
        except NotFound:
            if ns not in created and ns != DNS_NAMESPACE:
                raise NotFound(
                    f'namespace "{ns}" not found (and the files do not create it): kubectl apply would fail'
                ) from None
    base = merged(read) if read else Snapshot(namespaces=tuple(namespaces))
    base = dataclasses.replace(base, namespaces=tuple(namespaces))
    return what_if(manifests, base)


def overlay_report(client: Client, files: Files, scope: Scope, stdin: TextIO | None = None) -> Report:
    """The report once the files are applied to the cluster: of the namespaces the files' objects
    land in and -n's (all with -A)."""
    landing = scope.namespace or client.namespace
    manifests = files.read(landing, stdin)
    namespaces = None if scope.all_namespaces else namespaces_of(manifests, scope.namespace) or [landing]
    snapshot = overlay_snapshot(client, manifests, namespaces)
    report = inspect_snapshot(snapshot, _in_scope(scope))
    return _found(report, scope, "the files or the cluster")


def offline_client_findings(report: Report, from_namespace: str) -> Report:
    """diff --offline --from-namespace: the NetworkPolicy findings of the files for a pod there."""
    by_service, cluster = client_findings(
        report.snapshot,
        (sr.service for sr in report.services),
        PolicyClient.in_namespace(from_namespace),
        {sr.service.key: sr.expectation for sr in report.services},
    )
    return report.with_findings(by_service, cluster=cluster)


def reach_planned(
    files: Files,
    namespace: str,
    name: str,
    who: Callable[[Snapshot], PolicyClient],
    client: Client | None = None,
    client_namespace: str | None = None,
    stdin: TextIO | None = None,
) -> tuple[Reachability, Snapshot]:
    """reach -f: the policies (and objects) of the files judged with the live ones, or alone."""
    from inspector.diagnosis.reach import reachability

    manifests = files.read(namespace, stdin)
    if client is None:
        snapshot = what_if(manifests)
    else:
        snapshot = overlay_snapshot(
            client, manifests, namespaces_of(manifests, namespace, client_namespace, DNS_NAMESPACE)
        )
    service = snapshot.service(namespace, name)
    if service is None:
        where = "the files" if client is None else f'namespace "{namespace}" (files and cluster)'
        raise NotFound(f'service "{name}" not found in {where}')
    return reachability(snapshot, service, who(snapshot)), snapshot
