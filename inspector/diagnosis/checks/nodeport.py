"""NodePort Services: a ClusterIP Service plus a port on every node."""

from __future__ import annotations

from collections.abc import Iterator

from inspector.diagnosis.checks import clusterip
from inspector.diagnosis.checks.facts import ServiceFacts
from inspector.diagnosis.nodetraffic import (
    Destination,
    Policies,
    ProxyAction,
    Source,
    families,
    proxy_endpoints,
    route,
)
from inspector.model.findings import Finding, finding
from inspector.model.snapshot import ServiceType


def check_node_ports_allocated(facts: ServiceFacts) -> Iterator[Finding]:
    svc = facts.service
    if svc.type is ServiceType.LOAD_BALANCER and not svc.allocate_load_balancer_node_ports:
        return  # allocateLoadBalancerNodePorts: false asks for none: the load balancer reaches pods directly
    for sp in svc.ports:
        if not sp.node_port:
            yield finding("nodeport-missing", port=sp.name or str(sp.port), type=facts.service.type.value)


def check_local_policy_nodes(facts: ServiceFacts) -> Iterator[Finding]:
    """externalTrafficPolicy Local: a node without a usable local endpoint drops external traffic
    (the node model says which, from the slices kube-proxy reads: a serving, terminating local
    endpoint still takes it when none is ready)."""
    svc = facts.service
    if svc.external_traffic_policy != "Local" or not facts.nodes:
        return
    dropping: set[str] = set()
    for sp, family in ((sp, f) for sp in svc.ports for f in families(svc)):
        policies = Policies.of(svc, sp)
        if not policies.externally_accessible:
            continue
        endpoints = proxy_endpoints(facts.slices, sp, family)
        for n in facts.nodes:
            verdict = route(endpoints, policies, n.name, n.zone, Destination.NODE_PORT, Source.EXTERNAL)
            if verdict.action is ProxyAction.DROP:  # REJECT, no endpoint anywhere, is no-ready-endpoints'
                dropping.add(n.name)
    without = sorted(dropping)
    if without:
        yield finding(
            "local-policy-nodes-without-endpoints",
            count=len(without),
            nodes=", ".join(without),
            extra={"nodeList": without},
        )


CHECKS = (*clusterip.CHECKS, check_node_ports_allocated, check_local_policy_nodes)
