"""NetworkPolicy reasoning: may this client reach this pod on this port, and which policy says so.

Why it exists: a Service can be perfect (pods ready, slices right, DNS right) and still receive
nothing, because a NetworkPolicy drops the client's packets or the client's own egress to the pod
or to kube-dns. This module answers "allowed or denied, and by which policy and rule" from the
policies as the API returns them, so that the answer can be computed from a snapshot, tested on
manifests, and later checked against a real enforcer. It is pure: no I/O, standard library only
(no other inspector module, so it can move with any reorganisation of the package).

Semantics implemented (networking.k8s.io/v1, the NetworkPolicy concept page and the API reference):

- A policy selects pods only in its own namespace, by `spec.podSelector` (absent or `{}` = every
  pod of that namespace). A pod no policy selects for a direction is not isolated for it: allowed.
- `policyTypes` defaulting, as the API server does: when absent or empty, `Ingress` always, plus
  `Egress` when the policy has at least one egress rule. A direction not in `policyTypes` is ignored
  even if rules for it are written.
- Union: traffic is allowed when any rule of any policy selecting the pod for that direction admits
  it; policies never deny on their own. `ingress: []` (or absent) with `Ingress` in `policyTypes`
  isolates the pod and admits nothing; likewise for egress.
- A rule admits traffic when one of its peers matches the other party AND one of its ports matches.
  Empty or absent `from`/`to` = every peer (pods and IPs); empty or absent `ports` = every port and
  protocol.
- Peers: `podSelector` alone = pods of the policy's own namespace; `namespaceSelector` alone = every
  pod of the matching namespaces (`{}` = all namespaces); both in one peer = AND (the pod matches the
  pod selector and its namespace the namespace selector); two peers = OR. Namespaces always carry
  `kubernetes.io/metadata.name=<name>` (the API sets it), whether or not the given labels include it.
- `ipBlock` with `except`: the IP is in `cidr` and in no `except` block. ipBlock is matched against
  pod IPs too, not only cluster-external IPs: the upstream e2e suite ("should allow egress access to
  server in CIDR block") expects exactly that, and kube-network-policies, Calico and Cilium do it.
  A bare IP (a client or destination that is not a pod) matches only ipBlock peers.
- Ports: `protocol` defaults to TCP; TCP, UDP and SCTP are distinct (an SCTP or UDP rule never admits
  TCP); `port` absent = every port of that protocol; `port` numeric with `endPort` = the inclusive
  range port..endPort; `port` named = resolved against the destination pod's containerPorts with
  the same name and protocol (for ingress the target pod, for egress the destination pod); a name
  the pod does not declare, or any name when the destination is a bare IP, matches nothing.
- The port asked about may be a number or a name; a name is resolved the same way against the
  destination pod (name and protocol). A name the pod lacks has no number, so only rules admitting
  every port (no `ports`, or a ports entry with a protocol only) admit it.
- Label selectors are metav1.LabelSelector: matchLabels AND matchExpressions (In, NotIn, Exists,
  DoesNotExist; NotIn and DoesNotExist match pods without the key); an empty selector matches all.
- A client given as "a namespace" is a pod with no labels in that namespace; "pods with labels Y in
  namespace X" is a pod carrying exactly the labels Y; a namespace missing from the `namespaces`
  mapping has only its `kubernetes.io/metadata.name` label.
- Egress to kube-dns: the client's egress to every kube-dns pod on 53/UDP and on 53/TCP (evaluated on
  pod IPs, as enforcers see the packets after the Service's address is translated).

Not implemented, said plainly:
- host-network pods (their traffic is node traffic and policies do not select them), traffic from or
  to nodes (the API allows a pod's own node to reach it, implementations differ), and a pod reaching
  itself (loopback; upstream's e2e ignores it because plugins differ);
- Service ClusterIPs or NodePorts in ipBlock (we reason on pod IPs, after address translation),
  dual-stack pods with several IPs (a pod has one IP here), and cluster-external sources seen through
  SNAT or a load balancer (their source IP is whatever reaches the pod; give that IP);
- AdminNetworkPolicy, BaselineAdminNetworkPolicy and plugin-specific policies (Calico, Cilium,
  Antrea ...), and whether the cluster's plugin enforces NetworkPolicy at all (or SCTP, or endPort);
- replies: connections are stateful, only the direction that opens a connection is evaluated.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

INGRESS = "Ingress"
EGRESS = "Egress"
PROTOCOLS = ("TCP", "UDP", "SCTP")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
DNS_PORT = 53

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class InvalidNetworkPolicy(ValueError):
    """A NetworkPolicy whose JSON the API would not have accepted: names the object and the field."""

    def __init__(self, policy: str, field: str, problem: str) -> None:
        super().__init__(f"NetworkPolicy {policy}: {field}: {problem}")
        self.policy = policy
        self.field = field
        self.problem = problem


# ------------------------------------------------------------------------------ the policy model


@dataclass(frozen=True, slots=True)
class Requirement:
    """One matchExpressions entry."""

    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        return self.key not in labels or labels[self.key] not in self.values  # NotIn


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """metav1.LabelSelector; the empty selector matches everything."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            r.matches(labels) for r in self.match_expressions
        )


@dataclass(frozen=True, slots=True)
class IPBlock:
    cidr: IPNetwork
    excepted: tuple[IPNetwork, ...] = ()

    def contains(self, ip: IPAddress) -> bool:
        return ip.version == self.cidr.version and ip in self.cidr and not any(ip in e for e in self.excepted)


@dataclass(frozen=True, slots=True)
class Peer:
    """One entry of `from`/`to`: selectors (None = the field is absent) or an ipBlock."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None


@dataclass(frozen=True, slots=True)
class PolicyPort:
    protocol: str = "TCP"
    port: int | str | None = None  # None: every port of the protocol; str: a named port
    end_port: int | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """An ingress or egress rule; no peers = every peer, no ports = every port."""

    peers: tuple[Peer, ...] = ()
    ports: tuple[PolicyPort, ...] = ()


class PolicyRef(NamedTuple):
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    namespace: str
    name: str
    pod_selector: LabelSelector
    policy_types: frozenset[str]
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()

    @property
    def ref(self) -> PolicyRef:
        return PolicyRef(self.namespace, self.name)

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> NetworkPolicy:
        """Parses one item of `kubectl get networkpolicy -o json` (or a manifest)."""
        return _Parser(obj).policy()

    def rules(self, direction: str) -> tuple[Rule, ...]:
        return self.ingress if direction == INGRESS else self.egress


def parse_network_policies(items: Iterable[Mapping[str, Any]]) -> tuple[NetworkPolicy, ...]:
    return tuple(NetworkPolicy.from_api(item) for item in items)


# ------------------------------------------------------------------------------ parsing the JSON


class _Parser:
    """Reads one policy's JSON, checking every field, so bad input is one InvalidNetworkPolicy."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        meta = obj.get("metadata") if isinstance(obj, Mapping) else None
        meta = meta if isinstance(meta, Mapping) else {}
        namespace, name = meta.get("namespace"), meta.get("name")
        self.label = (
            f"{namespace if isinstance(namespace, str) else '?'}/{name if isinstance(name, str) else '?'}"
        )

    def fail(self, field: str, problem: str) -> InvalidNetworkPolicy:
        return InvalidNetworkPolicy(self.label, field, problem)

    def mapping(self, value: Any, field: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(field, f"expected an object, got {_kind(value)}")
        return value

    def items(self, value: Any, field: str) -> list[Any]:
        """A list field; absent (None) is the empty list, as the API treats it."""
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(field, f"expected a list, got {_kind(value)}")
        return value

    def string(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(field, f"expected a non-empty string, got {_kind(value)}")
        return value

    def policy(self) -> NetworkPolicy:
        obj = self.mapping(self.obj, "(object)")
        meta = self.mapping(obj.get("metadata"), "metadata")
        namespace = self.string(meta.get("namespace"), "metadata.namespace")
        name = self.string(meta.get("name"), "metadata.name")
        spec = self.mapping(_absent_is_empty(obj.get("spec")), "spec")
        pod_selector = self.selector(_absent_is_empty(spec.get("podSelector")), "spec.podSelector")
        ingress = tuple(
            self.rule(r, f"spec.ingress[{i}]", "from")
            for i, r in enumerate(self.items(spec.get("ingress"), "spec.ingress"))
        )
        egress = tuple(
            self.rule(r, f"spec.egress[{i}]", "to")
            for i, r in enumerate(self.items(spec.get("egress"), "spec.egress"))
        )
        types: set[str] = set()
        for i, t in enumerate(self.items(spec.get("policyTypes"), "spec.policyTypes")):
            if t not in (INGRESS, EGRESS):
                raise self.fail(f"spec.policyTypes[{i}]", f"{t!r} is not Ingress or Egress")
            types.add(t)
        if not types:  # the API server's defaulting
            types = {INGRESS, EGRESS} if egress else {INGRESS}
        return NetworkPolicy(namespace, name, pod_selector, frozenset(types), ingress, egress)

    def selector(self, value: Any, field: str) -> LabelSelector:
        sel = self.mapping(value, field)
        labels = self.mapping(_absent_is_empty(sel.get("matchLabels")), f"{field}.matchLabels")
        match_labels = []
        for key, val in labels.items():
            if not isinstance(val, str):
                raise self.fail(f"{field}.matchLabels.{key}", f"expected a string, got {_kind(val)}")
            match_labels.append((self.string(key, f"{field}.matchLabels"), val))
        expressions = []
        for i, e in enumerate(self.items(sel.get("matchExpressions"), f"{field}.matchExpressions")):
            where = f"{field}.matchExpressions[{i}]"
            expr = self.mapping(e, where)
            key = self.string(expr.get("key"), f"{where}.key")
            operator = expr.get("operator")
            if operator not in _OPERATORS:
                raise self.fail(f"{where}.operator", f"{operator!r} is not one of {', '.join(_OPERATORS)}")
            values = self.items(expr.get("values"), f"{where}.values")
            if not all(isinstance(v, str) for v in values):
                raise self.fail(f"{where}.values", "expected a list of strings")
            if operator in ("In", "NotIn") and not values:
                raise self.fail(f"{where}.values", f"must be non-empty for {operator}")
            if operator in ("Exists", "DoesNotExist") and values:
                raise self.fail(f"{where}.values", f"must be empty for {operator}")
            expressions.append(Requirement(key, operator, frozenset(values)))
        return LabelSelector(tuple(sorted(match_labels)), tuple(expressions))

    def rule(self, value: Any, field: str, peers_key: str) -> Rule:
        rule = self.mapping(value, field)
        peers = tuple(
            self.peer(p, f"{field}.{peers_key}[{i}]")
            for i, p in enumerate(self.items(rule.get(peers_key), f"{field}.{peers_key}"))
        )
        ports = tuple(
            self.port(p, f"{field}.ports[{i}]")
            for i, p in enumerate(self.items(rule.get("ports"), f"{field}.ports"))
        )
        return Rule(peers, ports)

    def peer(self, value: Any, field: str) -> Peer:
        peer = self.mapping(value, field)
        pods, namespaces, block = (peer.get(k) for k in ("podSelector", "namespaceSelector", "ipBlock"))
        if block is not None:
            if pods is not None or namespaces is not None:
                raise self.fail(field, "ipBlock cannot be combined with podSelector or namespaceSelector")
            return Peer(ip_block=self.ip_block(block, f"{field}.ipBlock"))
        if pods is None and namespaces is None:
            raise self.fail(field, "a peer needs podSelector, namespaceSelector or ipBlock")
        return Peer(
            pod_selector=None if pods is None else self.selector(pods, f"{field}.podSelector"),
            namespace_selector=(
                None if namespaces is None else self.selector(namespaces, f"{field}.namespaceSelector")
            ),
        )

    def network(self, value: Any, field: str) -> IPNetwork:
        text = self.string(value, field)
        try:
            return ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise self.fail(field, f"{text!r} is not a CIDR") from None

    def ip_block(self, value: Any, field: str) -> IPBlock:
        block = self.mapping(value, field)
        cidr = self.network(block.get("cidr"), f"{field}.cidr")
        excepted = []
        for i, e in enumerate(self.items(block.get("except"), f"{field}.except")):
            net = self.network(e, f"{field}.except[{i}]")
            if net.version != cidr.version or not net.subnet_of(cidr):  # type: ignore[arg-type]
                raise self.fail(f"{field}.except[{i}]", f"{net} is not inside cidr {cidr}")
            excepted.append(net)
        return IPBlock(cidr, tuple(excepted))

    def port(self, value: Any, field: str) -> PolicyPort:
        entry = self.mapping(value, field)
        protocol = entry.get("protocol", "TCP")
        if protocol not in PROTOCOLS:
            raise self.fail(f"{field}.protocol", f"{protocol!r} is not one of {', '.join(PROTOCOLS)}")
        port = entry.get("port")
        end_port = entry.get("endPort")
        if port is not None:
            if isinstance(port, str):
                if not port or not any(c.isalpha() for c in port):
                    raise self.fail(f"{field}.port", f"{port!r} is neither a port number nor a port name")
            elif not _is_port_number(port):
                raise self.fail(f"{field}.port", f"{port!r} is not a port number (1-65535) or a name")
        if end_port is not None:
            if not _is_port_number(end_port):
                raise self.fail(f"{field}.endPort", f"{end_port!r} is not a port number (1-65535)")
            if not isinstance(port, int):
                raise self.fail(f"{field}.endPort", "needs a numeric port")
            if end_port < port:
                raise self.fail(f"{field}.endPort", f"{end_port} is less than port {port}")
        return PolicyPort(protocol, port, end_port)


def _absent_is_empty(value: Any) -> Any:
    """JSON null and a missing field are the same to the API: the empty object."""
    return {} if value is None else value


def _is_port_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


# ------------------------------------------------------------------------------ pods and clients


@dataclass(frozen=True, slots=True)
class ContainerPort:
    port: int
    name: str | None = None
    protocol: str = "TCP"


@dataclass(frozen=True, slots=True)
class Pod:
    """A pod as policies see it: where it is, its labels, its IP and the ports it declares."""

    namespace: str
    name: str
    labels: Mapping[str, str]
    ip: str | None = None
    container_ports: tuple[ContainerPort, ...] = ()

    def port_number(self, name: str, protocol: str) -> int | None:
        """A named port, resolved as the API resolves it: same name and same protocol."""
        for cp in self.container_ports:
            if cp.name == name and cp.protocol == protocol:
                return cp.port
        return None


@dataclass(frozen=True, slots=True)
class Client:
    """Who opens the connection: a pod, any pod with given labels in a namespace, or a bare IP."""

    namespace: str | None
    labels: Mapping[str, str]
    ip: str | None = None
    pod: str | None = None  # the pod's name, when the client is a known pod

    @classmethod
    def of_pod(cls, pod: Pod) -> Client:
        return cls(pod.namespace, pod.labels, pod.ip, pod.name)

    @classmethod
    def in_namespace(
        cls, namespace: str, labels: Mapping[str, str] | None = None, ip: str | None = None
    ) -> Client:
        """Any pod in `namespace` carrying exactly `labels` (none: a pod without labels)."""
        return cls(namespace, dict(labels or {}), ip)

    @classmethod
    def from_ip(cls, ip: str) -> Client:
        """A source that is not a pod (outside the cluster, or a node): only ipBlock peers match it."""
        return cls(None, {}, ip)

    def describe(self) -> str:
        if self.namespace is None:
            return f"IP {self.ip}"
        if self.pod is not None:
            return f"pod {self.namespace}/{self.pod}"
        if self.labels:
            return f"pods {_format_labels(self.labels)} in namespace {self.namespace}"
        return f"namespace {self.namespace}"

    def describe_selected(self) -> str:
        if self.namespace is not None and self.pod is None and not self.labels:
            return f"pods in namespace {self.namespace}"
        return self.describe()


def _format_labels(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


# ------------------------------------------------------------------------------ verdicts


class RuleRef(NamedTuple):
    policy: PolicyRef
    rule: int  # 1-based, as in the messages: spec.ingress[rule - 1] or spec.egress[rule - 1]

    def __str__(self) -> str:
        return f"rule {self.rule} of policy {self.policy}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Allowed or denied, the policies selecting the pod for that direction, and the deciding rule."""

    allowed: bool
    direction: str  # Ingress or Egress
    selecting: tuple[PolicyRef, ...]  # empty: no policy isolates the pod, allowed by default
    admitted_by: RuleRef | None  # the first rule that admits the traffic, when allowed by a rule
    message: str


@dataclass(frozen=True, slots=True)
class _Party:
    """The other end of the traffic, as a peer: namespace (None for a bare IP), labels, IP."""

    namespace: str | None
    labels: Mapping[str, str]
    namespace_labels: Mapping[str, str]
    ip: IPAddress | None


@dataclass(frozen=True, slots=True)
class _Traffic:
    port: int | None  # None: a port name the destination pod does not declare
    protocol: str
    destination: Pod | None  # named policy ports resolve against it; None for a bare IP
    text: str

    def admitted_by(self, ports: tuple[PolicyPort, ...]) -> bool:
        return not ports or any(self._matches(p) for p in ports)

    def _matches(self, entry: PolicyPort) -> bool:
        if entry.protocol != self.protocol:
            return False
        if entry.port is None:
            return True
        if self.port is None:
            return False
        if isinstance(entry.port, str):
            return self.destination is not None and (
                self.destination.port_number(entry.port, entry.protocol) == self.port
            )
        last = entry.end_port if entry.end_port is not None else entry.port
        return entry.port <= self.port <= last


def ingress_verdict(
    policies: Iterable[NetworkPolicy],
    target: Pod,
    client: Client | Pod,
    port: int | str,
    protocol: str = "TCP",
    *,
    namespaces: Mapping[str, Mapping[str, str]] | None = None,
) -> Verdict:
    """Whether the target pod's ingress policies let `client` in on port/protocol."""
    source = client if isinstance(client, Client) else Client.of_pod(client)
    traffic = _traffic(target, port, protocol)
    return _decide(
        INGRESS,
        policies,
        target.namespace,
        target.labels,
        f"pod {target.namespace}/{target.name}",
        _party(source.namespace, source.labels, source.ip, namespaces),
        source.describe(),
        traffic,
    )


def egress_verdict(
    policies: Iterable[NetworkPolicy],
    client: Client | Pod,
    destination: Pod | str,
    port: int | str,
    protocol: str = "TCP",
    *,
    namespaces: Mapping[str, Mapping[str, str]] | None = None,
) -> Verdict:
    """Whether the client's egress policies let it reach `destination` (a pod or an IP)."""
    source = client if isinstance(client, Client) else Client.of_pod(client)
    if source.namespace is None:
        raise ValueError("egress is decided for a pod: the client needs a namespace")
    if isinstance(destination, Pod):
        traffic = _traffic(destination, port, protocol)
        party = _party(destination.namespace, destination.labels, destination.ip, namespaces)
        text = f"pod {destination.namespace}/{destination.name}"
    else:
        traffic = _traffic(None, port, protocol)
        party = _party(None, {}, destination, namespaces)
        text = f"IP {destination}"
    return _decide(
        EGRESS, policies, source.namespace, source.labels, source.describe_selected(), party, text, traffic
    )


def dns_egress_verdict(
    policies: Iterable[NetworkPolicy],
    client: Client | Pod,
    dns_pods: Sequence[Pod],
    *,
    namespaces: Mapping[str, Mapping[str, str]] | None = None,
) -> Verdict:
    """Whether the client's egress reaches every kube-dns pod on 53/UDP and 53/TCP.

    Denied: the first denied (protocol, pod), UDP first. Allowed: the rules that admit them.
    """
    if not dns_pods:
        raise ValueError("no kube-dns pod to reach")
    policies = tuple(policies)
    verdicts = [
        egress_verdict(policies, client, pod, DNS_PORT, protocol, namespaces=namespaces)
        for protocol in ("UDP", "TCP")
        for pod in dns_pods
    ]
    denied = next((v for v in verdicts if not v.allowed), None)
    if denied is not None:
        return denied
    if not verdicts[0].selecting:
        return verdicts[0]
    rules = list(dict.fromkeys(v.admitted_by for v in verdicts if v.admitted_by is not None))
    pods = ", ".join(f"{p.namespace}/{p.name}" for p in dns_pods)
    verb = "admits" if len(rules) == 1 else "admit"
    message = (
        f"allowed: {' and '.join(str(r) for r in rules)} {verb} kube-dns "
        f"(pod{'s' if len(dns_pods) > 1 else ''} {pods}) on ports 53/UDP and 53/TCP"
    )
    return Verdict(True, EGRESS, verdicts[0].selecting, verdicts[0].admitted_by, message)


def _traffic(destination: Pod | None, port: int | str, protocol: str) -> _Traffic:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    if isinstance(port, str):
        if destination is None:
            raise ValueError(f"port {port!r} is a name, and an IP has no named ports")
        number = destination.port_number(port, protocol)
        if number is None:
            text = f"{port}/{protocol} (not declared by pod {destination.namespace}/{destination.name})"
        else:
            text = f"{number}/{protocol} ({port})"
        return _Traffic(number, protocol, destination, text)
    if not _is_port_number(port):
        raise ValueError(f"port {port!r} is not a port number (1-65535) or a name")
    return _Traffic(port, protocol, destination, f"{port}/{protocol}")


def _party(
    namespace: str | None,
    labels: Mapping[str, str],
    ip: str | None,
    namespaces: Mapping[str, Mapping[str, str]] | None,
) -> _Party:
    namespace_labels: dict[str, str] = {}
    if namespace is not None:
        namespace_labels = {**(namespaces or {}).get(namespace, {}), NAMESPACE_NAME_LABEL: namespace}
    address = ipaddress.ip_address(ip) if ip is not None else None
    if namespace is None and address is None:
        raise ValueError("a party to the traffic needs a namespace or an IP")
    return _Party(namespace, labels, namespace_labels, address)


def _peer_matches(peer: Peer, policy_namespace: str, party: _Party) -> bool:
    if peer.ip_block is not None:
        return party.ip is not None and peer.ip_block.contains(party.ip)
    if party.namespace is None:  # a bare IP is not a pod: selectors never match it
        return False
    if peer.namespace_selector is None:
        namespace_ok = party.namespace == policy_namespace
    else:
        namespace_ok = peer.namespace_selector.matches(party.namespace_labels)
    return namespace_ok and (peer.pod_selector is None or peer.pod_selector.matches(party.labels))


def _decide(
    direction: str,
    policies: Iterable[NetworkPolicy],
    namespace: str,
    labels: Mapping[str, str],
    selected_text: str,
    party: _Party,
    party_text: str,
    traffic: _Traffic,
) -> Verdict:
    selecting = sorted(
        (
            p
            for p in policies
            if p.namespace == namespace and direction in p.policy_types and p.pod_selector.matches(labels)
        ),
        key=lambda p: p.ref,
    )
    refs = tuple(p.ref for p in selecting)
    if not selecting:
        message = f"allowed: no policy selects {selected_text} for {direction.lower()} (allowed by default)"
        return Verdict(True, direction, refs, None, message)
    peer_admitted = False
    for policy in selecting:
        for index, rule in enumerate(policy.rules(direction), start=1):
            if rule.peers and not any(_peer_matches(p, policy.namespace, party) for p in rule.peers):
                continue
            peer_admitted = True
            if traffic.admitted_by(rule.ports):
                ref = RuleRef(policy.ref, index)
                message = f"allowed: {ref} admits {party_text} on port {traffic.text}"
                return Verdict(True, direction, refs, ref, message)
    noun = "policy" if len(refs) == 1 else "policies"
    on_port = f" on port {traffic.text}" if peer_admitted else ""
    message = f"denied: no rule of {noun} {', '.join(map(str, refs))} admits {party_text}{on_port}"
    return Verdict(False, direction, refs, None, message)
