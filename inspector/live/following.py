"""Following Services live: the report, then a new report after every burst of changes (`-w`).

Why it exists: `services -w`, `endpoints -w` and `diff -w` show drift as it happens, during a
rollout say, the way `kubectl get -w` shows objects. The same list-then-watch machinery as `wait`
keeps the objects (the last list plus the watch events since; a `Reset` after 410 Gone replaces
them) and the same snapshot builder and inspection as every command turn them into a report, so
what `-w` says is what the command would say if run again at that moment.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Generator

from inspector.diagnosis.report import Report, inspect_snapshot
from inspector.errors import Forbidden, NotFound
from inspector.kube.connection import Client
from inspector.kube.listing import list_with_version
from inspector.kube.resources import DEPLOYMENTS, ENDPOINTSLICES, NODES, PODS, SERVICES, STATEFULSETS
from inspector.kube.watching import Stream, Watch
from inspector.live.inspecting import Scope
from inspector.live.reading import check_namespace
from inspector.live.waiting import SETTLE_S, _Store
from inspector.model.building import SnapshotBuilder
from inspector.model.snapshot import Service
from inspector.settings import WATCH_SECONDS

FOLLOWED = (SERVICES, ENDPOINTSLICES, PODS, NODES, DEPLOYMENTS, STATEFULSETS)
REQUIRED = (SERVICES, ENDPOINTSLICES, PODS)


def follow(client: Client, scope: Scope, watch_seconds: int = WATCH_SECONDS) -> Generator[Report, None, None]:
    """The report of the Services in scope, then one after every burst of watch events, until the
    caller stops asking (or Ctrl-C). The watches are stopped when the generator is closed; each lasts
    `watch_seconds` (the settings' INSPECTOR_WATCH_SECONDS)."""
    namespace = scope.namespace_in(client)
    if namespace is not None:
        check_namespace(client, namespace)
    stores: dict[Stream, _Store] = {}
    for resource in FOLLOWED:
        where = namespace if resource.namespaced else None
        store = _Store(resource.kind)
        try:
            store.reset(*list_with_version(client, resource, where))
        except (Forbidden, NotFound):
            if resource in REQUIRED:
                raise
            continue  # nodes and workloads only sharpen the findings
        stores[Stream(resource, where or "")] = store
    include: Callable[[Service], bool] | None = scope.includes if scope.filtered else None

    def report() -> Report:
        builder = SnapshotBuilder()
        for stream, store in stores.items():
            kind = stream.resource.kind  # the items of a LIST carry none
            builder.add(o if "kind" in o else {**o, "kind": kind} for o in store.objects.values())
        return inspect_snapshot(builder.build(None if namespace is None else (namespace,)), include)

    first = report()
    if scope.name is not None and not first.services:
        where = f'namespace "{namespace}"' if namespace else "any namespace"
        raise NotFound(f'service "{scope.name}" not found in {where}')
    yield first
    with Watch(client, watch_seconds) as watch:
        for stream, store in stores.items():
            watch.follow(stream, store.version)
        while True:
            stream, event = watch.events.get()
            stores[stream].apply(event)
            time.sleep(SETTLE_S)  # gather the burst: one report for the changes of one moment
            while True:
                try:
                    stream, event = watch.events.get_nowait()
                except queue.Empty:
                    break
                stores[stream].apply(event)
            yield report()
