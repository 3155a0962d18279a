"""NetworkPolicy verdicts against a brute-force oracle, on generated policies (hypothesis).

The oracle is extensional: over a small universe of pods, external IPs, ports and protocols, it
expands every rule of every selecting policy into the set of (peer, port, protocol) it admits and
takes the union; a verdict is allowed when the pod is selected by no policy or the traffic is in
that set. It reads the raw JSON, not the parsed dataclasses, so parsing is under test too.
A second property feeds garbage into every field: parsing returns or raises InvalidNetworkPolicy,
never anything else.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.diagnosis.policyverdicts import (
    PolicyClient,
    egress_verdict,
    ingress_verdict,
)
from inspector.model.netpol import (
    InvalidNetworkPolicy,
    NetworkPolicy,
)
from inspector.model.snapshot import Pod
from tests.conftest import container_port, policy_pod

NAMESPACES: dict[str, dict[str, str]] = {"x": {"team": "blue"}, "y": {"team": "green"}, "z": {}}
_TCP80 = container_port(80, "serve-80-tcp", "TCP")
_UDP81 = container_port(81, "serve-81-udp", "UDP")
PODS = (
    policy_pod("x", "a", {"pod": "a"}, "10.0.1.1", (_TCP80, _UDP81)),
    policy_pod("x", "b", {"pod": "b", "team": "blue"}, "10.0.1.2", (_TCP80,)),
    policy_pod("y", "a", {"pod": "a"}, "10.0.2.1", (_TCP80, _UDP81)),
    policy_pod(
        "y", "c", {"pod": "c", "env": "dev"}, "10.0.2.3", (container_port(82, "serve-80-tcp", "TCP"),)
    ),
    policy_pod("z", "b", {"pod": "b"}, "10.0.3.2", ()),
)
EXTERNAL_IPS = ("192.0.2.1", "192.0.2.200")
PORTS = (79, 80, 81, 82, 83)
PROTOCOLS = ("TCP", "UDP", "SCTP")

# ------------------------------------------------------------------------------ generated policies

_keys = st.sampled_from(["pod", "team", "env"])
_values = st.sampled_from(["a", "b", "c", "blue", "green", "dev", "x", "y"])


@st.composite
def selectors(draw: st.DrawFn) -> dict[str, Any]:
    selector: dict[str, Any] = {}
    if draw(st.booleans()):
        selector["matchLabels"] = draw(st.dictionaries(_keys, _values, max_size=2))
    if draw(st.booleans()):
        expressions = []
        for _ in range(draw(st.integers(0, 2))):
            operator = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
            expression: dict[str, Any] = {"key": draw(_keys), "operator": operator}
            if operator in ("In", "NotIn"):
                expression["values"] = draw(st.lists(_values, min_size=1, max_size=2))
            expressions.append(expression)
        selector["matchExpressions"] = expressions
    return selector


_ip_blocks = st.sampled_from(
    [
        {"cidr": "10.0.0.0/16", "except": ["10.0.2.0/24"]},
        {"cidr": "10.0.1.0/24"},
        {"cidr": "10.0.2.3/32"},
        {"cidr": "192.0.2.0/24", "except": ["192.0.2.128/25"]},
        {"cidr": "0.0.0.0/0"},
    ]
)


@st.composite
def peers(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["pods", "namespaces", "both", "ipBlock"]))
    if kind == "ipBlock":
        return {"ipBlock": draw(_ip_blocks)}
    peer: dict[str, Any] = {}
    if kind in ("pods", "both"):
        peer["podSelector"] = draw(selectors())
    if kind in ("namespaces", "both"):
        peer["namespaceSelector"] = draw(selectors())
    return peer


@st.composite
def ports(draw: st.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if draw(st.booleans()):
        entry["protocol"] = draw(st.sampled_from(PROTOCOLS))
    kind = draw(st.sampled_from(["none", "number", "range", "name", "name"]))
    if kind in ("number", "range"):
        entry["port"] = draw(st.integers(79, 83))
        if kind == "range":
            entry["endPort"] = entry["port"] + draw(st.integers(0, 2))
    elif kind == "name":
        entry["port"] = draw(st.sampled_from(["serve-80-tcp", "serve-81-udp", "metrics"]))
    return entry


def _optional_list(element: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.lists(element, max_size=2))


@st.composite
def rules(draw: st.DrawFn, peers_key: str) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    for key, element in ((peers_key, peers()), ("ports", ports())):
        value = draw(_optional_list(element))
        if value is not None:
            rule[key] = value
    return rule


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": draw(st.just({}) | selectors())}
    types = draw(st.sampled_from([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
    if types is not None:
        spec["policyTypes"] = types
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        value = draw(_optional_list(rules(peers_key)))
        if value is not None:
            spec[direction] = value
    name = f"p{draw(st.integers(0, 99))}"
    return {"metadata": {"namespace": draw(st.sampled_from(["x", "y", "z"])), "name": name}, "spec": spec}


# ------------------------------------------------------------------------------ the oracle


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        present, value = e["key"] in labels, labels.get(e["key"])
        ok = {
            "In": present and value in e.get("values", []),
            "NotIn": not (present and value in e.get("values", [])),
            "Exists": present,
            "DoesNotExist": not present,
        }[e["operator"]]
        if not ok:
            return False
    return True


def _types(spec: Mapping[str, Any]) -> list[str]:
    return spec.get("policyTypes") or (["Ingress", "Egress"] if spec.get("egress") else ["Ingress"])


Party = tuple[str | None, str]  # (namespace, pod name) for a pod, (None, ip) for an external IP
PARTIES: list[Party] = [(p.namespace, p.name) for p in PODS] + [(None, ip) for ip in EXTERNAL_IPS]
_POD: dict[Party, Pod] = {(p.namespace, p.name): p for p in PODS}


def _ip(party: Party) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(_POD[party].ip if party[0] is not None else party[1])


def _peer_set(peer: Mapping[str, Any], policy_namespace: str) -> set[Party]:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        inside = ipaddress.ip_network(block["cidr"])
        out = [ipaddress.ip_network(e) for e in block.get("except", [])]
        return {s for s in PARTIES if _ip(s) in inside and not any(_ip(s) in e for e in out)}
    found: set[Party] = set()
    for pod in PODS:
        if "namespaceSelector" in peer:
            labels = {**NAMESPACES[pod.namespace], "kubernetes.io/metadata.name": pod.namespace}
            in_namespace = _selects(peer["namespaceSelector"], labels)
        else:
            in_namespace = pod.namespace == policy_namespace
        if in_namespace and _selects(peer.get("podSelector", {}), pod.labels):
            found.add((pod.namespace, pod.name))
    return found


def _port_set(entry: Mapping[str, Any], destination: Pod | None) -> set[tuple[int, str]]:
    protocol = entry.get("protocol", "TCP")
    port = entry.get("port")
    if port is None:
        return {(p, protocol) for p in PORTS}
    if isinstance(port, str):
        declared = destination.container_ports if destination else ()
        return {(c.port, protocol) for c in declared if c.name == port and c.protocol == protocol}
    return {(p, protocol) for p in range(port, entry.get("endPort", port) + 1)}


def oracle(raw: list[dict[str, Any]], direction: str, subject: Pod) -> set[tuple[Party, int, str]]:
    """Every (other party, port, protocol) the subject's policies allow, by enumeration."""
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    everything = {(w, p, proto) for w in PARTIES for p in PORTS for proto in PROTOCOLS}
    selecting = [
        p
        for p in raw
        if p["metadata"]["namespace"] == subject.namespace
        and direction in _types(p["spec"])
        and _selects(p["spec"]["podSelector"], subject.labels)
    ]
    if not selecting:
        return everything
    admitted: set[tuple[Party, int, str]] = set()
    for policy in selecting:
        for rule in policy["spec"].get(key) or []:
            rule_peers = rule.get(peers_key) or []
            who = (
                set(PARTIES)
                if not rule_peers
                else set().union(*(_peer_set(p, policy["metadata"]["namespace"]) for p in rule_peers))
            )
            rule_ports = rule.get("ports") or []
            for w in who:
                # named ports resolve against the destination: the subject for ingress, w for egress
                destination = subject if direction == "Ingress" else _POD.get(w)
                what = (
                    {(p, proto) for p in PORTS for proto in PROTOCOLS}
                    if not rule_ports
                    else set().union(*(_port_set(e, destination) for e in rule_ports))
                )
                admitted |= {(w, p, proto) for p, proto in what}
    return admitted


# ------------------------------------------------------------------------------ the properties

CELLS = [(w, p, proto) for w in PARTIES for p in PORTS for proto in PROTOCOLS]
# Each example checks 5 pods x 525 cells; sized so the file runs in a few seconds of CPU. Every one
# of a handful of deliberately injected bugs (except ignored, endPort off by one, named port resolved
# without its protocol, AND read as OR ...) failed these at this size; raise max_examples to search harder.
MATRIX = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _client(party: Party) -> PolicyClient:
    return PolicyClient.of_pod(_POD[party]) if party[0] is not None else PolicyClient.from_ip(party[1])


@MATRIX
@given(raw=st.lists(policies(), min_size=1, max_size=3))
def test_ingress_verdicts_agree_with_the_oracle_for_every_pod_client_and_port(
    raw: list[dict[str, Any]],
) -> None:
    parsed = [NetworkPolicy.from_api(p) for p in raw]
    for target in PODS:
        allowed = oracle(raw, "Ingress", target)
        for client, port, protocol in CELLS:
            verdict = ingress_verdict(parsed, target, _client(client), port, protocol, namespaces=NAMESPACES)
            assert verdict.allowed == ((client, port, protocol) in allowed), (target, client, port, protocol)
            assert verdict.message.startswith("allowed: " if verdict.allowed else "denied: ")


@MATRIX
@given(raw=st.lists(policies(), min_size=1, max_size=3))
def test_egress_verdicts_agree_with_the_oracle_for_every_pod_destination_and_port(
    raw: list[dict[str, Any]],
) -> None:
    parsed = [NetworkPolicy.from_api(p) for p in raw]
    for client in PODS:
        allowed = oracle(raw, "Egress", client)
        for destination, port, protocol in CELLS:
            to = _POD[destination] if destination[0] is not None else destination[1]
            verdict = egress_verdict(parsed, client, to, port, protocol, namespaces=NAMESPACES)
            assert verdict.allowed == ((destination, port, protocol) in allowed), (client, destination, port)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def damaged(draw: st.DrawFn) -> Any:
    """A valid generated policy with one value somewhere replaced by arbitrary JSON."""
    policy: Any = draw(policies())
    path = []
    node = policy
    while isinstance(node, (dict, list)) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        path.append(key)
        node = node[key]
    if not path:
        return draw(_json)
    parent = policy
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = draw(_json)
    return policy


@settings(max_examples=200, deadline=None)
@given(obj=damaged())
def test_any_input_parses_or_raises_invalid_network_policy(obj: Any) -> None:
    try:
        NetworkPolicy.from_api(obj)
    except InvalidNetworkPolicy as error:
        assert str(error).startswith("NetworkPolicy ")
