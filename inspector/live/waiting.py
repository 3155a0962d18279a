"""Waiting until Services are discoverable: the one watcher (`informing`) listing once, then
following changes; the verdict (`inspector.diagnosis.readiness`) after each burst.

Why it exists: `wait`, `assert_discoverable` and `discoverable()` block until the verdict says yes,
or a timeout; never a busy poll. The pods' failed-probe events are followed with the rest, so a
Service that is not discoverable is explained with the same evidence `diff` gives. At the timeout
the verdict is taken on a fresh list. Every watch is stopped, and its thread joined, before this
returns.
"""

from __future__ import annotations

import time

from inspector.diagnosis.readiness import DNSCheck, Target, WaitResult, verdict
from inspector.kube.connection import Client
from inspector.kube.resources import (
    DEPLOYMENTS,
    ENDPOINTSLICES,
    EVENTS,
    PODS,
    REPLICASETS,
    SERVICES,
    STATEFULSETS,
)
from inspector.live.informing import Informer, Notify, stream
from inspector.live.reading import check_namespace, readable
from inspector.model.building import SnapshotBuilder
from inspector.settings import WATCH_SECONDS

WATCHED = (SERVICES, ENDPOINTSLICES, PODS, DEPLOYMENTS, STATEFULSETS, EVENTS)


def wait_for(
    client: Client,
    targets: list[Target],
    timeout: float,
    dns_check: DNSCheck | None = None,
    endpoints: bool = True,
    *,
    watch_seconds: int = WATCH_SECONDS,
    notify: Notify | None = None,
) -> WaitResult:
    """Blocks until every target is discoverable (ok) or `timeout` seconds have passed (not ok):
    its endpoints (unless `endpoints` is False) and its DNS records (with a `dns_check`). While the
    API server is away the watches are retried (`notify` is told, after a while, and when it is
    back); the timeout still ends the wait."""
    started = time.monotonic()
    deadline = started + timeout
    namespaces = sorted({t.namespace for t in targets})
    for ns in namespaces:
        check_namespace(client, ns)
    followed = [stream(r, ns) for r in WATCHED for ns in namespaces]
    informer = Informer(client, followed, watch_seconds, notify)
    informer.load()
    # bare ReplicaSets only explain a Service scaled to zero; they are listed once, not followed
    notes: list[str] = []
    scaled = "a Service whose pods are scaled to zero on purpose is reported as an error"
    replica_sets = [o for ns in namespaces for o in readable(client, REPLICASETS, ns, notes, scaled)]
    bare = SnapshotBuilder().add(replica_sets).build(notes=notes)

    def evaluate(count: int) -> WaitResult:
        return verdict(
            informer.snapshot(tuple(namespaces), [bare]),
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
    with informer:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # DNS answers change without an API event (CoreDNS syncs on its own): re-check every second
            got = informer.burst(min(remaining, 1.0) if dns_check is not None else remaining)
            if not got and dns_check is None:
                break
            count += got
            result = evaluate(count)
            if result.ok:
                return result
    # at the timeout, judge on a fresh list, not on what the watches last said (and if the API
    # server is gone by now, say so: ClusterUnreachable)
    informer.relist()
    return evaluate(count)
