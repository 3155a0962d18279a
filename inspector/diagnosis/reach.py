"""Who may reach a Service: the NetworkPolicy verdict for every ready endpoint, from one client.

Why it exists: a Service can be perfect and still receive nothing, because a NetworkPolicy drops
the client's packets, or the client's own egress to the pods or to kube-dns. `reachability` joins
the snapshot (the Service's expected endpoints, its pods, the policies, the namespaces' labels) to
the pure policy verdicts of `inspector.diagnosis.policyverdicts`, so `reach`, `services NAME`, `diff
--from-namespace` and `why` all show the same verdicts. Pure: snapshot in, verdicts out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from inspector.diagnosis import policyverdicts as verdicts
from inspector.diagnosis.endpoints import Endpoint
from inspector.diagnosis.expectations import Expectation, expect
from inspector.diagnosis.policyverdicts import PolicyClient, PolicyVerdict
from inspector.model import netpol
from inspector.model.findings import Finding, finding
from inspector.model.selectors import LabelIndex, LabelSelector, Operator
from inspector.model.snapshot import Pod, Service, Snapshot

DNS_NAMESPACE = "kube-system"
DNS_SERVICE = "kube-dns"


@dataclass(frozen=True, slots=True)
class EndpointReach:
    """One ready endpoint: may the client's packets leave (egress) and enter (ingress)?"""

    endpoint: Endpoint
    ingress: PolicyVerdict
    egress: PolicyVerdict

    @property
    def allowed(self) -> bool:
        return self.ingress.allowed and self.egress.allowed

    @property
    def deciding(self) -> PolicyVerdict:
        """The verdict that denies, or the ingress one when both allow."""
        return self.ingress if not self.ingress.allowed or self.egress.allowed else self.egress


@dataclass(frozen=True, slots=True)
class Reachability:
    service: Service
    client: PolicyClient
    endpoints: tuple[EndpointReach, ...]  # one per ready expected endpoint
    dns: PolicyVerdict | None  # None: no kube-dns pod to judge against
    client_policies: tuple[netpol.PolicyRef, ...]  # the policies selecting the client for egress

    @property
    def denied(self) -> tuple[EndpointReach, ...]:
        return tuple(e for e in self.endpoints if not e.allowed)

    @property
    def reachable(self) -> bool:
        """Every ready endpoint is reachable, and so is kube-dns (when known); none: not reachable."""
        return bool(self.endpoints) and not self.denied and (self.dns is None or self.dns.allowed)


def dns_pods(snapshot: Snapshot, index: LabelIndex | None = None) -> tuple[Pod, ...]:
    """The ready pods behind kube-system/kube-dns (what a pod's DNS packets reach after translation)."""
    svc = snapshot.service(DNS_NAMESPACE, DNS_SERVICE)
    if svc is None:
        return ()
    exp = expect(svc, index or LabelIndex(snapshot.pods))
    return tuple(sorted(exp.ready_pods, key=lambda p: p.name))


class Reasoner:
    """The snapshot indexed once, to judge many Services from one or more clients."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.index = LabelIndex(snapshot.pods)
        self.pods = {(p.namespace, p.name): p for p in snapshot.pods}
        self.namespaces = snapshot.namespace_labels
        # a policy selects pods of its own namespace only: each verdict reads that namespace's
        self.policies: dict[str, tuple[netpol.NetworkPolicy, ...]] = {}
        for policy in snapshot.network_policies:
            self.policies[policy.namespace] = (*self.policies.get(policy.namespace, ()), policy)
        self.dns_pods = dns_pods(snapshot, self.index)
        self._selecting: dict[
            tuple[str, str, tuple[tuple[str, str], ...]], tuple[netpol.NetworkPolicy, ...]
        ] = {}

    def selecting(
        self, namespace: str, labels: Mapping[str, str], direction: str
    ) -> tuple[netpol.NetworkPolicy, ...]:
        """The policies selecting pods with these labels for a direction, matched once per label
        set (the pods of one workload share theirs); the verdicts read only those."""
        key = (direction, namespace, tuple(sorted(labels.items())))
        found = self._selecting.get(key)
        if found is None:
            found = tuple(
                p
                for p in self.policies.get(namespace, ())
                if direction in p.policy_types and p.pod_selector.matches(labels)
            )
            self._selecting[key] = found
        return found

    def dns(self, client: PolicyClient) -> PolicyVerdict | None:
        if not self.dns_pods or client.namespace is None:
            return None
        return verdicts.dns_egress_verdict(
            self.policies.get(client.namespace, ()), client, self.dns_pods, namespaces=self.namespaces
        )

    def reachability(
        self, service: Service, client: PolicyClient, expectation: Expectation | None = None
    ) -> Reachability:
        exp = expectation if expectation is not None else expect(service, self.index)
        egress = (
            () if client.namespace is None else self.selecting(client.namespace, client.labels, netpol.EGRESS)
        )
        unselected: PolicyVerdict | None = None  # no egress policy: one verdict for every destination
        if client.namespace is None:
            unselected = PolicyVerdict(
                True,
                netpol.EGRESS,
                (),
                None,
                f"allowed: {client.describe()} is not a pod: no egress policy applies",
            )
        rows = []
        for ep in exp.endpoints:
            pod = self.pods.get((service.namespace, ep.pod or ""))
            if not ep.ready or pod is None or ep.port is None:
                continue
            if egress or unselected is None:
                egress_verdict = verdicts.egress_verdict(
                    egress, client, pod, ep.port, ep.protocol, namespaces=self.namespaces
                )
                if not egress:
                    unselected = egress_verdict
            else:
                egress_verdict = unselected
            rows.append(
                EndpointReach(
                    ep,
                    verdicts.ingress_verdict(
                        self.selecting(pod.namespace, pod.labels, netpol.INGRESS),
                        pod,
                        client,
                        ep.port,
                        ep.protocol,
                        namespaces=self.namespaces,
                    ),
                    egress_verdict,
                )
            )
        selecting = tuple(sorted(p.ref for p in egress))
        return Reachability(service, client, tuple(rows), self.dns(client), selecting)


def reachability(snapshot: Snapshot, service: Service, client: PolicyClient) -> Reachability:
    """May `client` reach every ready endpoint of `service`, and kube-dns? (The function `why` calls.)"""
    return Reasoner(snapshot).reachability(service, client)


def format_policy_selector(selector: LabelSelector) -> str:
    """kubectl's selector syntax (matchLabels first, as the policy's parsing orders them); `{}` for
    the empty selector, as the policy writes it."""
    parts = []
    for r in selector.requirements:
        values = ",".join(sorted(r.values))
        parts.append(
            {
                Operator.EQUALS: f"{r.key}={values}",
                Operator.NOT_EQUALS: f"{r.key}!={values}",
                Operator.IN: f"{r.key} in ({values})",
                Operator.NOT_IN: f"{r.key} notin ({values})",
                Operator.EXISTS: r.key,
            }.get(r.operator, f"!{r.key}")
        )
    return ",".join(parts) or "{}"


def policies_selecting_no_pods(snapshot: Snapshot) -> list[Finding]:
    """networkpolicy-selects-no-pods: a policy whose podSelector picks no pod of its namespace."""
    label_sets: dict[str, dict[tuple[tuple[str, str], ...], Mapping[str, str]]] = {}
    for p in snapshot.pods:  # each distinct label set once: a workload's pods share theirs
        label_sets.setdefault(p.namespace, {})[tuple(sorted(p.labels.items()))] = p.labels
    return [
        finding(
            "networkpolicy-selects-no-pods",
            policy=str(policy.ref),
            selector=format_policy_selector(policy.pod_selector),
            namespace=policy.namespace,
        )
        for policy in sorted(snapshot.network_policies, key=lambda p: p.ref)
        if not any(
            policy.pod_selector.matches(labels) for labels in label_sets.get(policy.namespace, {}).values()
        )
    ]


def client_findings(
    snapshot: Snapshot,
    services: Iterable[Service],
    client: PolicyClient,
    expectations: Mapping[str, Expectation] | None = None,
) -> tuple[Mapping[str, list[Finding]], list[Finding]]:
    """diff --from-namespace: per Service, networkpolicy-denies-client; for the client,
    networkpolicy-denies-dns-egress and, for every policy read, networkpolicy-selects-no-pods.
    `expectations` (by Service key, from the report) spare computing them again."""
    reasoner = Reasoner(snapshot)
    by_service: dict[str, list[Finding]] = {}
    for svc in services:
        if not svc.selects_pods:
            continue
        reach = reasoner.reachability(svc, client, (expectations or {}).get(svc.key))
        if reach.denied:
            first = reach.denied[0]
            by_service[svc.key] = [
                finding(
                    "networkpolicy-denies-client",
                    client=client.describe(),
                    count=len(reach.denied),
                    total=len(reach.endpoints),
                    reason=first.deciding.message,
                    extra={"pods": sorted({e.endpoint.pod for e in reach.denied if e.endpoint.pod})},
                )
            ]
    cluster: list[Finding] = []
    dns = reasoner.dns(client)
    if dns is not None and not dns.allowed:
        cluster.append(
            finding("networkpolicy-denies-dns-egress", client=client.describe_selected(), reason=dns.message)
        )
    return by_service, cluster + policies_selecting_no_pods(snapshot)
