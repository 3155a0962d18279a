"""LoadBalancer Services: a NodePort Service plus an external load balancer, when there is one."""

from __future__ import annotations

from collections.abc import Iterator

from inspector.checks import nodeport
from inspector.checks.facts import ServiceFacts
from inspector.findings import Finding, finding


def check_ingress_provisioned(facts: ServiceFacts) -> Iterator[Finding]:
    if not facts.service.load_balancer_ingress:
        ports = (
            ", ".join(str(sp.node_port) for sp in facts.service.ports if sp.node_port) or "(none allocated)"
        )
        yield finding("loadbalancer-pending", node_ports=ports)


CHECKS = (*nodeport.CHECKS, check_ingress_provisioned)
