"""The Python API and the commands' common path: from a kubeconfig and a scope to a `Report`.

Why it exists: the CLI, `wait`, the pytest plugin and users' own test suites run the same pipeline
(read a snapshot, inspect it, optionally ask the DNS), so it is written once, here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from inspector.diagnosis.report import Report, inspect_snapshot
from inspector.errors import BadInput, InspectorError, NotFound
from inspector.kube.connection import Client, connect
from inspector.live.reading import check_namespace, read_snapshot
from inspector.model.names import validate_name
from inspector.model.selectors import LabelSelector, parse_selector
from inspector.model.snapshot import Service, Snapshot
from inspector.settings import Settings

if TYPE_CHECKING:  # the NetworkPolicy tiers are imported by the runs that judge policies
    from inspector.diagnosis.policyverdicts import PolicyClient
    from inspector.diagnosis.reach import Reachability


@dataclass(frozen=True, slots=True)
class Scope:
    """Which Services to inspect: a namespace (None: the context's), or all; one name; a label selector."""

    namespace: str | None = None
    all_namespaces: bool = False
    name: str | None = None
    selector: LabelSelector | None = None

    def namespace_in(self, client: Client) -> str | None:
        """The namespace to read (None: all of them)."""
        return None if self.all_namespaces else (self.namespace or client.namespace)

    def includes(self, svc: Service) -> bool:
        if self.name is not None and svc.name != self.name:
            return False
        return self.selector is None or self.selector.matches(svc.labels)

    @property
    def filtered(self) -> bool:
        return self.name is not None or bool(self.selector and self.selector.requirements)


def make_scope(
    namespace: str | None = None,
    all_namespaces: bool = False,
    name: str | None = None,
    selector: str | None = None,
) -> Scope:
    """A validated scope: bad names and selectors fail here, before any request."""
    if namespace is not None:
        validate_name(namespace, "namespace")
    if name is not None:
        validate_name(name, "Service name")
    return Scope(namespace, all_namespaces, name, parse_selector(selector) if selector else None)


def inspect_cluster(client: Client, scope: Scope) -> Report:
    namespace = scope.namespace_in(client)
    snapshot = read_snapshot(client, namespace)
    include: Callable[[Service], bool] | None = scope.includes if scope.filtered else None
    report = inspect_snapshot(snapshot, include)
    if scope.name is not None and not report.services:
        where = f'namespace "{namespace}"' if namespace else "any namespace"
        raise NotFound(f'service "{scope.name}" not found in {where}')
    return report


def inspect(
    namespace: str | None = None,
    *,
    all_namespaces: bool = False,
    service: str | None = None,
    selector: str | None = None,
    kubeconfig: str | None = None,
    context: str | None = None,
    request_timeout: float | None = None,
    dns: bool = False,
    dns_server: str | None = None,
    cluster_domain: str | None = None,
    settings: Settings | None = None,
) -> Report:
    """Inspect the Services of a namespace (the context's by default) or of all namespaces; with
    `dns`, also ask the cluster DNS for every Service's records (`dns_server` HOST[:PORT], else
    INSPECTOR_DNS_SERVER, else kube-dns through the API server; `cluster_domain`, else the one
    kube-system/coredns names, else cluster.local).

    Raises `inspector.errors.InspectorError` subclasses (each with its `exit_status`) on bad input or
    an unreachable cluster or DNS; findings are data in the returned report, never exceptions. Every
    connection it opens is closed when it returns. The environment (KUBECONFIG, INSPECTOR_DNS_SERVER,
    ...) is read once, here, unless `settings` are given.
    """
    settings = Settings.from_environment() if settings is None else settings
    scope = make_scope(namespace, all_namespaces, service, selector)
    if not dns:
        with connect(kubeconfig, context, request_timeout, settings) as client:
            return inspect_cluster(client, scope)
    from inspector.live.asking import DNSOptions, with_dns  # only what asks the DNS imports it

    dns_options = DNSOptions.from_cli(dns_server, cluster_domain, settings=settings)
    with connect(kubeconfig, context, request_timeout, settings) as client:
        return with_dns(client, inspect_cluster(client, scope), dns_options)


# --------------------------------------------------------------------------- reachability


def widened(client: Client, snapshot: Snapshot, namespaces: Iterable[str]) -> Snapshot:
    """The snapshot with the objects of more namespaces (the client's, kube-system's), read the same
    way; a namespace that cannot be read becomes a note."""
    from inspector.diagnosis.reach import DNS_NAMESPACE

    if snapshot.namespaces is None:
        return snapshot
    more = [ns for ns in dict.fromkeys(namespaces) if ns not in snapshot.namespaces]
    extra = []
    notes = list(snapshot.notes)
    for ns in more:
        try:
            extra.append(read_snapshot(client, ns))
        except NotFound:
            if ns != DNS_NAMESPACE:
                raise
        except InspectorError as exc:
            notes.append(f"cannot read namespace {ns} for reachability: {exc}")
    if not extra:
        return dataclasses.replace(snapshot, notes=tuple(notes))
    everything = (snapshot, *extra)
    return dataclasses.replace(
        snapshot,
        services=tuple(s for snap in everything for s in snap.services),
        pods=tuple(p for snap in everything for p in snap.pods),
        network_policies=tuple(p for snap in everything for p in snap.network_policies),
        namespaces=(*snapshot.namespaces, *(ns for snap in extra for ns in snap.namespaces or ())),
        notes=tuple(dict.fromkeys([*notes, *(n for snap in extra for n in snap.notes)])),
    )


def check_reach_options(
    service: str, from_namespace: str | None, from_pod: str | None, labels: str | None
) -> dict[str, str]:
    """Bad `reach` input fails here, before any request; returns the client's labels."""
    validate_name(service, "Service name")
    if (from_namespace is None) == (from_pod is None):
        raise BadInput("give exactly one of --from-namespace NS or --from-pod POD")
    if from_pod is not None:
        pod_namespace, _, pod_name = from_pod.rpartition("/")
        if pod_namespace:
            validate_name(pod_namespace, "namespace")
        validate_name(pod_name, "pod name")
        if labels is not None:
            raise BadInput("--from-labels goes with --from-namespace; a pod has its own labels")
    if from_namespace is not None:
        validate_name(from_namespace, "namespace")
    chosen: dict[str, str] = {}
    for part in labels.split(",") if labels is not None else ():
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise BadInput(f"--from-labels: {part!r} is not KEY=VALUE")
        chosen[key.strip()] = value.strip()
    return chosen if labels is not None else {}


def pod_location(from_pod: str, default_namespace: str) -> tuple[str, str]:
    """--from-pod POD (in the Service's namespace) or NS/POD."""
    namespace, _, name = from_pod.rpartition("/")
    return namespace or default_namespace, name


def make_client(
    snapshot: Snapshot,
    from_namespace: str | None,
    from_pod: str | None,
    pod_namespace: str,
    labels: dict[str, str],
) -> PolicyClient:
    """The client `--from-namespace NS [--from-labels K=V,...]` or `--from-pod [NS/]POD` names."""
    from inspector.diagnosis.policyverdicts import PolicyClient

    if from_pod is not None:
        pod_namespace, name = pod_location(from_pod, pod_namespace)
        pod = next((p for p in snapshot.pods if p.namespace == pod_namespace and p.name == name), None)
        if pod is None:
            raise NotFound(f'pod "{name}" not found in namespace "{pod_namespace}"')
        return PolicyClient.of_pod(pod)
    assert from_namespace is not None
    return PolicyClient.in_namespace(from_namespace, labels)


def reach_service(
    client: Client,
    namespace: str,
    name: str,
    from_namespace: str | None,
    from_pod: str | None,
    labels: str | None = None,
) -> tuple[Reachability, Snapshot]:
    """May the client reach every ready endpoint of Service namespace/name, and kube-dns?"""
    from inspector.diagnosis.reach import DNS_NAMESPACE, reachability

    chosen = check_reach_options(name, from_namespace, from_pod, labels)
    validate_name(namespace, "namespace")
    snapshot = read_snapshot(client, namespace)
    service = snapshot.service(namespace, name)
    if service is None:
        raise NotFound(f'service "{name}" not found in namespace "{namespace}"')
    client_namespace = from_namespace or pod_location(from_pod or "", namespace)[0]
    if client_namespace != namespace:
        check_namespace(client, client_namespace)
    snapshot = widened(client, snapshot, [client_namespace, DNS_NAMESPACE])
    who = make_client(snapshot, from_namespace, from_pod, namespace, chosen)
    return reachability(snapshot, service, who), snapshot


def with_client_findings(client: Client, report: Report, from_namespace: str) -> Report:
    """diff --from-namespace: the NetworkPolicy findings for a pod of that namespace."""
    from inspector.diagnosis.policyverdicts import PolicyClient
    from inspector.diagnosis.reach import DNS_NAMESPACE, client_findings

    validate_name(from_namespace, "namespace")
    check_namespace(client, from_namespace)
    snapshot = widened(client, report.snapshot, [from_namespace, DNS_NAMESPACE])
    by_service, cluster = client_findings(
        snapshot,
        (sr.service for sr in report.services),
        PolicyClient.in_namespace(from_namespace),
        {sr.service.key: sr.expectation for sr in report.services},
    )
    report = dataclasses.replace(report, snapshot=dataclasses.replace(report.snapshot, notes=snapshot.notes))
    return report.with_findings(by_service, cluster=cluster)
