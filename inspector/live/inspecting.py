"""The Python API and the commands' common path: from a kubeconfig and a scope to a `Report`.

Why it exists: the CLI, `wait`, the pytest plugin and users' own test suites run the same pipeline
(read a snapshot, inspect it, optionally ask the DNS), so it is written once, here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inspector.diagnosis.report import Report, inspect_snapshot
from inspector.errors import NotFound
from inspector.kube.connection import Client, connect
from inspector.live.reading import read_snapshot
from inspector.model.names import validate_name
from inspector.model.selectors import LabelSelector, parse_selector
from inspector.model.snapshot import Service


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
) -> Report:
    """Inspect the Services of a namespace (the context's by default) or of all namespaces; with
    `dns`, also ask the cluster DNS for every Service's records (`dns_server` HOST[:PORT], else
    INSPECTOR_DNS_SERVER, else kube-dns through the API server; `cluster_domain`, else the one
    kube-system/coredns names, else cluster.local).

    Raises `inspector.errors.InspectorError` subclasses (each with its `exit_status`) on bad input or
    an unreachable cluster or DNS; findings are data in the returned report, never exceptions. Every
    connection it opens is closed when it returns.
    """
    scope = make_scope(namespace, all_namespaces, service, selector)
    if not dns:
        with connect(kubeconfig, context, request_timeout) as client:
            return inspect_cluster(client, scope)
    from inspector.live.asking import DNSOptions, with_dns  # only what asks the DNS imports it

    dns_options = DNSOptions.from_cli(dns_server, cluster_domain)
    with connect(kubeconfig, context, request_timeout) as client:
        return with_dns(client, inspect_cluster(client, scope), dns_options)
