"""Checks: small named functions, one module per Service type, each emitting catalogue codes.

Why it exists: popeye's lesson. A check reads only the facts gathered for one Service (`ServiceFacts`:
its expectation, its actual endpoints and the diff between them) and says what is wrong; the
catalogue says how serious that is. `CHECKS_BY_TYPE` is the one place that decides which checks a
type runs.

The facts (`facts.py`); checks every Service with a selector runs (`selecting.py`), ClusterIP
(`clusterip.py`), NodePort (`nodeport.py`), LoadBalancer (`loadbalancer.py`), ExternalName
(`externalname.py`), what kube-proxy does per node and zone (`trafficpolicy.py`: traffic
policies, topology, session affinity), and the names Services and pods are given (`naming.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from inspector.diagnosis.checks import clusterip, externalname, loadbalancer, nodeport
from inspector.diagnosis.checks.facts import ServiceFacts
from inspector.model.findings import Finding
from inspector.model.snapshot import ServiceType

Check = Callable[[ServiceFacts], Iterable[Finding]]

CHECKS_BY_TYPE: dict[ServiceType, tuple[Check, ...]] = {
    ServiceType.CLUSTER_IP: clusterip.CHECKS,  # headless too: clusterIP None changes DNS, not endpoints
    ServiceType.NODE_PORT: nodeport.CHECKS,
    ServiceType.LOAD_BALANCER: loadbalancer.CHECKS,
    ServiceType.EXTERNAL_NAME: externalname.CHECKS,
}


def run_checks(facts: ServiceFacts) -> list[Finding]:
    checks = CHECKS_BY_TYPE[facts.service.type]
    return [f for check in checks for f in check(facts)]


__all__ = ["CHECKS_BY_TYPE", "Check", "ServiceFacts", "run_checks"]
