"""Waiting until Services are discoverable: list once, then follow changes with watches.

Why it exists: `wait`, `assert_discoverable` and `discoverable()` block until the verdict
(`inspector.diagnosis.readiness`) says yes, or a timeout. The objects of each kind and namespace are
kept as the last list plus the watch events since (a `Reset` replaces them), and after each burst of
events the snapshot for the verdict is assembled again; never a busy poll. Each object goes through
the same snapshot builder as every command's once, when it arrives, and is kept built: a burst of
events costs the objects it changed, not every pod of the namespace (at 1,000 pods a namespace,
rebuilding them all took 0.16-0.67 s per burst on a busy machine, most of `wait`'s reaction time).
At the timeout the verdict is taken on a fresh list. Every watch is stopped, and its thread joined,
before this returns.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field

from inspector.diagnosis.readiness import DNSCheck, Target, WaitResult, verdict
from inspector.errors import Forbidden
from inspector.kube.connection import Client
from inspector.kube.listing import list_with_version
from inspector.kube.resources import (
    DEPLOYMENTS,
    ENDPOINTSLICES,
    JSON,
    PODS,
    REPLICASETS,
    SERVICES,
    STATEFULSETS,
)
from inspector.kube.watching import Event, Reset, Stream, Watch
from inspector.live.reading import check_namespace, readable
from inspector.model.building import SnapshotBuilder
from inspector.model.snapshot import Snapshot
from inspector.settings import WATCH_SECONDS

WATCHED = (SERVICES, ENDPOINTSLICES, PODS, DEPLOYMENTS, STATEFULSETS)
REQUIRED = (SERVICES, ENDPOINTSLICES, PODS)
SETTLE_S = 0.05  # gather a burst of events before re-evaluating


@dataclass
class _Store:
    """The objects of one kind in one namespace: the last list plus the watch events since, each
    kept as read and as built (a one-object snapshot holding its dataclass)."""

    kind: str
    objects: dict[str, JSON] = field(default_factory=dict)
    built: dict[str, Snapshot] = field(default_factory=dict)
    version: str = ""

    def reset(self, items: list[JSON], version: str) -> None:
        self.objects = {_name(o): o for o in items}
        self.built = {name: self._build(o) for name, o in self.objects.items()}
        self.version = version

    def apply(self, event: Event) -> None:
        if isinstance(event, Reset):
            self.reset(event.items, event.version)
        elif event.type in ("ADDED", "MODIFIED"):
            name = _name(event.object)
            self.objects[name] = event.object
            self.built[name] = self._build(event.object)
        elif event.type == "DELETED":
            self.objects.pop(_name(event.object), None)
            self.built.pop(_name(event.object), None)

    def _build(self, obj: JSON) -> Snapshot:
        return SnapshotBuilder().add([obj if "kind" in obj else {**obj, "kind": self.kind}]).build()


def _name(obj: JSON) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def wait_for(
    client: Client,
    targets: list[Target],
    timeout: float,
    dns_check: DNSCheck | None = None,
    endpoints: bool = True,
    watch_seconds: int = WATCH_SECONDS,
) -> WaitResult:
    """Blocks until every target is discoverable (ok) or `timeout` seconds have passed (not ok):
    its endpoints (unless `endpoints` is False) and its DNS records (with a `dns_check`). Each watch
    lasts `watch_seconds` (the settings' INSPECTOR_WATCH_SECONDS)."""
    seconds = watch_seconds
    started = time.monotonic()
    deadline = started + timeout
    namespaces = sorted({t.namespace for t in targets})
    for ns in namespaces:
        check_namespace(client, ns)
    stores: dict[Stream, _Store] = {}
    for resource in WATCHED:
        for ns in namespaces:
            store = _Store(resource.kind)
            try:
                store.reset(*list_with_version(client, resource, ns))
            except Forbidden:
                if resource in REQUIRED:
                    raise
                continue  # workloads only sharpen the verdict: without them, endpoints decide alone
            stores[Stream(resource, ns)] = store
    # bare ReplicaSets only explain a Service scaled to zero; they are listed once, not followed
    replica_sets = [o for ns in namespaces for o in readable(client, REPLICASETS, ns)]

    bare = SnapshotBuilder().add(replica_sets).build()

    def snapshot() -> Snapshot:
        parts = [bare, *(one for store in stores.values() for one in store.built.values())]
        return Snapshot(
            services=tuple(o for part in parts for o in part.services),
            slices=tuple(o for part in parts for o in part.slices),
            pods=tuple(o for part in parts for o in part.pods),
            nodes=(),
            workloads=tuple(o for part in parts for o in part.workloads),
            namespaces=tuple(namespaces),
        )

    def evaluate(count: int) -> WaitResult:
        return verdict(
            snapshot(),
            targets,
            time.monotonic() - started,
            count,
            endpoints=endpoints,
            dns_check=dns_check,
        )

    result = evaluate(0)
    if result.ok or timeout <= 0:
        return result
    count = 0
    with Watch(client, seconds) as watch:
        for stream, store in stores.items():
            watch.follow(stream, store.version)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # DNS answers change without an API event (CoreDNS syncs on its own): re-check every second
            wait_s = min(remaining, 1.0) if dns_check is not None else remaining
            try:
                stream, event = watch.events.get(timeout=max(wait_s, 0.01))
            except queue.Empty:
                if dns_check is None:
                    break
            else:
                stores[stream].apply(event)
                count += 1
                time.sleep(SETTLE_S)
                while not watch.events.empty():
                    stream, event = watch.events.get_nowait()
                    stores[stream].apply(event)
                    count += 1
            result = evaluate(count)
            if result.ok:
                return result
    # at the timeout, judge on a fresh list, not on what the watches last said (and if the API
    # server is gone by now, say so: ClusterUnreachable)
    for stream, store in stores.items():
        store.reset(*list_with_version(client, stream.resource, stream.namespace))
    return evaluate(count)
