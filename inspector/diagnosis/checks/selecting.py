"""Checks shared by every Service type that selects pods: selection, readiness, ports, endpoints."""

from __future__ import annotations

from collections.abc import Iterator

from inspector.diagnosis.checks.facts import ServiceFacts
from inspector.diagnosis.endpoints import Endpoint
from inspector.model.findings import Finding, finding
from inspector.model.selectors import format_selector
from inspector.model.snapshot import Pod

MAX_LISTED = 5


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def _addresses(endpoints: tuple[Endpoint, ...]) -> str:
    return _listed([e.address + (f" ({e.pod})" if e.pod else "") for e in endpoints])


def check_selector_matches_pods(facts: ServiceFacts) -> Iterator[Finding]:
    svc = facts.service
    if not svc.selector or facts.expectation.selected:
        return
    selector = format_selector(svc.selector)
    if facts.scaled_to_zero:
        names = [f"{w.kind} {w.name}" for w in facts.scaled_to_zero]
        yield finding("selector-matches-scaled-to-zero", selector=selector, workloads=_listed(names))
        return
    closest = ""
    near = [
        {
            "pod": m.pod.name,
            "missing": dict(m.missing),
            "different": {k: {"want": w, "have": a} for k, w, a in m.different},
        }
        for m in facts.near_misses
    ]
    if facts.near_misses:
        # pods of one workload differ the same way: say it once for all of them
        groups: dict[str, list[str]] = {}
        for m in facts.near_misses:
            groups.setdefault(m.describe(), []).append(m.pod.name)
        closest = "; closest: " + "; ".join(
            f"pod{'s' if len(pods) > 1 else ''} {_listed(pods)}: {why}" for why, pods in groups.items()
        )
    yield finding(
        "selector-matches-no-pods",
        selector=selector,
        namespace=svc.namespace,
        closest=closest,
        extra={"closestPods": near},
    )


def check_ready_endpoints(facts: ServiceFacts) -> Iterator[Finding]:
    exp = facts.expectation
    if not exp.eligible and not exp.selected:
        return
    if facts.service.publish_not_ready_addresses:
        return
    if not exp.ready_pods:
        pods = _listed(
            [f"{p.name}: {'terminating' if p.terminating else p.phase + ', not ready'}" for p in exp.selected]
        )
        yield finding("no-ready-endpoints", selected=len(exp.selected), pods=pods)


def pod_not_ready_reason(pod: Pod) -> str:
    """Why a pod is not ready, in a few words, from its status."""
    if pod.troubles:
        return "; ".join(pod.troubles)
    return f"{pod.phase}, not ready"


def check_pods_ready(facts: ServiceFacts) -> Iterator[Finding]:
    """Each selected pod that is not ready, and why (terminating and finished pods are on their way out)."""
    for pod in facts.expectation.selected:
        if pod.ready or pod.terminating or pod.terminal:
            continue
        event = facts.last_probe_failure(pod)
        probe = ""
        if event is not None:
            probe = f"; last probe failure: {event.message!r}" + (
                f" ({event.count}x)" if event.count > 1 else ""
            )
        found = finding(
            "pod-not-ready",
            pod=pod.name,
            reason=pod_not_ready_reason(pod),
            restarts=pod.restarts,
            probe=probe,
            extra={"lastProbeFailure": event.message if event else None, "troubles": list(pod.troubles)},
        )
        details = {k: v for k, v in found.details.items() if k != "probe"}
        yield Finding(found.code, found.severity, found.message, details)


def check_target_ports(facts: ServiceFacts) -> Iterator[Finding]:
    for res in facts.expectation.resolutions:
        sp = res.service_port
        port = sp.name or str(sp.port)
        if not res.resolved:
            yield finding(
                "target-port-unresolved", port=port, target=sp.target, protocol=sp.protocol, pod=res.pod.name
            )
        elif not res.declared:
            yield finding(
                "target-port-not-declared",
                port=port,
                target=sp.target,
                protocol=sp.protocol,
                pod=res.pod.name,
            )


def check_endpoints_match(facts: ServiceFacts) -> Iterator[Finding]:
    if facts.missing:
        yield finding(
            "endpoints-missing",
            count=len(facts.missing),
            endpoints=_addresses(facts.missing),
            extra={"endpoints": tuple(facts.missing)},
        )
    if facts.unexpected and facts.service.selector:
        slices = sorted({e.slice for e in facts.unexpected if e.slice})
        yield finding(
            "endpoints-unexpected",
            count=len(facts.unexpected),
            slices=_listed(slices),
            endpoints=_addresses(facts.unexpected),
            extra={"endpoints": tuple(facts.unexpected)},
        )
    if facts.conditions_differ:
        yield finding(
            "endpoint-conditions-differ",
            count=len(facts.conditions_differ),
            endpoints=_listed(
                [
                    f"{a.address} ready={str(a.ready).lower()}, pod says {str(e.ready).lower()}"
                    for e, a in facts.conditions_differ
                ]
            ),
        )


def check_selectorless_has_endpoints(facts: ServiceFacts) -> Iterator[Finding]:
    if not facts.service.selector and not any(s.endpoints for s in facts.slices):
        yield finding("selectorless-no-endpoints")


CHECKS = (
    check_selector_matches_pods,
    check_ready_endpoints,
    check_pods_ready,
    check_target_ports,
    check_endpoints_match,
    check_selectorless_has_endpoints,
)
