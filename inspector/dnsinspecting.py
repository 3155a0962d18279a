"""The DNS pipeline: find the cluster DNS, resolve a name as a pod would, check every Service's records.

Why it exists: `resolve`, `dns`, `diff --dns` (and the Python API) run the same steps: snapshot ->
expected records and the pod's search walk (pure) -> queries (`resolving`) -> judgement
(`dnschecking`). This module wires them, and is the one place that decides where queries go:
`--dns-server`/`INSPECTOR_DNS_SERVER` first; else the kube-dns Service in kube-system, queried
directly when the inspector runs inside the cluster (its ClusterIP is only reachable there), else over
TCP through the API server's port-forward to one of its ready pods.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from inspector import resolving
from inspector.dnschecking import (
    RecordCheck,
    Resolution,
    check_records,
    judge,
    nothing_answered,
    with_dns_findings,
)
from inspector.errors import BadInput, DNSUnreachable, Forbidden, NotFound
from inspector.fetching import Cluster, forward_port
from inspector.findings import finding
from inspector.inspecting import Report, inspect_snapshot
from inspector.names import validate_name
from inspector.records import Answer, RecordBook, namespaces_named, records_for_report
from inspector.resolvconf import (
    DNS_PORT,
    Nameserver,
    candidates,
    cluster_domain_from_corefile,
    parse_nameserver,
    resolv_conf,
    validate_qname,
    walk,
)
from inspector.snapshot import Snapshot

DNS_NAMESPACE = "kube-system"
DNS_SERVICE = "kube-dns"
ENV_DNS_SERVER = "INSPECTOR_DNS_SERVER"
COREDNS_CONFIG_MAP = "coredns"
DEFAULT_DOMAIN = "cluster.local"


@dataclass(frozen=True, slots=True)
class DNSOptions:
    server: str | None = None  # HOST[:PORT]; None: find the kube-dns Service
    server_via: str = "--dns-server"  # where `server` came from, as the output says it
    domain: str = DEFAULT_DOMAIN
    timeout: float = 2.0  # seconds per try
    retries: int = 1  # tries again after a timeout
    domain_given: bool = True  # False: ask the cluster's DNS configuration (with_cluster_domain)

    @classmethod
    def from_cli(
        cls,
        server: str | None,
        domain: str | None,
        timeout: float,
        retries: int,
        env: dict[str, str] | None = None,
    ) -> DNSOptions:
        """--dns-server, else INSPECTOR_DNS_SERVER; a validated cluster domain (None: the cluster's)."""
        env = dict(os.environ) if env is None else env
        via = "--dns-server"
        if not server and env.get(ENV_DNS_SERVER):
            server, via = env[ENV_DNS_SERVER], ENV_DNS_SERVER
        if timeout <= 0:
            raise BadInput(f"invalid --timeout {timeout}: must be more than 0 seconds")
        if retries < 0:
            raise BadInput(f"invalid --retries {retries}: must be 0 or more")
        if domain is None:
            return cls(server or None, via, DEFAULT_DOMAIN, timeout, retries, domain_given=False)
        try:
            zone = validate_qname(domain).strip(".")
        except BadInput:
            raise BadInput(f"invalid --cluster-domain {domain!r}: not a DNS name") from None
        return cls(server or None, via, zone, timeout, retries)


def with_cluster_domain(cluster: Cluster, options: DNSOptions) -> DNSOptions:
    """The options with the cluster's own DNS domain, read from the CoreDNS configuration
    (kube-system/coredns, as kubeadm and kind write it) unless --cluster-domain was given; the
    default cluster.local when that cannot be read."""
    if options.domain_given:
        return options
    config = cluster.config_map(DNS_NAMESPACE, COREDNS_CONFIG_MAP)
    corefile = ((config or {}).get("data") or {}).get("Corefile")
    domain = cluster_domain_from_corefile(corefile) if isinstance(corefile, str) else None
    return dataclasses.replace(options, domain=domain or DEFAULT_DOMAIN, domain_given=True)


def _unreachable(server: str, qname: str, reason: str) -> DNSUnreachable:
    f = finding("dns-unreachable", server=server, qname=qname, reason=reason)
    return DNSUnreachable(f"{f.code}: {f.message}")


@contextlib.contextmanager
def open_server(cluster: Cluster, options: DNSOptions) -> Iterator[resolving.Server]:
    """Where queries go, for the duration of the block (a port-forward is closed afterwards)."""
    if options.server:
        yield resolving.Server(parse_nameserver(options.server, options.server_via))
        return
    try:
        snapshot = cluster.snapshot(DNS_NAMESPACE)
    except NotFound:
        snapshot = Snapshot()
    report = inspect_snapshot(snapshot, lambda s: s.name == DNS_SERVICE)
    sr = report.service(DNS_NAMESPACE, DNS_SERVICE)
    if sr is None:
        raise DNSUnreachable(
            f"no --dns-server or {ENV_DNS_SERVER}, and no Service {DNS_NAMESPACE}/{DNS_SERVICE} to find "
            "the cluster DNS by: pass --dns-server HOST[:PORT]"
        )
    tcp = [p for p in sr.service.ports if p.protocol == "TCP" and p.port == DNS_PORT]
    if os.environ.get("KUBERNETES_SERVICE_HOST") and sr.service.cluster_ip not in (None, "None"):
        # inside the cluster the Service's ClusterIP is routable: ask it directly
        assert sr.service.cluster_ip is not None
        yield resolving.Server(
            Nameserver(sr.service.cluster_ip, DNS_PORT, f"Service {sr.service.key}, in-cluster")
        )
        return
    ready = [
        e
        for e in sr.actual
        if e.ready
        and e.pod
        and e.protocol == "TCP"
        and e.port is not None
        and any(e.port_name == p.name for p in tcp)
    ]
    if not ready:
        raise DNSUnreachable(
            f"Service {sr.service.key} has no ready TCP endpoint for port 53 to port-forward to: "
            "pass --dns-server HOST[:PORT]"
        )
    target = sorted(ready, key=lambda e: (e.pod or "", e.ip))[0]
    assert target.pod is not None and target.port is not None
    forwarded = forward_port(cluster, DNS_NAMESPACE, target.pod, target.port)
    try:
        yield resolving.Server(
            Nameserver(
                f"{DNS_NAMESPACE}/{target.pod}",
                target.port,
                "port-forward through the API server, DNS over TCP",
            ),
            stream=forwarded.stream,
            stream_error=forwarded.error,
        )
    finally:
        forwarded.close()


# --------------------------------------------------------------------------- dns and diff --dns


def check_dns(report: Report, server: resolving.Server, options: DNSOptions) -> list[RecordCheck]:
    """Every expected record of the report's Services, asked concurrently and judged.

    Raises DNSUnreachable when the server answered nothing at all (one line, exit 3); a server that
    answers some names but not others gives dns-unreachable findings instead.
    """
    records = records_for_report(report, options.domain)
    outcomes = resolving.query_all(
        server, [(r.qname, r.qtype) for r in records], options.timeout, options.retries
    )
    checks = check_records(
        records, {k: v if isinstance(v, Answer) else str(v) for k, v in outcomes.items()}, server.label
    )
    if nothing_answered(checks):
        raise _unreachable(server.label, checks[0].record.qname, checks[0].failure or "no answer")
    return checks


# --------------------------------------------------------------------------- resolve


def _snapshots(cluster: Cluster, namespaces: list[str]) -> tuple[dict[str, Snapshot], set[str]]:
    """Snapshots of the namespaces that exist; and every namespace whose content is known (the absent
    ones hold nothing)."""
    found: dict[str, Snapshot] = {}
    known: set[str] = set()
    for ns in namespaces:
        try:
            validate_name(ns, "namespace")
        except BadInput:
            continue  # cannot exist: the API has no say, nor a Service there
        try:
            found[ns] = cluster.snapshot(ns)
        except NotFound:
            pass
        except Forbidden:
            continue  # unreadable: the API's answer for it stays unknown
        known.add(ns)
    return found, known


def resolve_name(
    cluster: Cluster,
    name: str,
    qtype: str,
    options: DNSOptions,
    from_namespace: str | None = None,
    from_pod: str | None = None,
) -> Resolution:
    """Resolve `name` as a pod in `from_namespace` (or `from_pod`) would, and judge the answer."""
    qname = validate_qname(name)
    options = with_cluster_domain(cluster, options)
    qtype = qtype.upper()
    if qtype not in resolving.QTYPES:
        raise BadInput(f"unsupported query type {qtype!r}: use one of {', '.join(resolving.QTYPES)}")
    namespace = validate_name(from_namespace or cluster.namespace, "namespace")
    if from_pod is not None:
        validate_name(from_pod, "pod name")
    home = cluster.snapshot(namespace)  # also: the namespace must exist
    pod = None
    if from_pod is not None:
        pod = next((p for p in home.pods if p.name == from_pod), None)
        if pod is None:
            raise NotFound(f'pod "{from_pod}" not found in namespace "{namespace}"')
    conf = resolv_conf(namespace, options.domain, pod)
    cands = candidates(qname, conf)

    named = namespaces_named([c.qname for c in cands], options.domain)
    snapshots, known = _snapshots(cluster, [ns for ns in named if ns != namespace])
    snapshots[namespace] = home
    known.add(namespace)
    records = [
        r for snap in snapshots.values() for r in records_for_report(inspect_snapshot(snap), options.domain)
    ]
    book = RecordBook(records, options.domain, known)

    with open_server(cluster, options) as server:

        def ask(q: str) -> Answer:
            try:
                return resolving.query(server, q, qtype, options.timeout, options.retries)
            except DNSUnreachable as exc:
                raise _unreachable(server.label, q, str(exc)) from None

        actual = walk(cands, ask)
        label = server.label
    return judge(qname, qtype, conf, label, cands, actual, book)


def inspect_dns(cluster: Cluster, report: Report, options: DNSOptions) -> tuple[list[RecordCheck], str]:
    """The DNS checks of the report's Services, and the label of the server that answered them."""
    options = with_cluster_domain(cluster, options)
    with open_server(cluster, options) as server:
        return check_dns(report, server, options), server.label


def with_dns(cluster: Cluster, report: Report, options: DNSOptions) -> Report:
    """The report with its Services' DNS findings added, and a note saying which server answered."""
    checks, label = inspect_dns(cluster, report, options)
    merged = with_dns_findings(report, checks)
    snapshot = dataclasses.replace(merged.snapshot, notes=(*merged.snapshot.notes, f"DNS checked at {label}"))
    return dataclasses.replace(merged, snapshot=snapshot)


def dns_drift(cluster: Cluster, options: DNSOptions) -> Callable[[Report, list[Any]], dict[str, list[str]]]:
    """For `wait --for dns`: each Service's DNS findings, as reasons it is not yet discoverable.

    A DNS server that answers nothing yet is a reason to keep waiting, not a failure."""
    options = with_cluster_domain(cluster, options)

    def drift(report: Report, targets: list[Any]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {t.key: [] for t in targets}
        try:
            checks, _ = inspect_dns(cluster, report, options)
        except DNSUnreachable as exc:
            return {key: [str(exc)] for key in out}
        for check in checks:
            out.setdefault(check.record.service, []).extend(f.message for f in check.findings)
        return out

    return drift
