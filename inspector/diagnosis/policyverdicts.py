"""NetworkPolicy verdicts: may this client reach this pod on this port, and which policy says so.

Why it exists: a Service can be perfect (pods ready, slices right, DNS right) and still receive
nothing, because a NetworkPolicy drops the client's packets or the client's own egress to the pod
or to kube-dns. This module answers "allowed or denied, and by which policy and rule" from the
policies parsed by `inspector.model.netpol` and the snapshot's pods, so that the answer can be
computed from a snapshot, tested on manifests, and later checked against a real enforcer. Pure.

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
from typing import NamedTuple

from inspector.model.netpol import (
    EGRESS,
    INGRESS,
    PROTOCOLS,
    IPAddress,
    NetworkPolicy,
    Peer,
    PolicyPort,
    PolicyRef,
    is_port_number,
)
from inspector.model.snapshot import Pod

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
DNS_PORT = 53


def port_number(pod: Pod, name: str, protocol: str) -> int | None:
    """A named port of the pod, resolved as the API resolves it: same name and same protocol."""
    for cp in pod.container_ports:
        if cp.name == name and cp.protocol == protocol:
            return cp.port
    return None


# ------------------------------------------------------------------------------ who connects


@dataclass(frozen=True, slots=True)
class PolicyClient:
    """Who opens the connection: a pod, any pod with given labels in a namespace, or a bare IP."""

    namespace: str | None
    labels: Mapping[str, str]
    ip: str | None = None
    pod: str | None = None  # the pod's name, when the client is a known pod

    @classmethod
    def of_pod(cls, pod: Pod) -> PolicyClient:
        return cls(pod.namespace, pod.labels, pod.ip, pod.name)

    @classmethod
    def in_namespace(
        cls, namespace: str, labels: Mapping[str, str] | None = None, ip: str | None = None
    ) -> PolicyClient:
        """Any pod in `namespace` carrying exactly `labels` (none: a pod without labels)."""
        return cls(namespace, dict(labels or {}), ip)

    @classmethod
    def from_ip(cls, ip: str) -> PolicyClient:
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
class PolicyVerdict:
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
                port_number(self.destination, entry.port, entry.protocol) == self.port
            )
        last = entry.end_port if entry.end_port is not None else entry.port
        return entry.port <= self.port <= last


def ingress_verdict(
    policies: Iterable[NetworkPolicy],
    target: Pod,
    client: PolicyClient | Pod,
    port: int | str,
    protocol: str = "TCP",
    *,
    namespaces: Mapping[str, Mapping[str, str]] | None = None,
) -> PolicyVerdict:
    """Whether the target pod's ingress policies let `client` in on port/protocol."""
    source = client if isinstance(client, PolicyClient) else PolicyClient.of_pod(client)
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
    client: PolicyClient | Pod,
    destination: Pod | str,
    port: int | str,
    protocol: str = "TCP",
    *,
    namespaces: Mapping[str, Mapping[str, str]] | None = None,
) -> PolicyVerdict:
    """Whether the client's egress policies let it reach `destination` (a pod or an IP)."""
    source = client if isinstance(client, PolicyClient) else PolicyClient.of_pod(client)
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
    client: PolicyClient | Pod,
    dns_pods: Sequence[Pod],
    *,
    namespaces: Mapping[str, Mapping[str, str]] | None = None,
) -> PolicyVerdict:
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
    return PolicyVerdict(True, EGRESS, verdicts[0].selecting, verdicts[0].admitted_by, message)


def _traffic(destination: Pod | None, port: int | str, protocol: str) -> _Traffic:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    if isinstance(port, str):
        if destination is None:
            raise ValueError(f"port {port!r} is a name, and an IP has no named ports")
        number = port_number(destination, port, protocol)
        if number is None:
            text = f"{port}/{protocol} (not declared by pod {destination.namespace}/{destination.name})"
        else:
            text = f"{number}/{protocol} ({port})"
        return _Traffic(number, protocol, destination, text)
    if not is_port_number(port):
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
) -> PolicyVerdict:
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
        return PolicyVerdict(True, direction, refs, None, message)
    peer_admitted = False
    for policy in selecting:
        for index, rule in enumerate(policy.rules(direction), start=1):
            if rule.peers and not any(_peer_matches(p, policy.namespace, party) for p in rule.peers):
                continue
            peer_admitted = True
            if traffic.admitted_by(rule.ports):
                ref = RuleRef(policy.ref, index)
                message = f"allowed: {ref} admits {party_text} on port {traffic.text}"
                return PolicyVerdict(True, direction, refs, ref, message)
    noun = "policy" if len(refs) == 1 else "policies"
    on_port = f" on port {traffic.text}" if peer_admitted else ""
    message = f"denied: no rule of {noun} {', '.join(map(str, refs))} admits {party_text}{on_port}"
    return PolicyVerdict(False, direction, refs, None, message)
