"""The verdict of `wait` and `assert_discoverable`: is a Service discoverable yet, and if not, why.

Why it exists: end-to-end suites talk to a Service before its endpoints or DNS records exist and fail
with "connection refused". Whether to keep waiting is a pure judgement over a report: every expected
endpoint present, nothing stale still receiving traffic, the workloads whose pods the Service selects
rolled out, and (on request) every DNS name answering as it should. How the snapshots are kept up to
date (lists and watches) is `inspector.live.waiting`'s business, not this module's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from inspector.diagnosis.report import Report, ServiceReport, inspect_snapshot
from inspector.errors import BadInput
from inspector.model.findings import Severity
from inspector.model.names import validate_name
from inspector.model.snapshot import Snapshot, Workload


@dataclass(frozen=True, slots=True)
class Target:
    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def parse_targets(names: Iterable[str], default_namespace: str) -> list[Target]:
    """`name` (in the default namespace) or `namespace/name`."""
    out = []
    for raw in names:
        namespace, slash, name = raw.rpartition("/")
        if slash and not namespace:
            raise BadInput(f"invalid Service {raw!r}: write NAME or NAMESPACE/NAME")
        out.append(
            Target(
                validate_name(namespace or default_namespace, "namespace"),
                validate_name(name, "Service name"),
            )
        )
    if not out:
        raise BadInput("name at least one Service to wait for")
    return out


def endpoint_drift(sr: ServiceReport, workloads: Iterable[Workload] = ()) -> list[str]:
    """Why a Service's endpoints are not (yet) what they should be; empty when they are.

    Besides the slices matching the pods, the workloads whose pods the Service selects must have
    rolled out: otherwise a scale-up or rollout still changes the endpoints. A Service not yet
    discoverable is explained with the evidence `diff` gives: each selected pod that is not ready,
    with its container states and its last failed probe."""
    reasons = _drift(sr, workloads)
    if reasons:
        reasons += [f.message for f in sr.findings if f.code == "pod-not-ready"]
    return reasons


def _drift(sr: ServiceReport, workloads: Iterable[Workload]) -> list[str]:
    reasons = [f.message for f in sr.findings if f.severity is Severity.ERROR]
    svc = sr.service
    if not svc.selects_pods or svc.selector is None:
        return reasons
    selector = svc.selector
    for w in workloads:
        if (
            w.namespace == svc.namespace
            and not w.owned
            and all(w.template_labels.get(k) == v for k, v in selector.items())
            and not w.rolled_out
        ):
            reasons.append(
                f"{w.kind} {w.name} is still rolling out: {w.ready_replicas} of {w.replicas} replica(s) ready"
            )
    stale = [e for e in sr.facts.unexpected if e.ready]
    if stale:
        reasons.append(
            f"{len(stale)} endpoint(s) not (or no longer) explained by a selected pod still "
            f"receive traffic: {', '.join(e.address for e in stale[:5])}"
        )
    if sr.facts.conditions_differ:
        reasons.append(
            f"{len(sr.facts.conditions_differ)} endpoint(s) whose readiness has not caught up with their pod"
        )
    if not any(e.ready for e in sr.actual) and not reasons:
        reasons.append("no ready endpoint yet")
    return reasons


# A Service's DNS drift: target key -> why its names do not answer as they should (yet)
DNSCheck = Callable[[Report, list[Target]], dict[str, list[str]]]


@dataclass(frozen=True, slots=True)
class WaitResult:
    ok: bool
    report: Report
    drift: dict[str, list[str]]  # target key -> reasons it is not yet discoverable
    elapsed: float
    events: int = 0


def verdict(
    snapshot: Snapshot,
    targets: list[Target],
    elapsed: float,
    events: int = 0,
    *,
    endpoints: bool = True,
    dns_check: DNSCheck | None = None,
) -> WaitResult:
    """Whether every target is discoverable in `snapshot`: its endpoints (unless `endpoints` is
    False) and, once those are, its DNS records (with a `dns_check`)."""
    wanted = {(t.namespace, t.name) for t in targets}
    report = inspect_snapshot(snapshot, lambda svc: (svc.namespace, svc.name) in wanted)
    drift: dict[str, list[str]] = {}
    for t in targets:
        sr = report.service(t.namespace, t.name)
        if sr is None:
            drift[t.key] = [f"Service {t.key} does not exist (yet)"]
        else:
            drift[t.key] = endpoint_drift(sr, snapshot.workloads) if endpoints else []
    if dns_check is not None and not any(drift.values()):
        for key, reasons in dns_check(report, targets).items():
            drift[key] += reasons
    return WaitResult(not any(drift.values()), report, drift, elapsed, events)
