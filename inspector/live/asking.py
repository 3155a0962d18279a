"""Asking the cluster DNS: find it, resolve a name as a pod would, check every Service's records.

Why it exists: `resolve`, `dns`, `diff --dns`, `wait --for dns` (and the Python API) run the same
steps: snapshot -> expected records and the pod's search walk (pure, `inspector.dns`) -> queries
(`inspector.dns.querying`) -> judgement (`inspector.dns.oracle`) -> findings on the report. This
module wires them, and is the one place that decides where queries go:
`--dns-server`/`INSPECTOR_DNS_SERVER` first (one server, pinned); else the kube-dns Service in
kube-system. `resolve` asks it directly when the inspector runs inside the cluster (its ClusterIP is
only reachable there), else over TCP through the API server's port-forward to one of its ready pods.
`dns` and `diff --dns` ask *every* ready replica of kube-dns (`INSPECTOR_DNS_VIA` decides how):
- `auto` (default): inside the cluster (KUBERNETES_SERVICE_HOST set) each pod IP directly; outside,
  each pod IP directly if it answers one quick probe (dns-version TXT over UDP, 0.5 s, no retry: pod
  IPs are routable from some hosts, e.g. a node), else through its own port-forward;
- `direct`: each pod IP, over UDP with TCP on truncation (`--dns-tcp`: TCP only);
- `port-forward`: each pod through the API server's port-forward, DNS over TCP.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from inspector.diagnosis.readiness import DNSCheck, Target
from inspector.diagnosis.report import Report, ServiceReport, inspect_snapshot
from inspector.dns import querying
from inspector.dns.answers import Answer, Failure, Outcome
from inspector.dns.corefile import cluster_domain_from_corefile, corefile_findings, kubernetes_plugin
from inspector.dns.oracle import RecordCheck, Resolution, check_records, judge, nothing_answered
from inspector.dns.querynames import (
    DEFAULT_DOMAIN,
    DNS_PORT,
    Nameserver,
    parse_cluster_domain,
    parse_nameserver,
    validate_qname,
)
from inspector.dns.records import (
    CLUSTER,
    Record,
    RecordBook,
    expected_records,
    is_ip,
    namespaces_named,
    reverse_name,
    version_record,
)
from inspector.dns.replicas import Replica, disagreements, unreachable
from inspector.dns.resolvconf import candidates, resolv_conf, walk
from inspector.errors import BadInput, ClusterUnreachable, DNSUnreachable, Forbidden, NotFound
from inspector.kube.connection import Client
from inspector.kube.portforward import forward_port
from inspector.live.reading import config_map, read_snapshot
from inspector.model.findings import Finding, finding
from inspector.model.names import validate_name
from inspector.model.snapshot import Snapshot
from inspector.settings import ENV_DNS_SERVER, Settings, parse_dns_via

DNS_NAMESPACE = "kube-system"
DNS_SERVICE = "kube-dns"
PROBE_TIMEOUT_S = 0.5
DIRECT = "direct, UDP (TCP on truncation)"
DIRECT_TCP = "direct, DNS over TCP"
FORWARDED = "port-forward through the API server, DNS over TCP"
COREDNS_CONFIG_MAP = "coredns"
DEFAULT_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class DNSOptions:
    server: str | None = None  # HOST[:PORT]; None: find the kube-dns Service
    server_via: str = "--dns-server"  # where `server` came from, as the output says it
    domain: str = DEFAULT_DOMAIN
    timeout: float = DEFAULT_TIMEOUT_S  # seconds per try
    retries: int = 1  # tries again after a timeout
    domain_given: bool = True  # False: ask the cluster's DNS configuration (with_cluster_domain)
    tcp: bool = False  # ask the replicas over TCP only (default: UDP, TCP on truncation)
    in_cluster: bool = False  # the inspector runs in a pod: the kube-dns ClusterIP and pod IPs are routable
    via: str = "auto"  # INSPECTOR_DNS_VIA as given: how `dns` reaches the replicas (checked when it does)

    @classmethod
    def from_cli(
        cls,
        server: str | None,
        domain: str | None,
        timeout: float = DEFAULT_TIMEOUT_S,
        retries: int = 1,
        settings: Settings = Settings(),  # noqa: B008 (frozen: one shared value is safe)
    ) -> DNSOptions:
        """--dns-server, else INSPECTOR_DNS_SERVER; a validated cluster domain (None: the cluster's).
        `settings` is what the environment says (the default: an empty environment)."""
        via = "--dns-server"
        if not server and settings.dns_server:
            server, via = settings.dns_server, ENV_DNS_SERVER
        if timeout <= 0:
            raise BadInput(f"invalid --timeout {timeout:g}s: must be more than 0 seconds")
        if retries < 0:
            raise BadInput(f"invalid --retries {retries}: must be 0 or more")
        zone, given = DEFAULT_DOMAIN, False
        if domain is not None:
            zone, given = parse_cluster_domain(domain), True
        return cls(
            server or None,
            via,
            zone,
            timeout,
            retries,
            domain_given=given,
            in_cluster=settings.in_cluster,
            via=settings.dns_via,
        )


def read_corefile(client: Client) -> str | None:
    """The Corefile of kube-system/coredns (as kubeadm and kind write it); None when unreadable."""
    config = config_map(client, DNS_NAMESPACE, COREDNS_CONFIG_MAP)
    corefile = ((config or {}).get("data") or {}).get("Corefile")
    return corefile if isinstance(corefile, str) else None


def with_cluster_domain(client: Client, options: DNSOptions, corefile: str | None = None) -> DNSOptions:
    """The options with the cluster's own DNS domain, read from the CoreDNS configuration
    (kube-system/coredns, as kubeadm and kind write it) unless --cluster-domain was given; the
    default cluster.local when that cannot be read."""
    if options.domain_given:
        return options
    corefile = corefile if corefile is not None else read_corefile(client)
    domain = cluster_domain_from_corefile(corefile) if corefile is not None else None
    return dataclasses.replace(options, domain=domain or DEFAULT_DOMAIN, domain_given=True)


def _unreachable(server: str, qname: str, reason: str) -> DNSUnreachable:
    f = finding("dns-unreachable", server=server, qname=qname, reason=reason)
    return DNSUnreachable(f"{f.code}: {f.message}")


def _dns_service(client: Client) -> tuple[ServiceReport, Snapshot]:
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
    return sr, snapshot


@contextlib.contextmanager
def open_server(client: Client, options: DNSOptions) -> Iterator[querying.Server]:
    """Where queries go, for the duration of the block (a port-forward is closed afterwards)."""
    if options.server:
        yield querying.Server(parse_nameserver(options.server, options.server_via))
        return
    sr, _ = _dns_service(client)
    tcp = [p for p in sr.service.ports if p.protocol == "TCP" and p.port == DNS_PORT]
    if options.in_cluster and sr.service.cluster_ip and not sr.service.headless:
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


@dataclass(frozen=True, slots=True)
class DNSInspection:
    """What `dns` found: each record judged against the first replica that answered (or the pinned
    server), every replica asked, and the findings about no one record: the Corefile's, the
    replicas' (a disagreement names the Service of its record in its details)."""

    checks: list[RecordCheck]
    server: Nameserver
    replicas: tuple[Replica, ...] = ()
    findings: tuple[Finding, ...] = ()

    def by_service(self) -> tuple[dict[str, list[Finding]], list[Finding]]:
        """Every finding, by Service key, and those owned by no Service."""
        services: dict[str, list[Finding]] = {}
        cluster: list[Finding] = []
        for c in self.checks:
            (services.setdefault(c.record.service, []) if c.record.service != CLUSTER else cluster).extend(
                c.findings
            )
        for f in self.findings:
            owner = f.details.get("service")
            if isinstance(owner, str) and owner and owner != CLUSTER:
                services.setdefault(owner, []).append(f)
            else:
                cluster.append(f)
        return services, cluster


def _replica_targets(sr: ServiceReport, snapshot: Snapshot) -> list[tuple[Replica, int, int | None]]:
    """Each ready pod of kube-dns once: its state, its UDP (else TCP) port 53 and its TCP one."""
    pods = {p.name: p for p in snapshot.pods}
    dns_ports = {p.name for p in sr.service.ports if p.port == DNS_PORT}
    found: dict[str, tuple[str, dict[str, int]]] = {}
    for e in sr.actual:
        if e.ready and e.pod and e.port is not None and e.port_name in dns_ports:
            found.setdefault(e.pod, (e.ip, {}))[1].setdefault(e.protocol, e.port)
    out = []
    for name, (ip, ports) in sorted(found.items()):
        pod = pods.get(name)
        replica = Replica(
            f"{DNS_NAMESPACE}/{name}", ip, bool(pod and pod.ready), pod.restarts if pod else 0, "", ""
        )
        out.append((replica, ports.get("UDP", ports.get("TCP", DNS_PORT)), ports.get("TCP")))
    return out


def _ask_replica(
    client: Client,
    replica: Replica,
    udp_port: int,
    tcp_port: int | None,
    questions: list[tuple[str, str]],
    options: DNSOptions,
    via: str,
) -> tuple[Replica, dict[tuple[str, str], Outcome]]:
    """The replica's answers to every question, asked the way `via` and the probe decide."""
    direct = querying.Server(
        Nameserver(
            replica.ip,
            tcp_port if options.tcp and tcp_port else udp_port,
            DIRECT_TCP if options.tcp else DIRECT,
        ),
        tcp=options.tcp,
    )
    if via == "auto" and not options.in_cluster:
        try:
            querying.query(direct, questions[0][0], questions[0][1], PROBE_TIMEOUT_S, 0)
        except DNSUnreachable:
            via = "port-forward"
    if via == "port-forward" and tcp_port is not None:
        name = replica.pod.split("/", 1)[1]
        try:
            forwarded = forward_port(client, DNS_NAMESPACE, name, tcp_port)
        except (ClusterUnreachable, Forbidden) as exc:
            asked = dataclasses.replace(replica, address=f"{replica.pod}:{tcp_port}", via=FORWARDED)
            return asked, {q: Failure(str(exc)) for q in questions}
        try:
            server = querying.Server(
                Nameserver(replica.pod, tcp_port, FORWARDED),
                stream=forwarded.stream,
                stream_error=forwarded.error,
            )
            outcomes = querying.query_all(server, questions, options.timeout, options.retries)
        finally:
            forwarded.close()
        return dataclasses.replace(replica, address=f"{replica.pod}:{tcp_port}", via=FORWARDED), outcomes
    outcomes = querying.query_all(direct, questions, options.timeout, options.retries)
    return dataclasses.replace(
        replica, address=direct.nameserver.address, via=direct.nameserver.via
    ), outcomes


def inspect_dns(client: Client, report: Report, options: DNSOptions) -> DNSInspection:
    """The DNS checks of the report's Services (and the cluster's dns-version record), asked of the
    pinned server or of every ready replica of kube-dns, with the Corefile's findings."""
    corefile = read_corefile(client)
    options = with_cluster_domain(client, options, corefile)
    plugin = kubernetes_plugin(corefile) if corefile is not None else None
    pods = plugin.pods if plugin is not None and plugin.serves(options.domain) else None
    records = [*records_for_report(report, options.domain, pods), version_record(options.domain)]
    notes = tuple(corefile_findings(corefile, options.domain)) if corefile is not None else ()
    questions = list(dict.fromkeys((r.qname, r.qtype) for r in records))
    if options.server:
        server = querying.Server(parse_nameserver(options.server, options.server_via), tcp=options.tcp)
        outcomes = querying.query_all(server, questions, options.timeout, options.retries)
        checks = check_records(records, outcomes, server.label)
        if nothing_answered(checks):
            raise _unreachable(server.label, checks[0].record.qname, checks[0].failure or "no answer")
        return DNSInspection(checks, server.nameserver, (), notes)

    via = parse_dns_via(options.via)
    sr, snapshot = _dns_service(client)
    targets = _replica_targets(sr, snapshot)
    if not targets:
        raise DNSUnreachable(
            f"Service {sr.service.key} has no ready endpoint for port 53 to ask: pass --dns-server HOST[:PORT]"
        )
    # the version record first: it is the probe of each replica
    questions = [(records[-1].qname, records[-1].qtype), *questions[:-1]]
    answers: dict[Replica, dict[tuple[str, str], Outcome]] = {}
    for replica, udp_port, tcp_port in targets:
        asked, outcomes = _ask_replica(client, replica, udp_port, tcp_port, questions, options, via)
        answers[asked] = outcomes
    down = {r: f for r, o in answers.items() if (f := unreachable(r, o)) is not None}
    answering = [r for r in answers if r not in down]
    if not answering:
        first = next(iter(down.values()))
        raise DNSUnreachable(
            f"no replica of {sr.service.key} answered ({', '.join(r.label for r in down)}): {first.message}"
        )
    primary = answering[0]
    host, _, port = primary.address.rpartition(":")  # an IPv6 pod IP is asked as [ip]:port
    judged = Nameserver(host.strip("[]"), int(port), f"{primary.pod}, {primary.via}")
    checks = check_records(records, answers[primary], f"{primary.pod} at {primary.address}")
    findings = (*notes, *down.values(), *disagreements(records, {r: answers[r] for r in answering}))
    return DNSInspection(checks, judged, tuple(answers), findings)


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
        except NotFound:  # an absent namespace holds nothing: what the API says of it is known
            known.add(ns)
            continue
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
    """Resolve `name` as a pod in `from_namespace` (or `from_pod`) would, and judge the answer.

    An IP address is a reverse lookup, like `dig -x`: the PTR of its in-addr.arpa (ip6.arpa) name,
    judged against the records of every Service the inspector may read."""
    reverse = is_ip(name.strip())
    if reverse:
        name, qtype = reverse_name(name.strip()), "PTR"
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
    if reverse:  # any Service's IP may be the one: read them all (one LIST per kind)
        snapshots = {"": read_snapshot(client, None)}
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


def records_for_report(report: Report, domain: str, pods: str | None = None) -> list[Record]:
    """Every expected record of every Service in the report, Service by Service (`pods`: the
    Corefile's pods mode, for pod records)."""
    return [r for sr in report.services for r in expected_records(sr.service, sr.facts.slices, domain, pods)]


def with_dns_findings(report: Report, checks: Iterable[RecordCheck], note: str | None = None) -> Report:
    """The report with each Service's DNS findings added after its own."""
    return with_inspection(report, DNSInspection(list(checks), Nameserver("-")), note)


def with_inspection(report: Report, inspection: DNSInspection, note: str | None = None) -> Report:
    """The report with each Service's DNS findings added after its own, and the others as cluster
    findings."""
    services, cluster = inspection.by_service()
    return report.with_findings(services, note, cluster)


def _asked(inspection: DNSInspection) -> str:
    if not inspection.replicas:
        return inspection.server.label
    return "; ".join(f"{r.pod} at {r.address} ({r.via})" for r in inspection.replicas)


def with_dns(client: Client, report: Report, options: DNSOptions) -> Report:
    """The report with its Services' DNS findings added, and a note saying which servers answered."""
    inspection = inspect_dns(client, report, options)
    return with_inspection(report, inspection, f"DNS checked at {_asked(inspection)}")


def dns_drift(client: Client, options: DNSOptions) -> DNSCheck:
    """For `wait --for dns`: each Service's DNS findings, as reasons it is not yet discoverable.

    A DNS server that answers nothing yet is a reason to keep waiting, not a failure."""
    options = with_cluster_domain(client, options)

    def drift(report: Report, targets: list[Target]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {t.key: [] for t in targets}
        try:
            inspection = inspect_dns(client, report, options)
        except DNSUnreachable as exc:
            return {key: [str(exc)] for key in out}
        services, _ = inspection.by_service()
        for key, found in services.items():
            out.setdefault(key, []).extend(f.message for f in found)
        return out

    return drift
