"""NetworkPolicy reasoning: exact verdicts on policies written as manifests.

The pods mirror the upstream e2e suite (kubernetes/kubernetes test/e2e/network/netpol): namespaces
x, y, z, pods a, b, c labelled pod=<name>, each serving 80 and 81 on TCP, UDP and SCTP under the
names serve-<port>-<protocol>. Where a case mirrors an upstream test, the comment gives its title.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from inspector.diagnosis.policyverdicts import (
    PolicyClient,
    PolicyVerdict,
    RuleRef,
    dns_egress_verdict,
    egress_verdict,
    ingress_verdict,
)
from inspector.model.netpol import (
    EGRESS,
    INGRESS,
    InvalidNetworkPolicy,
    IPBlock,
    NetworkPolicy,
    Peer,
    PolicyPort,
    PolicyRef,
    Rule,
    parse_network_policies,
)
from inspector.model.selectors import LabelSelector, Operator, Requirement
from inspector.model.snapshot import Pod
from tests.conftest import container_port, policy_pod


def policies(*manifests: str) -> tuple[NetworkPolicy, ...]:
    docs: list[dict[str, Any]] = []
    for text in manifests:
        docs += [d for d in yaml.safe_load_all(text) if d]
    return parse_network_policies(docs)


SERVE_PORTS = tuple(
    container_port(port, f"serve-{port}-{protocol.lower()}", protocol)
    for port in (80, 81)
    for protocol in ("TCP", "UDP", "SCTP")
)
_NS_NUMBER = {"x": 1, "y": 2, "z": 3}


def pod(ref: str) -> Pod:
    """An upstream e2e pod: "x/a" is pod a in namespace x, IP 10.0.<ns>.<pod>."""
    namespace, name = ref.split("/")
    ip = f"10.0.{_NS_NUMBER[namespace]}.{ord(name) - ord('a') + 1}"
    return policy_pod(namespace, name, {"pod": name}, ip, SERVE_PORTS)


# Namespace labels as the API has them; kubernetes.io/metadata.name is added by the reasoning.
NAMESPACES = {"x": {"team": "blue"}, "y": {"team": "green"}, "z": {"team": "green", "env": "dev"}}


def check(verdict: PolicyVerdict, message: str) -> None:
    assert (verdict.allowed, verdict.message) == (message.startswith("allowed: "), message)


# ------------------------------------------------------------------------------ policies used below

DEFAULT_DENY_INGRESS_X = """
# upstream: should support a 'default-deny-ingress' policy
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""

DEFAULT_DENY_INGRESS_Y = DEFAULT_DENY_INGRESS_X.replace("namespace: x", "namespace: y")

EGRESS_ONLY_X = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
"""

EGRESS_RULES_WITHOUT_POLICY_TYPES = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-rules-only, namespace: x}
spec:
  podSelector: {}
  egress:
  - ports: [{port: 53, protocol: UDP}]
"""

ALLOW_ALL_X = """
# upstream: should support allow-all policy
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: x}
spec:
  podSelector: {}
  ingress:
  - {}
"""

X_A_ALLOWS_X_B = """
# upstream: should enforce policy to allow traffic from pods within server namespace based on PodSelector
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: x-a-allows-x-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - podSelector: {matchLabels: {pod: b}}
"""

ALLOW_FROM_NS_Y = """
# upstream: should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client-a-via-ns-selector, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}
"""

ALLOW_FROM_TEAM_GREEN = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-team-green, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: green}}
"""

ALLOW_FROM_ALL_NAMESPACES = """
# upstream: should enforce policy to allow ingress traffic from pods in all namespaces
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-from-another-ns, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {}
"""

POD_SELECTOR_MATCH_EXPRESSIONS = """
# upstream: should enforce policy based on PodSelector with MatchExpressions
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: x-a-allows-x-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - podSelector:
        matchExpressions: [{key: pod, operator: In, values: [b]}]
"""

NOT_IN_NS_X_OR_POD_B = """
# upstream: should enforce policy based on PodSelector or NamespaceSelector (two peers: OR)
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-ns-y-match-selector, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}]
    - podSelector: {matchLabels: {pod: b}}
"""

NOT_IN_NS_X_AND_POD_B = """
# upstream: should enforce policy based on PodSelector and NamespaceSelector (one peer: AND)
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-ns-y-podselector-and-nsselector, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}]
      podSelector: {matchLabels: {pod: b}}
"""

ALLOW_PORT_81_FROM_Y = """
# upstream: should enforce policy based on Ports
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client-a-via-ns-selector, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}
    ports:
    - {port: 81, protocol: TCP}
"""

ALLOW_PORT_80_FROM_Y = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client-a-via-ns-selector-80, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}
    ports:
    - {port: 80, protocol: TCP}
"""

ALLOW_NAMED_PORT_81 = """
# upstream: should allow ingress access on one named port
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: serve-81-tcp
"""

ALLOW_NAMED_PORT_FROM_NS_Y = """
# upstream: should allow ingress access from namespace on one named port
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client-a-via-ns-selector-80, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}
    ports:
    - {port: serve-80-tcp, protocol: TCP}
"""

NAMED_PORT_WRONG_PROTOCOL = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: named-port-udp, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports:
    - {port: serve-80-tcp, protocol: UDP}
"""

PORT_RANGE = """
# KEP-2079 port ranges: 80..82 inclusive
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-port-range, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports:
    - {port: 80, endPort: 82, protocol: TCP}
"""

TCP_ANY_PORT = """
# upstream: should enforce ingress policy allowing any port traffic to a server on a specific protocol
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-ingress-by-proto, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - ports:
    - protocol: TCP
"""

SCTP_ONLY_81 = """
# upstream: should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-only-sctp-ingress-on-port-81, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - ports:
    - {port: 81, protocol: SCTP}
"""

UDP_ONLY_81 = """
# upstream: should not allow access by TCP when a policy specifies only UDP
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-only-udp-ingress-on-port-81, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - ports:
    - {port: 81, protocol: UDP}
"""

ALLOW_PORT_80_ONLY_X = """
# upstream: should enforce multiple ingress policies with ingress allow-all policy taking precedence
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-ingress-port-80, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: 80}]
"""

ALLOW_INGRESS_ALL_X = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-ingress, namespace: x}
spec:
  podSelector: {}
  ingress:
  - {}
"""

IPBLOCK_INGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-from-office, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock:
        cidr: 192.0.2.0/24
        except: [192.0.2.0/28]
    - ipBlock: {cidr: "2001:db8::/64"}
    - ipBlock: {cidr: 10.0.2.0/24}
"""

ALLOW_FROM_UPDATED_NS = """
# upstream: should allow ingress access from updated namespace
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client-a-via-ns-selector, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns2: updated}}
"""

DENY_EMPTY_POLICY = """
# upstream: should deny ingress from pods on other namespaces
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-empty-policy, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from:
    - podSelector: {}
"""

DENY_ISOLATED = """
# upstream: should deny ingress access to updated pod
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress-via-label-selector, namespace: x}
spec:
  podSelector: {matchLabels: {target: isolated}}
  policyTypes: [Ingress]
"""

SELECTOR_EXPRESSIONS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: expressions, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions:
        - {key: team, operator: Exists}
        - {key: env, operator: DoesNotExist}
      podSelector:
        matchExpressions:
        - {key: pod, operator: NotIn, values: [c]}
"""

# The examples of issue 13, word for word.
DEMO = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: demo}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-frontend, namespace: demo}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: test-ns}}
      podSelector: {matchLabels: {app: frontend}}
    ports:
    - {port: 8080, protocol: TCP}
"""
DEMO_WEB = policy_pod("demo", "web-7d4", {"app": "web"}, "10.0.9.9", (container_port(8080, "http"),))
DEMO_DB = policy_pod("demo", "db-0", {"app": "db"}, "10.0.9.10", (container_port(5432, "postgres"),))


# ------------------------------------------------------------------------------ ingress


def case(behaviour: str, manifests: tuple[str, ...], *args: Any) -> Any:
    """One row: policies, the two ends, port, protocol, the exact verdict; the id states the behaviour."""
    return pytest.param(manifests, *args, id=behaviour)


def ns(namespace: str, labels: dict[str, str] | None = None) -> PolicyClient:
    return PolicyClient.in_namespace(namespace, labels)


# fmt: off
INGRESS_CASES = [
    case("no policy selects the pod: allowed by default",
         (), "x/a", pod("y/a"), 80, "TCP",
         "allowed: no policy selects pod x/a for ingress (allowed by default)"),
    case("a policy in another namespace never selects the pod",
         (DEFAULT_DENY_INGRESS_Y,), "x/a", pod("y/a"), 80, "TCP",
         "allowed: no policy selects pod x/a for ingress (allowed by default)"),
    case("default-deny-ingress denies the same namespace",
         (DEFAULT_DENY_INGRESS_X,), "x/a", pod("x/b"), 80, "TCP",
         "denied: no rule of policy x/deny-ingress admits pod x/b"),
    case("default-deny-ingress denies other namespaces, UDP too",
         (DEFAULT_DENY_INGRESS_X,), "x/a", pod("y/a"), 80, "UDP",
         "denied: no rule of policy x/deny-ingress admits pod y/a"),
    case("default-deny-ingress denies SCTP",
         (DEFAULT_DENY_INGRESS_X,), "x/a", pod("y/a"), 80, "SCTP",
         "denied: no rule of policy x/deny-ingress admits pod y/a"),
    case("an Egress-only policy does not isolate ingress",
         (EGRESS_ONLY_X,), "x/a", pod("y/a"), 80, "TCP",
         "allowed: no policy selects pod x/a for ingress (allowed by default)"),
    case("policyTypes absent: Ingress always, so egress rules alone isolate ingress",
         (EGRESS_RULES_WITHOUT_POLICY_TYPES,), "x/a", pod("y/a"), 80, "TCP",
         "denied: no rule of policy x/egress-rules-only admits pod y/a"),
    case("an empty rule admits every source, port and protocol",
         (ALLOW_ALL_X,), "x/a", pod("z/c"), 81, "UDP",
         "allowed: rule 1 of policy x/allow-all admits pod z/c on port 81/UDP"),
    case("podSelector alone admits matching pods of the policy's namespace",
         (X_A_ALLOWS_X_B,), "x/a", pod("x/b"), 80, "TCP",
         "allowed: rule 1 of policy x/x-a-allows-x-b admits pod x/b on port 80/TCP"),
    case("podSelector alone denies other pods of the namespace",
         (X_A_ALLOWS_X_B,), "x/a", pod("x/c"), 80, "TCP",
         "denied: no rule of policy x/x-a-allows-x-b admits pod x/c"),
    case("podSelector alone denies matching pods of other namespaces",
         (X_A_ALLOWS_X_B,), "x/a", pod("y/b"), 80, "TCP",
         "denied: no rule of policy x/x-a-allows-x-b admits pod y/b"),
    case("a pod the policy's podSelector does not match is not isolated",
         (X_A_ALLOWS_X_B,), "x/b", pod("y/a"), 80, "TCP",
         "allowed: no policy selects pod x/b for ingress (allowed by default)"),
    case("podSelector matchExpressions In admits",
         (POD_SELECTOR_MATCH_EXPRESSIONS,), "x/a", pod("x/b"), 80, "TCP",
         "allowed: rule 1 of policy x/x-a-allows-x-b admits pod x/b on port 80/TCP"),
    case("podSelector matchExpressions In denies others",
         (POD_SELECTOR_MATCH_EXPRESSIONS,), "x/a", pod("y/a"), 80, "TCP",
         "denied: no rule of policy x/x-a-allows-x-b admits pod y/a"),
    case("namespaceSelector alone admits every pod of the namespace, by its name label",
         (ALLOW_FROM_NS_Y,), "x/a", pod("y/b"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-client-a-via-ns-selector admits pod y/b on port 80/TCP"),
    case("a namespace client is admitted by its namespace",
         (ALLOW_FROM_NS_Y,), "x/a", ns("y"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-client-a-via-ns-selector admits namespace y on port 80/TCP"),
    case("namespaceSelector alone denies the policy's own namespace when it does not match",
         (ALLOW_FROM_NS_Y,), "x/a", pod("x/b"), 80, "TCP",
         "denied: no rule of policy x/allow-client-a-via-ns-selector admits pod x/b"),
    case("namespaceSelector alone denies other namespaces",
         (ALLOW_FROM_NS_Y,), "x/a", pod("z/a"), 80, "TCP",
         "denied: no rule of policy x/allow-client-a-via-ns-selector admits pod z/a"),
    case("namespaceSelector matches the namespace's own labels",
         (ALLOW_FROM_TEAM_GREEN,), "x/a", ns("z"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-team-green admits namespace z on port 80/TCP"),
    case("namespaceSelector denies a namespace with other labels",
         (ALLOW_FROM_TEAM_GREEN,), "x/a", ns("x"), 80, "TCP",
         "denied: no rule of policy x/allow-team-green admits namespace x"),
    case("an empty namespaceSelector admits pods of every namespace",
         (ALLOW_FROM_ALL_NAMESPACES,), "x/a", pod("z/c"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-from-another-ns admits pod z/c on port 80/TCP"),
    case("an empty namespaceSelector does not admit IPs outside the cluster",
         (ALLOW_FROM_ALL_NAMESPACES,), "x/a", PolicyClient.from_ip("203.0.113.7"), 80, "TCP",
         "denied: no rule of policy x/allow-from-another-ns admits IP 203.0.113.7"),
    case("an empty podSelector peer admits every pod of the policy's namespace",
         (DENY_EMPTY_POLICY,), "x/a", pod("x/c"), 80, "TCP",
         "allowed: rule 1 of policy x/deny-empty-policy admits pod x/c on port 80/TCP"),
    case("an empty podSelector peer denies other namespaces",
         (DENY_EMPTY_POLICY,), "x/a", pod("y/a"), 80, "TCP",
         "denied: no rule of policy x/deny-empty-policy admits pod y/a"),
    case("two peers are OR: the podSelector peer admits",
         (NOT_IN_NS_X_OR_POD_B,), "x/a", pod("x/b"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-ns-y-match-selector admits pod x/b on port 80/TCP"),
    case("two peers are OR: the namespaceSelector NotIn peer admits",
         (NOT_IN_NS_X_OR_POD_B,), "x/a", pod("y/a"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-ns-y-match-selector admits pod y/a on port 80/TCP"),
    case("two peers are OR: a pod matching neither is denied",
         (NOT_IN_NS_X_OR_POD_B,), "x/a", pod("x/c"), 80, "TCP",
         "denied: no rule of policy x/allow-ns-y-match-selector admits pod x/c"),
    case("both selectors in one peer are AND: both match",
         (NOT_IN_NS_X_AND_POD_B,), "x/a", pod("y/b"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-ns-y-podselector-and-nsselector admits pod y/b on port 80/TCP"),
    case("both selectors in one peer are AND: the namespace does not match",
         (NOT_IN_NS_X_AND_POD_B,), "x/a", pod("x/b"), 80, "TCP",
         "denied: no rule of policy x/allow-ns-y-podselector-and-nsselector admits pod x/b"),
    case("both selectors in one peer are AND: the pod does not match",
         (NOT_IN_NS_X_AND_POD_B,), "x/a", pod("y/a"), 80, "TCP",
         "denied: no rule of policy x/allow-ns-y-podselector-and-nsselector admits pod y/a"),
    case("Exists, DoesNotExist and NotIn all hold",
         (SELECTOR_EXPRESSIONS,), "x/a", pod("y/b"), 80, "TCP",
         "allowed: rule 1 of policy x/expressions admits pod y/b on port 80/TCP"),
    case("DoesNotExist fails on a namespace carrying the key",
         (SELECTOR_EXPRESSIONS,), "x/a", pod("z/b"), 80, "TCP",
         "denied: no rule of policy x/expressions admits pod z/b"),
    case("NotIn fails on a pod carrying an excluded value",
         (SELECTOR_EXPRESSIONS,), "x/a", pod("y/c"), 80, "TCP",
         "denied: no rule of policy x/expressions admits pod y/c"),
    case("NotIn matches a pod without the key",
         (SELECTOR_EXPRESSIONS,), "x/a", ns("y", {"role": "client"}), 80, "TCP",
         "allowed: rule 1 of policy x/expressions admits pods role=client in namespace y on port 80/TCP"),
    case("a port rule admits its port",
         (ALLOW_PORT_81_FROM_Y,), "x/a", pod("y/a"), 81, "TCP",
         "allowed: rule 1 of policy x/allow-client-a-via-ns-selector admits pod y/a on port 81/TCP"),
    case("a port rule denies other ports, and the message names the port",
         (ALLOW_PORT_81_FROM_Y,), "x/a", pod("y/a"), 80, "TCP",
         "denied: no rule of policy x/allow-client-a-via-ns-selector admits pod y/a on port 80/TCP"),
    case("a port rule denies other peers on its port",
         (ALLOW_PORT_81_FROM_Y,), "x/a", pod("z/a"), 81, "TCP",
         "denied: no rule of policy x/allow-client-a-via-ns-selector admits pod z/a"),
    case("stacked policies are a union",
         (ALLOW_PORT_81_FROM_Y, ALLOW_PORT_80_FROM_Y), "x/a", pod("y/a"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-client-a-via-ns-selector-80 admits pod y/a on port 80/TCP"),
    case("stacked policies: denied names every selecting policy",
         (ALLOW_PORT_81_FROM_Y, ALLOW_PORT_80_FROM_Y), "x/a", pod("z/a"), 80, "TCP",
         "denied: no rule of policies x/allow-client-a-via-ns-selector, x/allow-client-a-via-ns-selector-80 "
         "admits pod z/a"),
    case("a numeric port without protocol is TCP",
         (ALLOW_PORT_80_ONLY_X,), "x/a", pod("y/a"), 81, "TCP",
         "denied: no rule of policy x/allow-ingress-port-80 admits pod y/a on port 81/TCP"),
    case("an allow-all policy wins over a restrictive one",
         (ALLOW_PORT_80_ONLY_X, ALLOW_INGRESS_ALL_X), "x/a", pod("y/a"), 81, "TCP",
         "allowed: rule 1 of policy x/allow-ingress admits pod y/a on port 81/TCP"),
    case("a named policy port resolves against the target pod",
         (ALLOW_NAMED_PORT_81,), "x/a", pod("y/a"), 81, "TCP",
         "allowed: rule 1 of policy x/allow-all admits pod y/a on port 81/TCP"),
    case("a named policy port denies other ports",
         (ALLOW_NAMED_PORT_81,), "x/a", pod("y/a"), 80, "TCP",
         "denied: no rule of policy x/allow-all admits pod y/a on port 80/TCP"),
    case("a named target port resolves against the target pod",
         (ALLOW_NAMED_PORT_81,), "x/a", pod("y/a"), "serve-81-tcp", "TCP",
         "allowed: rule 1 of policy x/allow-all admits pod y/a on port 81/TCP (serve-81-tcp)"),
    case("named port: a pod outside the policy's namespace is unaffected",
         (ALLOW_NAMED_PORT_81,), "demo/db-0", pod("y/a"), 5432, "TCP",
         "allowed: no policy selects pod demo/db-0 for ingress (allowed by default)"),
    case("a named port with a namespaceSelector admits the namespace on it",
         (ALLOW_NAMED_PORT_FROM_NS_Y,), "x/a", pod("y/a"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-client-a-via-ns-selector-80 admits pod y/a on port 80/TCP"),
    case("a named port with a namespaceSelector denies other ports",
         (ALLOW_NAMED_PORT_FROM_NS_Y,), "x/a", pod("y/a"), 81, "TCP",
         "denied: no rule of policy x/allow-client-a-via-ns-selector-80 admits pod y/a on port 81/TCP"),
    case("a named port resolves by name and protocol: serve-80-tcp is not a UDP port",
         (NAMED_PORT_WRONG_PROTOCOL,), "x/a", pod("y/a"), 80, "UDP",
         "denied: no rule of policy x/named-port-udp admits pod y/a on port 80/UDP"),
    case("endPort range includes its first port",
         (PORT_RANGE,), "x/a", pod("y/a"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-port-range admits pod y/a on port 80/TCP"),
    case("endPort range includes its last port",
         (PORT_RANGE,), "x/a", pod("y/a"), 82, "TCP",
         "allowed: rule 1 of policy x/allow-port-range admits pod y/a on port 82/TCP"),
    case("endPort range excludes the port after it",
         (PORT_RANGE,), "x/a", pod("y/a"), 83, "TCP",
         "denied: no rule of policy x/allow-port-range admits pod y/a on port 83/TCP"),
    case("endPort range excludes the port before it",
         (PORT_RANGE,), "x/a", pod("y/a"), 79, "TCP",
         "denied: no rule of policy x/allow-port-range admits pod y/a on port 79/TCP"),
    case("endPort range is for its protocol only",
         (PORT_RANGE,), "x/a", pod("y/a"), 81, "UDP",
         "denied: no rule of policy x/allow-port-range admits pod y/a on port 81/UDP"),
    case("a protocol-only port admits every port of that protocol",
         (TCP_ANY_PORT,), "x/a", pod("y/a"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-ingress-by-proto admits pod y/a on port 80/TCP"),
    case("a protocol-only port denies other protocols",
         (TCP_ANY_PORT,), "x/a", pod("y/a"), 80, "UDP",
         "denied: no rule of policy x/allow-ingress-by-proto admits pod y/a on port 80/UDP"),
    case("an SCTP rule never admits TCP",
         (DEFAULT_DENY_INGRESS_X, SCTP_ONLY_81), "x/a", pod("y/a"), 81, "TCP",
         "denied: no rule of policies x/allow-only-sctp-ingress-on-port-81, x/deny-ingress admits pod y/a on "
         "port 81/TCP"),
    case("an SCTP rule admits SCTP",
         (SCTP_ONLY_81,), "x/a", pod("y/a"), 81, "SCTP",
         "allowed: rule 1 of policy x/allow-only-sctp-ingress-on-port-81 admits pod y/a on port 81/SCTP"),
    case("a UDP rule never admits TCP",
         (UDP_ONLY_81,), "x/a", pod("y/a"), 81, "TCP",
         "denied: no rule of policy x/allow-only-udp-ingress-on-port-81 admits pod y/a on port 81/TCP"),
    case("ipBlock admits an IP inside cidr",
         (IPBLOCK_INGRESS,), "x/a", PolicyClient.from_ip("192.0.2.200"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-from-office admits IP 192.0.2.200 on port 80/TCP"),
    case("ipBlock except carves an IP out",
         (IPBLOCK_INGRESS,), "x/a", PolicyClient.from_ip("192.0.2.7"), 80, "TCP",
         "denied: no rule of policy x/allow-from-office admits IP 192.0.2.7"),
    case("ipBlock denies an IP outside cidr",
         (IPBLOCK_INGRESS,), "x/a", PolicyClient.from_ip("198.51.100.1"), 80, "TCP",
         "denied: no rule of policy x/allow-from-office admits IP 198.51.100.1"),
    case("ipBlock admits IPv6",
         (IPBLOCK_INGRESS,), "x/a", PolicyClient.from_ip("2001:db8::42"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-from-office admits IP 2001:db8::42 on port 80/TCP"),
    case("ipBlock applies to pod IPs too",
         (IPBLOCK_INGRESS,), "x/a", pod("y/c"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-from-office admits pod y/c on port 80/TCP"),
    case("ipBlock denies a pod whose IP is outside",
         (IPBLOCK_INGRESS,), "x/a", pod("z/c"), 80, "TCP",
         "denied: no rule of policy x/allow-from-office admits pod z/c"),
    case("ipBlock cannot admit a client without an IP",
         (IPBLOCK_INGRESS,), "x/a", ns("y"), 80, "TCP",
         "denied: no rule of policy x/allow-from-office admits namespace y"),
    case("a deny policy for other labels leaves the pod open",
         (DENY_ISOLATED,), "x/a", pod("y/a"), 80, "TCP",
         "allowed: no policy selects pod x/a for ingress (allowed by default)"),
    case("issue 13: any pod with labels in a namespace is admitted",
         (DEMO,), "demo/web-7d4", ns("test-ns", {"app": "frontend"}), 8080, "TCP",
         "allowed: rule 1 of policy demo/allow-frontend admits pods app=frontend in namespace test-ns on port "
         "8080/TCP"),
    case("issue 13: a named target port admitted on its number",
         (DEMO,), "demo/web-7d4", ns("test-ns", {"app": "frontend"}), "http", "TCP",
         "allowed: rule 1 of policy demo/allow-frontend admits pods app=frontend in namespace test-ns on port "
         "8080/TCP (http)"),
    case("a named target port the pod lacks matches no port rule",
         (DEMO,), "demo/web-7d4", ns("test-ns", {"app": "frontend"}), "metrics", "TCP",
         "denied: no rule of policies demo/allow-frontend, demo/default-deny admits pods app=frontend in "
         "namespace test-ns on port metrics/TCP (not declared by pod demo/web-7d4)"),
    case("issue 13: a namespace is denied by default-deny",
         (DEMO,), "demo/db-0", ns("test-ns"), 5432, "TCP",
         "denied: no rule of policy demo/default-deny admits namespace test-ns"),
    case("a namespace client is a pod without labels: a podSelector peer does not admit it",
         (DEMO,), "demo/web-7d4", ns("test-ns"), 8080, "TCP",
         "denied: no rule of policies demo/allow-frontend, demo/default-deny admits namespace test-ns"),
]
# fmt: on

PODS = {p.namespace + "/" + p.name: p for p in (DEMO_WEB, DEMO_DB)}


def target_pod(ref: str) -> Pod:
    return PODS[ref] if ref in PODS else pod(ref)


@pytest.mark.parametrize(("manifests", "target", "client", "port", "protocol", "message"), INGRESS_CASES)
def test_ingress_verdict(
    manifests: tuple[str, ...],
    target: str,
    client: PolicyClient | Pod,
    port: int | str,
    protocol: str,
    message: str,
) -> None:
    verdict = ingress_verdict(
        policies(*manifests), target_pod(target), client, port, protocol, namespaces=NAMESPACES
    )
    check(verdict, message)
    assert verdict.direction == INGRESS


def test_allowed_verdict_names_selecting_policies_and_the_admitting_rule() -> None:
    verdict = ingress_verdict(policies(DEMO), DEMO_WEB, ns("test-ns", {"app": "frontend"}), 8080)
    assert verdict == PolicyVerdict(
        allowed=True,
        direction=INGRESS,
        selecting=(PolicyRef("demo", "allow-frontend"), PolicyRef("demo", "default-deny")),
        admitted_by=RuleRef(PolicyRef("demo", "allow-frontend"), 1),
        message="allowed: rule 1 of policy demo/allow-frontend admits pods app=frontend in namespace test-ns "
        "on port 8080/TCP",
    )


def test_admitting_rule_index_counts_from_one_in_policy_order() -> None:
    policy = policies("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: two-rules, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from: [{podSelector: {matchLabels: {pod: b}}}]
  - from: [{podSelector: {matchLabels: {pod: c}}}]
""")
    verdict = ingress_verdict(policy, pod("x/a"), pod("x/c"), 80)
    assert verdict.admitted_by == RuleRef(PolicyRef("x", "two-rules"), 2)
    assert verdict.message == "allowed: rule 2 of policy x/two-rules admits pod x/c on port 80/TCP"


def test_denied_verdict_has_no_admitting_rule() -> None:
    verdict = ingress_verdict(policies(DEFAULT_DENY_INGRESS_X), pod("x/a"), pod("y/a"), 80)
    assert (verdict.selecting, verdict.admitted_by) == ((PolicyRef("x", "deny-ingress"),), None)


def test_namespace_labels_come_from_the_namespaces_mapping() -> None:
    # upstream: should allow ingress access from updated namespace
    policy = policies(ALLOW_FROM_UPDATED_NS)
    before = ingress_verdict(policy, pod("x/a"), pod("y/a"), 80, namespaces=NAMESPACES)
    after = ingress_verdict(
        policy, pod("x/a"), pod("y/a"), 80, namespaces={**NAMESPACES, "y": {"ns2": "updated"}}
    )
    check(before, "denied: no rule of policy x/allow-client-a-via-ns-selector admits pod y/a")
    check(after, "allowed: rule 1 of policy x/allow-client-a-via-ns-selector admits pod y/a on port 80/TCP")


def test_the_namespace_name_label_is_there_even_for_an_unknown_namespace() -> None:
    # upstream: should enforce policy to allow traffic based on NamespaceSelector with MatchLabels
    # using default ns label
    verdict = ingress_verdict(policies(ALLOW_FROM_NS_Y), pod("x/a"), pod("y/a"), 80, namespaces={})
    check(verdict, "allowed: rule 1 of policy x/allow-client-a-via-ns-selector admits pod y/a on port 80/TCP")


def test_pod_labels_decide_isolation() -> None:
    # upstream: should deny ingress access to updated pod
    isolated = policy_pod("x", "a", {"pod": "a", "target": "isolated"}, "10.0.1.1", SERVE_PORTS)
    verdict = ingress_verdict(policies(DENY_ISOLATED), isolated, pod("y/a"), 80)
    check(verdict, "denied: no rule of policy x/deny-ingress-via-label-selector admits pod y/a")


# ------------------------------------------------------------------------------ egress

DENY_EGRESS_POD_A = """
# upstream: should deny egress from pods based on PodSelector
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress-pod-a, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
"""

ALLOW_EGRESS_NAMED_PORT = """
# upstream: should allow egress access on one named port
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-egress, namespace: x}
spec:
  podSelector: {}
  egress:
  - ports:
    - port: serve-80-tcp
"""

EGRESS_TO_Y_A = """
# upstream: should enforce egress policy allowing traffic to a server in a different namespace
# based on PodSelector and NamespaceSelector
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-to-ns-y-pod-a, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}
      podSelector: {matchLabels: {pod: a}}
"""

ALLOW_INGRESS_FROM_X_A_ON_Y = """
# upstream: should support denying of egress traffic on the client side (even if the server
# explicitly allows this traffic)
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-from-xa-on-yb-match-selector, namespace: y}
spec:
  podSelector: {matchLabels: {pod: b}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: x}}
      podSelector: {matchLabels: {pod: a}}
"""

EGRESS_TO_Y_B_CIDR = """
# upstream: should allow egress access to server in CIDR block (y/b is 10.0.2.2)
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client-a-via-cidr-egress-rule, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  egress:
  - to:
    - ipBlock: {cidr: 10.0.2.2/32}
"""

EGRESS_EXCEPT_X_B = """
# upstream: should enforce except clause while egress access to server in CIDR block (x/b is 10.0.1.2)
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client-a-via-cidr-egress-rule, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/16
        except: [10.0.1.2/32]
"""

EGRESS_TO_X_B_ONLY = """
# upstream: should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client-a-to-x-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  egress:
  - to:
    - ipBlock: {cidr: 10.0.1.2/32}
"""

EGRESS_NOT_IN_NS_Y = """
# upstream: should enforce policy based on NamespaceSelector with MatchExpressions using default ns label
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-ns-y-match-selector-for-immutable-ns-label, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  egress:
  - to:
    - namespaceSelector:
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [y]}]
"""

EGRESS_WITH_INGRESS_POLICY_TYPE_ONLY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ingress-only, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  egress:
  - ports: [{port: 53, protocol: UDP}]
"""

EGRESS_PORT_RANGE = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-egress-high-ports, namespace: x}
spec:
  podSelector: {}
  egress:
  - to:
    - ipBlock: {cidr: 0.0.0.0/0}
    ports:
    - {port: 30000, endPort: 32767}
"""

# fmt: off
EGRESS_CASES = [
    case("no egress policy selects the client: allowed by default",
         (DENY_EGRESS_POD_A,), pod("x/b"), pod("y/a"), 80, "TCP",
         "allowed: no policy selects pod x/b for egress (allowed by default)"),
    case("an Egress policy without rules denies all egress",
         (DENY_EGRESS_POD_A,), pod("x/a"), pod("y/a"), 80, "TCP",
         "denied: no rule of policy x/deny-egress-pod-a admits pod y/a"),
    case("an Ingress-only policy does not isolate egress",
         (DEFAULT_DENY_INGRESS_X,), pod("x/a"), pod("y/a"), 80, "TCP",
         "allowed: no policy selects pod x/a for egress (allowed by default)"),
    case("policyTypes absent: egress rules make the policy select for egress",
         (EGRESS_RULES_WITHOUT_POLICY_TYPES,), pod("x/a"), pod("y/a"), 80, "TCP",
         "denied: no rule of policy x/egress-rules-only admits pod y/a on port 80/TCP"),
    case("egress rules are ignored when policyTypes says Ingress only",
         (EGRESS_WITH_INGRESS_POLICY_TYPE_ONLY,), pod("x/a"), pod("y/a"), 80, "TCP",
         "allowed: no policy selects pod x/a for egress (allowed by default)"),
    case("an egress named port resolves against the destination pod",
         (ALLOW_EGRESS_NAMED_PORT,), pod("x/a"), pod("y/a"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-egress admits pod y/a on port 80/TCP"),
    case("an egress named port denies other ports",
         (ALLOW_EGRESS_NAMED_PORT,), pod("x/a"), pod("y/a"), 81, "TCP",
         "denied: no rule of policy x/allow-egress admits pod y/a on port 81/TCP"),
    case("an egress named port the destination pod lacks matches nothing",
         (ALLOW_EGRESS_NAMED_PORT,), pod("x/a"), DEMO_DB, 80, "TCP",
         "denied: no rule of policy x/allow-egress admits pod demo/db-0 on port 80/TCP"),
    case("an egress named port never matches a bare IP",
         (ALLOW_EGRESS_NAMED_PORT,), pod("x/a"), "203.0.113.5", 80, "TCP",
         "denied: no rule of policy x/allow-egress admits IP 203.0.113.5 on port 80/TCP"),
    case("egress to namespace AND pod selectors admits the pod",
         (EGRESS_TO_Y_A,), pod("x/a"), pod("y/a"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-to-ns-y-pod-a admits pod y/a on port 80/TCP"),
    case("egress to namespace AND pod selectors denies another pod of the namespace",
         (EGRESS_TO_Y_A,), pod("x/a"), pod("y/b"), 80, "TCP",
         "denied: no rule of policy x/allow-to-ns-y-pod-a admits pod y/b"),
    case("egress to namespace AND pod selectors denies the same labels elsewhere",
         (EGRESS_TO_Y_A,), pod("x/a"), pod("x/a"), 80, "TCP",
         "denied: no rule of policy x/allow-to-ns-y-pod-a admits pod x/a"),
    case("egress ipBlock admits a pod by its IP",
         (EGRESS_TO_Y_B_CIDR,), pod("x/a"), pod("y/b"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-client-a-via-cidr-egress-rule admits pod y/b on port 80/TCP"),
    case("egress ipBlock denies other pods",
         (EGRESS_TO_Y_B_CIDR,), pod("x/a"), pod("y/a"), 80, "TCP",
         "denied: no rule of policy x/allow-client-a-via-cidr-egress-rule admits pod y/a"),
    case("egress ipBlock except carves a pod out",
         (EGRESS_EXCEPT_X_B,), pod("x/a"), pod("x/b"), 80, "TCP",
         "denied: no rule of policy x/allow-client-a-via-cidr-egress-rule admits pod x/b"),
    case("egress ipBlock except leaves the rest of the cidr",
         (EGRESS_EXCEPT_X_B,), pod("x/a"), pod("x/c"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-client-a-via-cidr-egress-rule admits pod x/c on port 80/TCP"),
    case("another policy admits what an except carved out",
         (EGRESS_EXCEPT_X_B, EGRESS_TO_X_B_ONLY), pod("x/a"), pod("x/b"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-client-a-to-x-b admits pod x/b on port 80/TCP"),
    case("egress namespaceSelector NotIn on the name label denies that namespace",
         (EGRESS_NOT_IN_NS_Y,), pod("x/a"), pod("y/b"), 80, "TCP",
         "denied: no rule of policy x/allow-ns-y-match-selector-for-immutable-ns-label admits pod y/b"),
    case("egress namespaceSelector NotIn admits other namespaces",
         (EGRESS_NOT_IN_NS_Y,), pod("x/a"), pod("z/b"), 80, "TCP",
         "allowed: rule 1 of policy x/allow-ns-y-match-selector-for-immutable-ns-label admits pod z/b on port "
         "80/TCP"),
    case("egress namespaceSelector never admits a bare IP",
         (EGRESS_NOT_IN_NS_Y,), pod("x/a"), "203.0.113.5", 80, "TCP",
         "denied: no rule of policy x/allow-ns-y-match-selector-for-immutable-ns-label admits IP 203.0.113.5"),
    case("egress endPort range to an IP",
         (EGRESS_PORT_RANGE,), pod("x/a"), "192.168.1.10", 30080, "TCP",
         "allowed: rule 1 of policy x/allow-egress-high-ports admits IP 192.168.1.10 on port 30080/TCP"),
    case("egress endPort range denies a port outside",
         (EGRESS_PORT_RANGE,), pod("x/a"), "192.168.1.10", 443, "TCP",
         "denied: no rule of policy x/allow-egress-high-ports admits IP 192.168.1.10 on port 443/TCP"),
    case("egress of any pod with labels in a namespace",
         (EGRESS_ONLY_X,), PolicyClient.in_namespace("x", {"app": "batch"}), pod("y/a"), 80, "TCP",
         "denied: no rule of policy x/deny-egress admits pod y/a"),
    case("egress of a namespace client: a pod without labels",
         (DENY_EGRESS_POD_A,), PolicyClient.in_namespace("x"), pod("y/a"), 80, "TCP",
         "allowed: no policy selects pods in namespace x for egress (allowed by default)"),
]
# fmt: on


@pytest.mark.parametrize(("manifests", "client", "destination", "port", "protocol", "message"), EGRESS_CASES)
def test_egress_verdict(
    manifests: tuple[str, ...],
    client: PolicyClient | Pod,
    destination: Pod | str,
    port: int | str,
    protocol: str,
    message: str,
) -> None:
    verdict = egress_verdict(policies(*manifests), client, destination, port, protocol, namespaces=NAMESPACES)
    check(verdict, message)
    assert verdict.direction == EGRESS


def test_client_side_egress_denies_what_the_server_admits() -> None:
    # upstream: should support denying of egress traffic on the client side (even if the server
    # explicitly allows this traffic)
    both = policies(EGRESS_TO_Y_A, ALLOW_INGRESS_FROM_X_A_ON_Y)
    check(
        ingress_verdict(both, pod("y/b"), pod("x/a"), 80),
        "allowed: rule 1 of policy y/allow-from-xa-on-yb-match-selector admits pod x/a on port 80/TCP",
    )
    check(
        egress_verdict(both, pod("x/a"), pod("y/b"), 80),
        "denied: no rule of policy x/allow-to-ns-y-pod-a admits pod y/b",
    )


def test_ingress_and_egress_are_decided_independently() -> None:
    # upstream: should work with Ingress, Egress specified together
    policy = policies("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client-a-via-pod-selector, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress, Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {pod: b}}}]
  egress:
  - ports: [{port: 80}]
""")
    check(
        ingress_verdict(policy, pod("x/a"), pod("x/b"), 81),
        "allowed: rule 1 of policy x/allow-client-a-via-pod-selector admits pod x/b on port 81/TCP",
    )
    check(
        ingress_verdict(policy, pod("x/a"), pod("x/c"), 80),
        "denied: no rule of policy x/allow-client-a-via-pod-selector admits pod x/c",
    )
    check(
        egress_verdict(policy, pod("x/a"), pod("y/a"), 80),
        "allowed: rule 1 of policy x/allow-client-a-via-pod-selector admits pod y/a on port 80/TCP",
    )
    check(
        egress_verdict(policy, pod("x/a"), pod("y/a"), 81),
        "denied: no rule of policy x/allow-client-a-via-pod-selector admits pod y/a on port 81/TCP",
    )


def test_named_target_port_to_an_ip_is_a_question_without_an_answer() -> None:
    with pytest.raises(ValueError, match="an IP has no named ports"):
        egress_verdict((), pod("x/a"), "203.0.113.5", "http")


def test_egress_needs_a_pod_client() -> None:
    with pytest.raises(ValueError, match="needs a namespace"):
        egress_verdict((), PolicyClient.from_ip("203.0.113.5"), pod("x/a"), 80)


@pytest.mark.parametrize(
    ("port", "protocol", "error"),
    [
        pytest.param(0, "TCP", "port 0 is not a port number", id="port zero"),
        pytest.param(65536, "TCP", "port 65536 is not a port number", id="port too large"),
        pytest.param(
            80, "tcp", "protocol 'tcp' is not one of TCP, UDP, SCTP", id="protocol is case-sensitive"
        ),
        pytest.param(80, "ICMP", "protocol 'ICMP' is not one of TCP, UDP, SCTP", id="unknown protocol"),
    ],
)
def test_bad_port_or_protocol_is_a_value_error(port: int, protocol: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        ingress_verdict((), pod("x/a"), pod("y/a"), port, protocol)


# ------------------------------------------------------------------------------ kube-dns egress

DNS_PODS = (
    policy_pod(
        "kube-system", "coredns-a", {"k8s-app": "kube-dns"}, "10.96.0.10", (container_port(53, "dns", "UDP"),)
    ),
    policy_pod(
        "kube-system", "coredns-b", {"k8s-app": "kube-dns"}, "10.96.0.11", (container_port(53, "dns", "UDP"),)
    ),
)
CLIENT = policy_pod("test-ns", "client", {"app": "client"}, "10.0.5.5")

DEFAULT_DENY_EGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-egress, namespace: test-ns}
spec:
  podSelector: {}
  policyTypes: [Egress]
"""

ALLOW_DNS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: test-ns}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
"""

ALLOW_DNS_UDP = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns-udp, namespace: test-ns}
spec:
  podSelector: {}
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
    ports:
    - {port: 53, protocol: UDP}
"""

ALLOW_DNS_TCP = ALLOW_DNS_UDP.replace("udp", "tcp").replace("UDP", "TCP")

ALLOW_DNS_WRONG_LABEL = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: test-ns}
spec:
  podSelector: {}
  egress:
  - to:
    - namespaceSelector: {matchLabels: {name: kube-system}}
    ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
"""


@pytest.mark.parametrize(
    ("manifests", "message"),
    [
        pytest.param(
            (),
            "allowed: no policy selects pod test-ns/client for egress (allowed by default)",
            id="no egress policy",
        ),
        pytest.param(
            (DEFAULT_DENY_EGRESS,),
            "denied: no rule of policy test-ns/default-deny-egress admits pod kube-system/coredns-a",
            id="default-deny egress denies DNS",
        ),
        pytest.param(
            (DEFAULT_DENY_EGRESS, ALLOW_DNS),
            "allowed: rule 1 of policy test-ns/allow-dns admits kube-dns (pods kube-system/coredns-a, "
            "kube-system/coredns-b) on ports 53/UDP and 53/TCP",
            id="the usual allow-dns policy admits both protocols",
        ),
        pytest.param(
            (DEFAULT_DENY_EGRESS, ALLOW_DNS_UDP),
            "denied: no rule of policies test-ns/allow-dns-udp, test-ns/default-deny-egress admits pod "
            "kube-system/coredns-a on port 53/TCP",
            id="DNS over UDP only: TCP, for large answers, is denied",
        ),
        pytest.param(
            (ALLOW_DNS_UDP, ALLOW_DNS_TCP),
            "allowed: rule 1 of policy test-ns/allow-dns-udp and rule 1 of policy test-ns/allow-dns-tcp admit "
            "kube-dns (pods kube-system/coredns-a, kube-system/coredns-b) on ports 53/UDP and 53/TCP",
            id="two policies, one per protocol",
        ),
        pytest.param(
            (ALLOW_DNS_WRONG_LABEL,),
            "denied: no rule of policy test-ns/allow-dns admits pod kube-system/coredns-a",
            id="a namespace label kube-system does not carry denies DNS",
        ),
    ],
)
def test_dns_egress_verdict(manifests: tuple[str, ...], message: str) -> None:
    check(dns_egress_verdict(policies(*manifests), CLIENT, DNS_PODS, namespaces={"kube-system": {}}), message)


def test_dns_egress_for_one_kube_dns_pod() -> None:
    verdict = dns_egress_verdict(policies(ALLOW_DNS), PolicyClient.in_namespace("test-ns"), DNS_PODS[:1])
    check(
        verdict,
        "allowed: rule 1 of policy test-ns/allow-dns admits kube-dns (pod kube-system/coredns-a) "
        "on ports 53/UDP and 53/TCP",
    )
    assert verdict.admitted_by == RuleRef(PolicyRef("test-ns", "allow-dns"), 1)


def test_dns_egress_needs_kube_dns_pods() -> None:
    with pytest.raises(ValueError, match="no kube-dns pod"):
        dns_egress_verdict((), CLIENT, ())


# ------------------------------------------------------------------------------ parsing


def test_parsing_applies_the_api_defaults() -> None:
    (policy,) = policies("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: demo}
spec:
  podSelector:
    matchLabels: {app: web}
    matchExpressions: [{key: tier, operator: NotIn, values: [cache, db]}]
  ingress:
  - from:
    - podSelector: {}
      namespaceSelector: {matchLabels: {team: a}}
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
    ports:
    - port: 8080
    - {protocol: UDP, port: dns}
    - {protocol: SCTP, port: 9000, endPort: 9010}
  - {}
""")
    assert policy == NetworkPolicy(
        namespace="demo",
        name="web",
        pod_selector=LabelSelector(
            (
                Requirement("app", Operator.EQUALS, frozenset({"web"})),
                Requirement("tier", Operator.NOT_IN, frozenset({"cache", "db"})),
            )
        ),
        policy_types=frozenset({INGRESS}),
        ingress=(
            Rule(
                peers=(
                    Peer(
                        pod_selector=LabelSelector(),
                        namespace_selector=LabelSelector(
                            (Requirement("team", Operator.EQUALS, frozenset({"a"})),)
                        ),
                    ),
                    Peer(ip_block=IPBlock(ip_network("10.0.0.0/8"), (ip_network("10.1.0.0/16"),))),
                ),
                ports=(PolicyPort("TCP", 8080), PolicyPort("UDP", "dns"), PolicyPort("SCTP", 9000, 9010)),
            ),
            Rule(),
        ),
    )


def ip_network(text: str) -> Any:
    import ipaddress

    return ipaddress.ip_network(text)


@pytest.mark.parametrize(
    ("spec", "types"),
    [
        pytest.param({}, {INGRESS}, id="no rules: Ingress"),
        pytest.param({"egress": []}, {INGRESS}, id="empty egress list: Ingress"),
        pytest.param({"egress": [{}]}, {INGRESS, EGRESS}, id="egress rules: Ingress and Egress"),
        pytest.param(
            {"policyTypes": [], "egress": [{}]}, {INGRESS, EGRESS}, id="empty policyTypes is absent"
        ),
        pytest.param(
            {"policyTypes": ["Egress"], "ingress": [{}]}, {EGRESS}, id="explicit policyTypes are kept"
        ),
    ],
)
def test_policy_types_default_like_the_api_server(spec: dict[str, Any], types: set[str]) -> None:
    policy = NetworkPolicy.from_api({"metadata": {"name": "p", "namespace": "n"}, "spec": spec})
    assert policy.policy_types == types


def test_null_fields_read_as_absent() -> None:
    policy = NetworkPolicy.from_api(
        {"metadata": {"name": "p", "namespace": "n"}, "spec": {"podSelector": None, "ingress": None}}
    )
    assert (policy.pod_selector, policy.ingress, policy.policy_types) == (LabelSelector(), (), {INGRESS})
    selector = NetworkPolicy.from_api(
        {"metadata": {"name": "p", "namespace": "n"}, "spec": {"podSelector": {"matchLabels": None}}}
    ).pod_selector
    assert selector == LabelSelector()


def test_policies_from_kubectl_get_json() -> None:
    listing = json.loads("""{"apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
       "metadata": {"name": "deny", "namespace": "x", "resourceVersion": "12", "uid": "u"},
       "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}]}""")
    (policy,) = parse_network_policies(listing["items"])
    assert (policy.ref, policy.pod_selector, policy.policy_types, policy.ingress) == (
        PolicyRef("x", "deny"),
        LabelSelector(),
        frozenset({INGRESS}),
        (),
    )


def n_p(spec: dict[str, Any]) -> dict[str, Any]:
    """Policy n/p with this spec."""
    return {"metadata": {"namespace": "n", "name": "p"}, "spec": spec}


@pytest.mark.parametrize(
    ("obj", "error"),
    [
        pytest.param([], "NetworkPolicy ?/?: (object): expected an object, got list", id="not an object"),
        pytest.param(
            {"spec": {}}, "NetworkPolicy ?/?: metadata: expected an object, got nothing", id="no metadata"
        ),
        pytest.param(
            {"metadata": {"name": "p"}},
            "NetworkPolicy ?/p: metadata.namespace: expected a non-empty string, got nothing",
            id="no namespace",
        ),
        pytest.param(
            {"metadata": {"namespace": "n", "name": "p"}, "spec": []},
            "NetworkPolicy n/p: spec: expected an object, got list",
            id="spec not an object",
        ),
        pytest.param(
            n_p({"podSelector": "app=web"}),
            "NetworkPolicy n/p: spec.podSelector: expected an object, got str",
            id="selector as a string",
        ),
        pytest.param(
            n_p({"podSelector": {"matchLabels": {"app": 1}}}),
            "NetworkPolicy n/p: spec.podSelector.matchLabels.app: expected a string, got int",
            id="label value not a string",
        ),
        pytest.param(
            n_p({"podSelector": {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]}}),
            "NetworkPolicy n/p: spec.podSelector.matchExpressions[0].operator: 'Equals' is not one of In, NotIn, "
            "Exists, DoesNotExist",
            id="unknown operator",
        ),
        pytest.param(
            n_p({"podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}),
            "NetworkPolicy n/p: spec.podSelector.matchExpressions[0].values: must be non-empty for In",
            id="In without values",
        ),
        pytest.param(
            n_p({"podSelector": {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["b"]}]}}),
            "NetworkPolicy n/p: spec.podSelector.matchExpressions[0].values: must be empty for Exists",
            id="Exists with values",
        ),
        pytest.param(
            n_p({"policyTypes": ["ingress"]}),
            "NetworkPolicy n/p: spec.policyTypes[0]: 'ingress' is not Ingress or Egress",
            id="policy type spelled wrong",
        ),
        pytest.param(
            n_p({"ingress": {"from": []}}),
            "NetworkPolicy n/p: spec.ingress: expected a list, got dict",
            id="ingress not a list",
        ),
        pytest.param(
            n_p({"ingress": [{"from": [{}]}]}),
            "NetworkPolicy n/p: spec.ingress[0].from[0]: a peer needs podSelector, namespaceSelector or ipBlock",
            id="empty peer",
        ),
        pytest.param(
            n_p({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]}),
            "NetworkPolicy n/p: spec.egress[0].to[0]: ipBlock cannot be combined with podSelector or "
            "namespaceSelector",
            id="ipBlock with a selector",
        ),
        pytest.param(
            n_p({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0/33"}}]}]}),
            "NetworkPolicy n/p: spec.egress[0].to[0].ipBlock.cidr: '10.0.0/33' is not a CIDR",
            id="bad cidr",
        ),
        pytest.param(
            n_p({"egress": [{"to": [{"ipBlock": {}}]}]}),
            "NetworkPolicy n/p: spec.egress[0].to[0].ipBlock.cidr: expected a non-empty string, got nothing",
            id="ipBlock without cidr",
        ),
        pytest.param(
            n_p({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}}]}]}),
            "NetworkPolicy n/p: spec.egress[0].to[0].ipBlock.except[0]: 10.1.0.0/24 is not inside cidr 10.0.0.0/16",
            id="except outside cidr",
        ),
        pytest.param(
            n_p({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["fd00::/64"]}}]}]}),
            "NetworkPolicy n/p: spec.egress[0].to[0].ipBlock.except[0]: fd00::/64 is not inside cidr 10.0.0.0/16",
            id="except of the other IP family",
        ),
        pytest.param(
            n_p({"ingress": [{"ports": [{"protocol": "ICMP"}]}]}),
            "NetworkPolicy n/p: spec.ingress[0].ports[0].protocol: 'ICMP' is not one of TCP, UDP, SCTP",
            id="unknown protocol",
        ),
        pytest.param(
            n_p({"ingress": [{"ports": [{"port": 0}]}]}),
            "NetworkPolicy n/p: spec.ingress[0].ports[0].port: 0 is not a port number (1-65535) or a name",
            id="port zero",
        ),
        pytest.param(
            n_p({"ingress": [{"ports": [{"port": True}]}]}),
            "NetworkPolicy n/p: spec.ingress[0].ports[0].port: True is not a port number (1-65535) or a name",
            id="port true",
        ),
        pytest.param(
            n_p({"ingress": [{"ports": [{"port": "8080"}]}]}),
            "NetworkPolicy n/p: spec.ingress[0].ports[0].port: '8080' is neither a port number nor a port name",
            id="port number as a string",
        ),
        pytest.param(
            n_p({"ingress": [{"ports": [{"port": "http", "endPort": 90}]}]}),
            "NetworkPolicy n/p: spec.ingress[0].ports[0].endPort: needs a numeric port",
            id="endPort with a named port",
        ),
        pytest.param(
            n_p({"ingress": [{"ports": [{"endPort": 90}]}]}),
            "NetworkPolicy n/p: spec.ingress[0].ports[0].endPort: needs a numeric port",
            id="endPort without port",
        ),
        pytest.param(
            n_p({"ingress": [{"ports": [{"port": 90, "endPort": 80}]}]}),
            "NetworkPolicy n/p: spec.ingress[0].ports[0].endPort: 80 is less than port 90",
            id="endPort before port",
        ),
    ],
)
def test_malformed_policy_is_one_clear_error(obj: Any, error: str) -> None:
    with pytest.raises(InvalidNetworkPolicy) as caught:
        NetworkPolicy.from_api(obj)
    assert str(caught.value) == error
    assert isinstance(caught.value, ValueError)


# ------------------------------------------------------------------------------ label selectors


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        pytest.param(LabelSelector(), {}, True, id="empty selector matches a pod without labels"),
        pytest.param(
            LabelSelector((Requirement("app", Operator.EQUALS, frozenset({"web"})),)),
            {"app": "web", "x": "y"},
            True,
            id="extra labels are fine",
        ),
        pytest.param(
            LabelSelector((Requirement("app", Operator.EQUALS, frozenset({"web"})),)),
            {"app": "api"},
            False,
            id="matchLabels value differs",
        ),
        pytest.param(
            LabelSelector(
                (
                    Requirement("app", Operator.EQUALS, frozenset({"web"})),
                    Requirement("tier", Operator.EXISTS),
                )
            ),
            {"app": "web"},
            False,
            id="matchLabels AND matchExpressions",
        ),
        pytest.param(
            LabelSelector((Requirement("a", Operator.IN, frozenset({"1", "2"})),)), {"a": "2"}, True, id="In"
        ),
        pytest.param(
            LabelSelector((Requirement("a", Operator.IN, frozenset({"1"})),)), {}, False, id="In without key"
        ),
        pytest.param(
            LabelSelector((Requirement("a", Operator.NOT_IN, frozenset({"1"})),)),
            {},
            True,
            id="NotIn without key",
        ),
        pytest.param(
            LabelSelector((Requirement("a", Operator.NOT_IN, frozenset({"1"})),)),
            {"a": "1"},
            False,
            id="NotIn excluded",
        ),
        pytest.param(
            LabelSelector((Requirement("a", Operator.EXISTS),)), {"a": ""}, True, id="Exists with empty value"
        ),
        pytest.param(
            LabelSelector((Requirement("a", Operator.DOES_NOT_EXIST),)), {"a": ""}, False, id="DoesNotExist"
        ),
    ],
)
def test_label_selector(selector: LabelSelector, labels: dict[str, str], matches: bool) -> None:
    assert selector.matches(labels) is matches
