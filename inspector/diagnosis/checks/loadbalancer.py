"""LoadBalancer Services: a NodePort Service plus an external load balancer, when there is one."""

from __future__ import annotations

from collections.abc import Iterator

from inspector.diagnosis.checks import nodeport
from inspector.diagnosis.checks.facts import ServiceFacts
from inspector.model.findings import Finding, finding


def check_ingress_provisioned(facts: ServiceFacts) -> Iterator[Finding]:
    svc = facts.service
    if svc.load_balancer_ingress:
        return
    ports = [str(sp.node_port) for sp in svc.ports if sp.node_port]
    if ports:
        fallback = f"and, as a NodePort, on each node's port {', '.join(ports)}"
    else:
        fallback = "(no node ports are allocated, so there is no NodePort fallback)"
    yield finding("loadbalancer-pending", fallback=fallback, extra={"nodePorts": ports})


CHECKS = (*nodeport.CHECKS, check_ingress_provisioned)
