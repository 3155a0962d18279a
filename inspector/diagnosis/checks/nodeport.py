"""NodePort Services: a ClusterIP Service plus a port on every node."""

from __future__ import annotations

from collections.abc import Iterator

from inspector.diagnosis.checks import clusterip
from inspector.diagnosis.checks.facts import ServiceFacts
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
    """externalTrafficPolicy Local: a node without a ready local endpoint drops external traffic."""
    if facts.service.external_traffic_policy != "Local" or not facts.nodes:
        return
    with_endpoint = {p.node for p in facts.expectation.ready_pods}
    without = sorted(n.name for n in facts.nodes if n.name not in with_endpoint)
    if without:
        yield finding(
            "local-policy-nodes-without-endpoints",
            count=len(without),
            nodes=", ".join(without),
            extra={"nodeList": without},
        )


CHECKS = (*clusterip.CHECKS, check_node_ports_allocated, check_local_policy_nodes)
