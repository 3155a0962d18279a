"""Checks: small named functions, one module per Service type, each emitting catalogue codes.

Why it exists: popeye's lesson. A check reads only the facts gathered for one Service (its
expectation, its actual endpoints and the diff between them) and says what is wrong; the catalogue
says how serious that is. `CHECKS_BY_TYPE` is the one place that decides which checks a type runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from inspector.checks import clusterip, externalname, loadbalancer, nodeport
from inspector.checks.facts import ServiceFacts
from inspector.findings import Finding

Check = Callable[[ServiceFacts], Iterable[Finding]]

CHECKS_BY_TYPE: dict[str, tuple[Check, ...]] = {
    "ClusterIP": clusterip.CHECKS,  # headless Services too: clusterIP None changes DNS, not endpoints
    "NodePort": nodeport.CHECKS,
    "LoadBalancer": loadbalancer.CHECKS,
    "ExternalName": externalname.CHECKS,
}


def run_checks(facts: ServiceFacts) -> list[Finding]:
    checks = CHECKS_BY_TYPE.get(facts.service.type, clusterip.CHECKS)
    return [f for check in checks for f in check(facts)]


__all__ = ["CHECKS_BY_TYPE", "Check", "ServiceFacts", "run_checks"]
