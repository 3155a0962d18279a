"""NetworkPolicy objects: the policies as the API holds them, parsed and checked.

Why it exists: a Service can be perfect (pods ready, slices right, DNS right) and still receive
nothing, because a NetworkPolicy drops the client's packets. This module turns the policies' JSON
into frozen values, with the API server's defaulting, so that `inspector.diagnosis.policyverdicts`
can judge traffic against them from a snapshot, tested on manifests. Pure: no I/O.

What is parsed, and how (networking.k8s.io/v1, the NetworkPolicy concept page and the API reference):

- `spec.podSelector` (absent or `{}` = every pod of the policy's namespace) and every peer selector
  are label selectors (matchLabels AND matchExpressions: In, NotIn, Exists, DoesNotExist), kept as
  the model's own `LabelSelector` (matchLabels first, sorted, as `key=value` requirements).
- `policyTypes` defaulting, as the API server does: when absent or empty, `Ingress` always, plus
  `Egress` when the policy has at least one egress rule.
- Rules: `from`/`to` peers (podSelector, namespaceSelector, both, or an ipBlock with `except`
  blocks inside its `cidr`) and ports (`protocol` defaults to TCP; `port` a number, a name, or
  absent; `endPort` only with a numeric port, not below it).
- JSON the API would not have accepted is one `InvalidNetworkPolicy` naming the object and field.

How the policies are judged (which traffic they admit, and what is not modelled) is said in
`inspector.diagnosis.policyverdicts`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from inspector.model.selectors import LabelSelector, Operator, Requirement

INGRESS = "Ingress"
EGRESS = "Egress"
PROTOCOLS = ("TCP", "UDP", "SCTP")

# matchExpressions operators, as the API spells them, and the selector's own
_OPERATORS = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
}

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
            if not isinstance(operator, str) or operator not in _OPERATORS:
                raise self.fail(f"{where}.operator", f"{operator!r} is not one of {', '.join(_OPERATORS)}")
            values = self.items(expr.get("values"), f"{where}.values")
            if not all(isinstance(v, str) for v in values):
                raise self.fail(f"{where}.values", "expected a list of strings")
            if operator in ("In", "NotIn") and not values:
                raise self.fail(f"{where}.values", f"must be non-empty for {operator}")
            if operator in ("Exists", "DoesNotExist") and values:
                raise self.fail(f"{where}.values", f"must be empty for {operator}")
            expressions.append(Requirement(key, _OPERATORS[operator], frozenset(values)))
        # matchLabels are requirements key=value, sorted, before the expressions (in their order)
        equal = [Requirement(k, Operator.EQUALS, frozenset({v})) for k, v in sorted(match_labels)]
        return LabelSelector((*equal, *expressions))

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
            elif not is_port_number(port):
                raise self.fail(f"{field}.port", f"{port!r} is not a port number (1-65535) or a name")
        if end_port is not None:
            if not is_port_number(end_port):
                raise self.fail(f"{field}.endPort", f"{end_port!r} is not a port number (1-65535)")
            if not isinstance(port, int):
                raise self.fail(f"{field}.endPort", "needs a numeric port")
            if end_port < port:
                raise self.fail(f"{field}.endPort", f"{end_port} is less than port {port}")
        return PolicyPort(protocol, port, end_port)


def _absent_is_empty(value: Any) -> Any:
    """JSON null and a missing field are the same to the API: the empty object."""
    return {} if value is None else value


def is_port_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
