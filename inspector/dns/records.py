"""DNS records as the inspector compares them: the ones the API says a Service must have, and answers.

Why it exists: the DNS oracle needs, for every Service, what the Kubernetes DNS-Based Service
Discovery specification (and CoreDNS, which implements it) derives from the API objects:

- a ClusterIP Service (NodePort and LoadBalancer too): `<svc>.<ns>.svc.<domain>` A/AAAA -> its
  cluster IPs, and one SRV record `_<port>._<proto>.<svc>...` per *named* port -> `<port> <svc>...`;
- a headless Service: one A/AAAA per ready endpoint of its EndpointSlices (every endpoint with
  publishNotReadyAddresses; none ready: NXDOMAIN), `<hostname>.<svc>...` for endpoints with a
  hostname (pods with `hostname` and `subdomain: <svc>`), and SRV per named port -> every ready
  endpoint, its target `<hostname>.<svc>...`, or the dashed IP when it has no hostname, as CoreDNS does;
- an ExternalName Service: a CNAME to `externalName`;
- PTR records (§2.3.3, §2.4.3): every cluster IP's reverse name -> `<svc>...`, and every ready
  endpoint of a headless Service -> its `<hostname or dashed IP>.<svc>...` (CoreDNS may add more PTRs
  for one IP, so an expected PTR must be among the answers); §2.4.1: every ready headless endpoint's
  name answers its address, the dashed IP standing in for a missing hostname;
- pod records `a-b-c-d.<ns>.pod.<domain>` of the Service's pod endpoints, when the Corefile says
  `pods insecure|verified`; with `pods disabled` they must not exist;
- the cluster's `dns-version.<domain>` TXT record (§2.2), owned by no Service.

What-if runs (`dns --offline -f`) ask nothing and read the same records from the files' Services and
the EndpointSlices their controller will write: an address allocated only once an object runs (a
planned pod's IP, the cluster IP of a Service whose file gives none) is a stand-in
(`<IPv4 of pod db-0>`, `<cluster IPv4>`; `inspector.model.snapshot`), and so are the names made of
it (`<IPv4 of pod web-0, dashed>`, `<cluster IPv4, reversed>.in-addr.arpa.`): `Record.pending`.

Pure: Services and EndpointSlices in, records out; answers are compared in the form of `answers`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from inspector.dns.answers import CNAME_PREFIX, UNKNOWN, Answer
from inspector.model.snapshot import (
    EndpointSlice,
    Service,
    ServiceType,
    cluster_ip_stand_in,
    is_stand_in,
    stand_in_family,
)


class Kind(StrEnum):
    SERVICE = "service"  # the Service's name: cluster IPs, or ready endpoints when headless
    HOSTNAME = "hostname"  # <hostname>.<svc>...: one endpoint of a headless Service
    SRV = "srv"  # _<port>._<proto>.<svc>...
    EXTERNAL_NAME = "externalName"  # the CNAME of an ExternalName Service
    PTR = "ptr"  # <reversed ip>.in-addr.arpa / ip6.arpa nibbles
    POD = "pod"  # a-b-c-d.<ns>.pod.<domain>
    VERSION = "dnsVersion"  # dns-version.<domain> TXT


SCHEMA_VERSION = "1.1.0"  # the specification's version, as dns-version TXT answers it
CLUSTER = ""  # the `service` of records owned by no Service


@dataclass(frozen=True, slots=True)
class Record:
    """A name the cluster DNS must answer with `answers`, or with NXDOMAIN when there are none."""

    service: str  # namespace/name
    qname: str
    qtype: str
    answers: tuple[str, ...]
    kind: Kind
    port: str | None = None  # the named port of an SRV record
    detail: str | None = None  # the IP of a PTR record; the Corefile's pods mode of a pod record

    @property
    def rcode(self) -> str:
        return "NOERROR" if self.answers else "NXDOMAIN"

    @property
    def pending(self) -> bool:
        """Its name or an answer holds an address not allocated yet (what-if runs): known once applied."""
        return "<" in self.qname or any("<" in a for a in self.answers)


def service_fqdn(service: Service, domain: str) -> str:
    return f"{service.name}.{service.namespace}.svc.{_zone(domain)}.".lower()


def _zone(domain: str) -> str:
    return domain.strip(".").lower()


def _rrtype(ip: str) -> str:
    if is_stand_in(ip):
        return "AAAA" if stand_in_family(ip) == "IPv6" else "A"
    return "AAAA" if ":" in ip else "A"


def dashed(ip: str) -> str:
    """CoreDNS's name for an endpoint without hostname: 10.244.0.5 -> 10-244-0-5."""
    if is_stand_in(ip):
        return f"<{ip[1:-1]}, dashed>"
    return ip.replace(".", "-").replace(":", "-")


def endpoint_label(hostname: str | None, address: str) -> str:
    """A headless endpoint's name below its Service: its hostname, else its dashed IP."""
    if hostname:
        return hostname.lower()
    return dashed(address) if is_stand_in(address) else dashed(address).lower()


def _by_family(ips: Iterable[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for ip in ips:
        out.setdefault(_rrtype(ip), []).append(ip)
    return {t: tuple(sorted(set(v))) for t, v in sorted(out.items())}


def reverse_name(ip: str) -> str:
    """The PTR name of an address: 10.96.0.10 -> 10.0.96.10.in-addr.arpa., IPv6 as ip6.arpa nibbles."""
    if is_stand_in(ip):
        return f"<{ip[1:-1]}, reversed>.{'ip6' if stand_in_family(ip) == 'IPv6' else 'in-addr'}.arpa."
    return ipaddress.ip_address(ip).reverse_pointer.lower() + "."


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def version_record(domain: str) -> Record:
    return Record(CLUSTER, f"dns-version.{_zone(domain)}.", "TXT", (f'"{SCHEMA_VERSION}"',), Kind.VERSION)


def _ptr(key: str, ip: str, target: str) -> Record:
    return Record(key, reverse_name(ip), "PTR", (target,), Kind.PTR, detail=ip)


def _pod_records(service: Service, slices: Iterable[EndpointSlice], domain: str, pods: str) -> list[Record]:
    """The pod records of the Service's pod endpoints (every address, ready or not)."""
    ips = sorted(
        {a for s in slices for e in s.endpoints if e.target and e.target.kind == "Pod" for a in e.addresses}
    )
    served = pods in ("insecure", "verified")
    return [
        Record(
            service.key,
            f"{dashed(ip)}.{service.namespace}.pod.{_zone(domain)}.".lower(),
            _rrtype(ip),
            (ip,) if served else (),
            Kind.POD,
            detail=pods,
        )
        for ip in ips
    ]


def expected_records(
    service: Service, slices: Iterable[EndpointSlice], domain: str, pods: str | None = None
) -> list[Record]:
    """The records the API says `service` has (see the module docstring); `pods`, the Corefile's
    pods mode, adds its pod records (None: unknown, none expected)."""
    slices = tuple(slices)
    out = _service_records(service, slices, domain)
    if pods is not None and service.type is not ServiceType.EXTERNAL_NAME:
        out += _pod_records(service, slices, domain, pods)
    return out


def _service_records(service: Service, slices: tuple[EndpointSlice, ...], domain: str) -> list[Record]:
    fqdn = service_fqdn(service, domain)
    key = service.key
    if service.type is ServiceType.EXTERNAL_NAME:
        if not service.external_name or is_ip(service.external_name.strip(".")):
            return []  # an IP is no CNAME target: externalname-is-ip says so, the oracle vouches for nothing
        target = service.external_name.strip(".").lower() + "."
        return [Record(key, fqdn, "CNAME", (target,), Kind.EXTERNAL_NAME)]
    named = [p for p in service.ports if p.name]
    if not service.headless:
        ips = list(service.cluster_ips or ((service.cluster_ip,) if service.cluster_ip else ()))
        if not ips and service.source is not None:  # of the files, not applied yet: allocated on apply
            ips = [cluster_ip_stand_in(f) for f in service.ip_families or ("IPv4",)]
        if not ips:
            return []
        out = [Record(key, fqdn, t, v, Kind.SERVICE) for t, v in _by_family(ips).items()]
        out += [
            Record(key, _srv_name(p.name, p.protocol, fqdn), "SRV", (f"{p.port} {fqdn}",), Kind.SRV, p.name)
            for p in named
            if p.name
        ]
        out += [_ptr(key, ip, fqdn) for ip in sorted(set(ips))]
        return out

    # headless: what the EndpointSlices hold, one entry per address
    publish = service.publish_not_ready_addresses
    ready: dict[str, str | None] = {}  # address -> hostname
    srv: dict[tuple[str, str], set[str]] = {}  # (port name, protocol) -> "port target"
    for s in slices:
        for e in s.endpoints:
            if not (e.ready or publish):
                continue
            for address in e.addresses:
                ready.setdefault(address, e.hostname)
                target = f"{endpoint_label(e.hostname, address)}.{fqdn}"
                for sp in s.ports:
                    if sp.name and sp.port is not None:
                        srv.setdefault((sp.name, sp.protocol), set()).add(f"{sp.port} {target}")
    if not ready:
        return [Record(key, fqdn, "A", (), Kind.SERVICE)]
    out = [Record(key, fqdn, t, v, Kind.SERVICE) for t, v in _by_family(ready).items()]
    hostnames: dict[str, list[str]] = {}  # the endpoint's name: its hostname, else its dashed IP
    for address, hostname in ready.items():
        hostnames.setdefault(endpoint_label(hostname, address), []).append(address)
    for hostname, addresses in sorted(hostnames.items()):
        out += [
            Record(key, f"{hostname}.{fqdn}", t, v, Kind.HOSTNAME) for t, v in _by_family(addresses).items()
        ]
    out += [
        _ptr(key, address, f"{endpoint_label(hostname, address)}.{fqdn}")
        for address, hostname in sorted(ready.items())
    ]
    for p in named:
        assert p.name is not None
        answers = srv.get((p.name, p.protocol))
        if answers:
            out.append(
                Record(
                    key, _srv_name(p.name, p.protocol, fqdn), "SRV", tuple(sorted(answers)), Kind.SRV, p.name
                )
            )
    return out


def _srv_name(port: str | None, protocol: str, fqdn: str) -> str:
    return f"_{port}._{protocol.lower()}.{fqdn}".lower()


# --------------------------------------------------------------------------- comparing


def _srv_key(answer: str) -> str:
    parts = answer.split()
    return " ".join(parts[2:]) if len(parts) == 4 else answer  # drop priority and weight


def same_answers(qtype: str, expected: Iterable[str], got: Iterable[str]) -> bool:
    """Whether the cluster DNS answered what the API says, ignoring what the API cannot know: the
    records of an ExternalName's target, SRV priorities and weights, and order."""
    want, have = set(expected), set(got)
    if any(a.startswith(CNAME_PREFIX) for a in want):
        return want == {a for a in have if a.startswith(CNAME_PREFIX)}
    if qtype == "SRV":
        return {_srv_key(a) for a in want} == {_srv_key(a) for a in have}
    if qtype == "PTR":  # CoreDNS may name an IP after every Service it is an endpoint of
        return bool(want) and want <= have
    return want == have


# --------------------------------------------------------------------------- the API as a DNS server


def service_parts(qname: str, domain: str) -> tuple[str, ...] | None:
    """The labels of a name below `svc.<domain>`, innermost first, ending with the namespace
    (`redis-master.my-ns.svc.cluster.local.` -> ("redis-master", "my-ns")); None for other names."""
    suffix = f".svc.{_zone(domain)}."
    name = qname.lower()
    if not name.endswith(suffix):
        return None
    head = name[: -len(suffix)]
    return tuple(head.split(".")) if head else None


def namespaces_named(qnames: Iterable[str], domain: str) -> list[str]:
    """The namespaces a resolution may read, in the order its names name them."""
    out: dict[str, None] = {}
    for q in qnames:
        parts = service_parts(q, domain)
        if parts and len(parts) >= 2:
            out[parts[-1]] = None
    return list(out)


class RecordBook:
    """The expected records of the Services in some namespaces, asked like a DNS server.

    A name under `svc.<domain>` in one of those namespaces, or anywhere else in the cluster domain
    except `pod.<domain>`, answers exactly what the API says, NXDOMAIN when nothing; other names are
    UNKNOWN (the cluster DNS forwards them, or answers pod records the inspector does not model).
    """

    def __init__(self, records: Iterable[Record], domain: str, namespaces: Iterable[str]) -> None:
        self.domain = _zone(domain)
        self.namespaces = frozenset(namespaces)
        self._records: dict[tuple[str, str], Record] = {(r.qname, r.qtype): r for r in records}

    def knows(self, qname: str) -> bool:
        name = qname.lower()
        zone = f"{self.domain}."
        if not (name == zone or name.endswith(f".{zone}")):
            return False
        if name.endswith(f".pod.{zone}"):
            return False
        parts = service_parts(name, self.domain)
        return parts is None or parts[-1] in self.namespaces

    def answer(self, qname: str, qtype: str) -> Answer:
        name = qname.lower()
        record = self._records.get((name, qtype))
        if record is not None:
            return Answer(name, qtype, record.rcode, record.answers)
        alias = self._records.get((name, "CNAME"))
        if alias is not None:  # a CNAME answers every type
            return Answer(name, qtype, "NOERROR", tuple(f"{CNAME_PREFIX}{a}" for a in alias.answers))
        if not self.knows(name):
            return Answer(name, qtype, UNKNOWN)
        has_any = any(n == name for n, _ in self._records)
        return Answer(name, qtype, "NOERROR" if has_any else "NXDOMAIN")
