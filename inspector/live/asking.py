"""Asking the cluster DNS: find it, resolve a name as a pod would, check every Service's records.

Why it exists: `resolve`, `dns`, `diff --dns`, `wait --for dns` (and the Python API) run the same
steps: snapshot -> expected records and the pod's search walk (pure, `inspector.dns`) -> queries
(`inspector.dns.querying`) -> judgement (`inspector.dns.oracle`) -> findings on the report. This
module wires them, and is the one place that decides where queries go:
`--dns-server`/`INSPECTOR_DNS_SERVER` first; else the kube-dns Service in kube-system, queried
directly when the inspector runs inside the cluster (its ClusterIP is only reachable there), else over
TCP through the API server's port-forward to one of its ready pods.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from inspector.diagnosis.readiness import DNSCheck, Target
from inspector.diagnosis.report import Report, inspect_snapshot
from inspector.dns import querying
from inspector.dns.answers import Answer
from inspector.dns.corefile import cluster_domain_from_corefile
from inspector.dns.names import DNS_PORT, Nameserver, parse_nameserver, validate_qname
from inspector.dns.oracle import RecordCheck, Resolution, check_records, judge, nothing_answered
from inspector.dns.records import Record, RecordBook, expected_records, namespaces_named
from inspector.dns.resolvconf import candidates, resolv_conf, walk
from inspector.errors import BadInput, DNSUnreachable, Forbidden, NotFound
from inspector.kube.connection import Client
from inspector.kube.portforward import forward_port
from inspector.live.reading import config_map, read_snapshot
from inspector.model.findings import Finding, finding
from inspector.model.names import validate_name
from inspector.model.snapshot import Snapshot

DNS_NAMESPACE = "kube-system"
DNS_SERVICE = "kube-dns"
ENV_DNS_SERVER = "INSPECTOR_DNS_SERVER"
COREDNS_CONFIG_MAP = "coredns"
DEFAULT_DOMAIN = "cluster.local"
DEFAULT_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class DNSOptions:
    server: str | None = None  # HOST[:PORT]; None: find the kube-dns Service
    server_via: str = "--dns-server"  # where `server` came from, as the output says it
    domain: str = DEFAULT_DOMAIN
    timeout: float = DEFAULT_TIMEOUT_S  # seconds per try
    retries: int = 1  # tries again after a timeout
    domain_given: bool = True  # False: ask the cluster's DNS configuration (with_cluster_domain)

    @classmethod
    def from_cli(
        cls,
        server: str | None,
        domain: str | None,
        timeout: float = DEFAULT_TIMEOUT_S,
        retries: int = 1,
        env: dict[str, str] | None = None,
    ) -> DNSOptions:
        """--dns-server, else INSPECTOR_DNS_SERVER; a validated cluster domain (None: the cluster's)."""
        env = dict(os.environ) if env is None else env
        via = "--dns-server"
        if not server and env.get(ENV_DNS_SERVER):
            server, via = env[ENV_DNS_SERVER], ENV_DNS_SERVER
        if timeout <= 0:
            raise BadInput(f"invalid --timeout {timeout:g}s: must be more than 0 seconds")
        if retries < 0:
            raise BadInput(f"invalid --retries {retries}: must be 0 or more")
        if domain is None:
            return cls(server or None, via, DEFAULT_DOMAIN, timeout, retries, domain_given=False)
        try:
            zone = validate_qname(domain).strip(".")
        except BadInput:
            raise BadInput(f"invalid --cluster-domain {domain!r}: not a DNS name") from None
        return cls(server or None, via, zone, timeout, retries)


def with_cluster_domain(client: Client, options: DNSOptions) -> DNSOptions:
    """The options with the cluster's own DNS domain, read from the CoreDNS configuration
    (kube-system/coredns, as kubeadm and kind write it) unless --cluster-domain was given; the
    default cluster.local when that cannot be read."""
    if options.domain_given:
        return options
    config = config_map(client, DNS_NAMESPACE, COREDNS_CONFIG_MAP)
    corefile = ((config or {}).get("data") or {}).get("Corefile")
    domain = cluster_domain_from_corefile(corefile) if isinstance(corefile, str) else None
    return dataclasses.replace(options, domain=domain or DEFAULT_DOMAIN, domain_given=True)


def _unreachable(server: str, qname: str, reason: str) -> DNSUnreachable:
    f = finding("dns-unreachable", server=server, qname=qname, reason=reason)
    return DNSUnreachable(f"{f.code}: {f.message}")


@contextlib.contextmanager
def open_server(client: Client, options: DNSOptions) -> Iterator[querying.Server]:
    """Where queries go, for the duration of the block (a port-forward is closed afterwards)."""
    if options.server:
        yield querying.Server(parse_nameserver(options.server, options.server_via))
        return
    try:
        snapshot = read_snapshot(client, DNS_NAMESPACE)
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
    if os.environ.get("KUBERNETES_SERVICE_HOST") and sr.service.cluster_ip and not sr.service.headless:
        # inside the cluster the Service's ClusterIP is routable: ask it directly
        yield querying.Server(
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
    forwarded = forward_port(client, DNS_NAMESPACE, target.pod, target.port)
    try:
        yield querying.Server(
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


def check_dns(report: Report, server: querying.Server, options: DNSOptions) -> list[RecordCheck]:
    """Every expected record of the report's Services, asked concurrently and judged.

    Raises DNSUnreachable when the server answered nothing at all (one line, exit 3); a server that
    answers some names but not others gives dns-unreachable findings instead.
    """
    records = records_for_report(report, options.domain)
    outcomes = querying.query_all(
        server, [(r.qname, r.qtype) for r in records], options.timeout, options.retries
    )
    checks = check_records(records, outcomes, server.label)
    if nothing_answered(checks):
        raise _unreachable(server.label, checks[0].record.qname, checks[0].failure or "no answer")
    return checks


# --------------------------------------------------------------------------- resolve


def _snapshots(client: Client, namespaces: list[str]) -> tuple[dict[str, Snapshot], set[str]]:
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
            found[ns] = read_snapshot(client, ns)
        except NotFound:
            pass
        except Forbidden:
            continue  # unreadable: the API's answer for it stays unknown
        known.add(ns)
    return found, known


def resolve_name(
    client: Client,
    name: str,
    qtype: str,
    options: DNSOptions,
    from_namespace: str | None = None,
    from_pod: str | None = None,
) -> Resolution:
    """Resolve `name` as a pod in `from_namespace` (or `from_pod`) would, and judge the answer."""
    qname = validate_qname(name)
    options = with_cluster_domain(client, options)
    qtype = qtype.upper()
    if qtype not in querying.QTYPES:
        raise BadInput(f"unsupported query type {qtype!r}: use one of {', '.join(querying.QTYPES)}")
    namespace = validate_name(from_namespace or client.namespace, "namespace")
    if from_pod is not None:
        validate_name(from_pod, "pod name")
    home = read_snapshot(client, namespace)  # also: the namespace must exist
    pod = None
    if from_pod is not None:
        pod = next((p for p in home.pods if p.name == from_pod), None)
        if pod is None:
            raise NotFound(f'pod "{from_pod}" not found in namespace "{namespace}"')
    conf = resolv_conf(namespace, options.domain, pod)
    cands = candidates(qname, conf)

    named = namespaces_named([c.qname for c in cands], options.domain)
    snapshots, known = _snapshots(client, [ns for ns in named if ns != namespace])
    snapshots[namespace] = home
    known.add(namespace)
    records = [
        r for snap in snapshots.values() for r in records_for_report(inspect_snapshot(snap), options.domain)
    ]
    book = RecordBook(records, options.domain, known)

    with open_server(client, options) as server:

        def ask(q: str) -> Answer:
            try:
                return querying.query(server, q, qtype, options.timeout, options.retries)
            except DNSUnreachable as exc:
                raise _unreachable(server.label, q, str(exc)) from None

        actual = walk(cands, ask)
        nameserver = server.nameserver
    return judge(qname, qtype, conf, nameserver, cands, actual, book)


def inspect_dns(client: Client, report: Report, options: DNSOptions) -> tuple[list[RecordCheck], Nameserver]:
    """The DNS checks of the report's Services, and the server that answered them."""
    options = with_cluster_domain(client, options)
    with open_server(client, options) as server:
        return check_dns(report, server, options), server.nameserver


def records_for_report(report: Report, domain: str) -> list[Record]:
    """Every expected record of every Service in the report, Service by Service."""
    return [r for sr in report.services for r in expected_records(sr.service, sr.facts.slices, domain)]


def with_dns_findings(report: Report, checks: Iterable[RecordCheck], note: str | None = None) -> Report:
    """The report with each Service's DNS findings added after its own."""
    by_service: dict[str, list[Finding]] = {}
    for c in checks:
        by_service.setdefault(c.record.service, []).extend(c.findings)
    return report.with_findings(by_service, note)


def with_dns(client: Client, report: Report, options: DNSOptions) -> Report:
    """The report with its Services' DNS findings added, and a note saying which server answered."""
    checks, server = inspect_dns(client, report, options)
    return with_dns_findings(report, checks, f"DNS checked at {server.label}")


def dns_drift(client: Client, options: DNSOptions) -> DNSCheck:
    """For `wait --for dns`: each Service's DNS findings, as reasons it is not yet discoverable.

    A DNS server that answers nothing yet is a reason to keep waiting, not a failure."""
    options = with_cluster_domain(client, options)

    def drift(report: Report, targets: list[Target]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {t.key: [] for t in targets}
        try:
            checks, _ = inspect_dns(client, report, options)
        except DNSUnreachable as exc:
            return {key: [str(exc)] for key in out}
        for check in checks:
            out.setdefault(check.record.service, []).extend(f.message for f in check.findings)
        return out

    return drift
