"""Waiting until Services are discoverable: every expected endpoint present, nothing stale, and (on
request) every name form answering as it should.

Why it exists: end-to-end suites talk to a Service before its endpoints or DNS records exist and fail
with "connection refused". This module lists once, then follows changes with watches (never a busy
poll), re-evaluating the pure inspection after each burst of events, and survives watches that
close or expire (410 Gone: list again). At the timeout it says what is still missing, in the
inspector's words.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from inspector.errors import BadInput, Forbidden, InspectorError
from inspector.fetching import (
    DEPLOYMENTS,
    ENDPOINTSLICES,
    PODS,
    REPLICASETS,
    SERVICES,
    STATEFULSETS,
    Cluster,
    Resource,
)
from inspector.findings import Severity
from inspector.inspecting import Report, ServiceReport, inspect_snapshot
from inspector.names import validate_name
from inspector.snapshot import (
    JSON,
    Snapshot,
    Workload,
    endpointslice_from_api,
    pod_from_api,
    service_from_api,
    workload_from_api,
)

log = logging.getLogger("inspector.waiting")

WATCHED = (SERVICES, ENDPOINTSLICES, PODS, DEPLOYMENTS, STATEFULSETS)
REQUIRED = (SERVICES, ENDPOINTSLICES, PODS)
# each watch ends after this and is opened again from the last resourceVersion (tests shorten it)
WATCH_SECONDS = int(os.environ.get("INSPECTOR_WATCH_SECONDS", "30"))
SETTLE_S = 0.05  # gather a burst of events before re-evaluating


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
    rolled out: otherwise a scale-up or rollout still changes the endpoints."""
    reasons = [f.message for f in sr.findings if f.severity is Severity.ERROR]
    svc = sr.service
    if svc.type == "ExternalName" or not svc.selector:
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


DNSCheck = Callable[[Report, list[Target]], dict[str, list[str]]]


@dataclass
class WaitResult:
    ok: bool
    report: Report
    drift: dict[str, list[str]]  # target key -> reasons it is not yet discoverable
    elapsed: float
    events: int = 0

    def explain(self) -> str:
        if self.ok:
            return f"discoverable after {self.elapsed:.1f}s: {', '.join(self.drift) or 'all'}"
        lines = [f"not discoverable after {self.elapsed:.1f}s:"]
        for key, reasons in self.drift.items():
            lines += [f"  {key}: {r}" for r in reasons]
        return "\n".join(lines) + "\n\n" + self.report.explain()


@dataclass
class _Store:
    """The objects of one kind in one namespace, as the last list plus the watch events since."""

    resource: Resource
    namespace: str
    objects: dict[str, JSON] = field(default_factory=dict)
    version: str = ""

    def reset(self, items: list[JSON], version: str) -> None:
        self.objects = {_name(o): o for o in items}
        self.version = version

    def apply(self, event: JSON) -> None:
        obj = event.get("object") or {}
        meta = obj.get("metadata") or {}
        if meta.get("resourceVersion"):
            self.version = str(meta["resourceVersion"])
        kind = event.get("type")
        if kind in ("ADDED", "MODIFIED"):
            self.objects[_name(obj)] = obj
        elif kind == "DELETED":
            self.objects.pop(_name(obj), None)


def _name(obj: JSON) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _watch_loop(
    cluster: Cluster, store: _Store, events: queue.Queue[tuple[_Store, Any]], stop: threading.Event
) -> None:
    """Follows one kind in one namespace until `stop`: re-watches when a watch ends, re-lists on 410."""
    version = store.version
    backoff = 0.2
    while not stop.is_set():
        try:
            for event in cluster.watch(store.resource, store.namespace, version, WATCH_SECONDS):
                if stop.is_set():
                    return
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    if status.get("code") == 410:  # expired: list again, watch from the new version
                        items, version = cluster.list_with_version(store.resource, store.namespace)
                        events.put((store, ("RESET", items, version)))
                        break
                    raise InspectorError(str(status.get("message") or "watch error"))
                version = str(
                    ((event.get("object") or {}).get("metadata") or {}).get("resourceVersion") or version
                )
                events.put((store, event))
            backoff = 0.2
        except InspectorError as exc:
            log.info(
                "watch of %s in %s ended (%s); watching again", store.resource.plural, store.namespace, exc
            )
            if stop.wait(backoff):
                return
            backoff = min(backoff * 2, 5.0)


def wait_for(
    cluster: Cluster,
    targets: list[Target],
    timeout: float,
    dns_check: DNSCheck | None = None,
    on_progress: Callable[[WaitResult], None] | None = None,
    endpoints: bool = True,
) -> WaitResult:
    """Blocks until every target is discoverable (ok) or `timeout` seconds have passed (not ok):
    its endpoints (unless `endpoints` is False) and its DNS records (with a `dns_check`)."""
    started = time.monotonic()
    deadline = started + timeout
    namespaces = sorted({t.namespace for t in targets})
    for ns in namespaces:
        cluster.check_namespace(ns)
    stores: dict[tuple[str, str], _Store] = {}
    for resource in WATCHED:
        for ns in namespaces:
            store = _Store(resource, ns)
            try:
                store.reset(*cluster.list_with_version(resource, ns))
            except Forbidden:
                if resource in REQUIRED:
                    raise
                continue  # workloads only sharpen the verdict: without them, endpoints decide alone
            stores[(resource.plural, ns)] = store
    # bare ReplicaSets only explain a Service scaled to zero; they are listed once, not followed
    replica_sets = [
        workload_from_api(o, REPLICASETS.kind)
        for ns in namespaces
        for o in _readable(cluster, REPLICASETS, ns)
    ]

    def evaluate(count: int) -> WaitResult:
        snapshot = Snapshot(
            services=tuple(service_from_api(o) for s in _of(stores, SERVICES) for o in s.objects.values()),
            slices=tuple(
                endpointslice_from_api(o) for s in _of(stores, ENDPOINTSLICES) for o in s.objects.values()
            ),
            pods=tuple(pod_from_api(o) for s in _of(stores, PODS) for o in s.objects.values()),
            workloads=tuple(replica_sets)
            + tuple(
                workload_from_api(o, r.kind)
                for r in (DEPLOYMENTS, STATEFULSETS)
                for s in _of(stores, r)
                for o in s.objects.values()
            ),
            namespaces=tuple(namespaces),
        )
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
        ok = not any(drift.values())
        return WaitResult(ok, report, drift, time.monotonic() - started, count)

    result = evaluate(0)
    if result.ok or timeout <= 0:
        return result
    events: queue.Queue[tuple[_Store, Any]] = queue.Queue()
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_watch_loop,
            args=(cluster, s, events, stop),
            daemon=True,
            name=f"watch-{s.resource.plural}-{s.namespace}",
        )
        for s in stores.values()
    ]
    for t in threads:
        t.start()
    count = 0
    try:
        while True:
            remaining = deadline - time.monotonic()
            # DNS answers change without an API event (CoreDNS syncs on its own): re-check every second
            wait_s = min(remaining, 1.0) if dns_check is not None else remaining
            if remaining <= 0:
                break
            try:
                store, event = events.get(timeout=max(wait_s, 0.01))
            except queue.Empty:
                if dns_check is None:
                    break
            else:
                count += _apply(store, event)
                time.sleep(SETTLE_S)
                while not events.empty():
                    count += _apply(*events.get_nowait())
            result = evaluate(count)
            if on_progress:
                on_progress(result)
            if result.ok:
                return result
    finally:
        stop.set()
    # at the timeout, judge on a fresh list, not on what the watches last said (and if the API
    # server is gone by now, say so: ClusterUnreachable)
    for store in stores.values():
        store.reset(*cluster.list_with_version(store.resource, store.namespace))
    return evaluate(count)


def _apply(store: _Store, event: Any) -> int:
    if isinstance(event, tuple) and event[0] == "RESET":
        store.reset(event[1], event[2])
    else:
        store.apply(event)
    return 1


def _of(stores: dict[tuple[str, str], _Store], resource: Resource) -> list[_Store]:
    return [s for (plural, _), s in stores.items() if plural == resource.plural]


def _readable(cluster: Cluster, resource: Resource, namespace: str) -> list[JSON]:
    try:
        return list(cluster.list_objects(resource, namespace))
    except InspectorError:  # workloads only improve the explanation; lacking them is no failure
        return []
