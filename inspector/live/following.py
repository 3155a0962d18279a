"""Following Services live: the report, then a new report after every burst of changes (`-w`).

Why it exists: `services -w`, `endpoints -w` and `diff -w` show drift as it happens, during a
rollout say, the way `kubectl get -w` shows objects. The one watcher (`informing`, as `wait` uses it)
keeps the objects and tells interruptions of the API server, and the same inspection as every command
turns them into a report, so what `-w` says is what the command would say if run again at that moment
(the pods' failed-probe events included, as `diff` reads them).
"""

from __future__ import annotations

from collections.abc import Callable, Generator

from inspector.diagnosis.report import Report, inspect_snapshot
from inspector.errors import NotFound
from inspector.kube.connection import Client
from inspector.kube.resources import DEPLOYMENTS, ENDPOINTSLICES, EVENTS, NODES, PODS, SERVICES, STATEFULSETS
from inspector.live.informing import Informer, Notify, stream
from inspector.live.inspecting import Scope
from inspector.live.reading import check_namespace
from inspector.model.snapshot import Service
from inspector.settings import WATCH_SECONDS

FOLLOWED = (SERVICES, ENDPOINTSLICES, PODS, NODES, DEPLOYMENTS, STATEFULSETS, EVENTS)


def follow(
    client: Client, scope: Scope, *, watch_seconds: int = WATCH_SECONDS, notify: Notify | None = None
) -> Generator[Report, None, None]:
    """The report of the Services in scope, then one after every burst of watch events, until the
    caller stops asking (or Ctrl-C); `notify` hears of the API server going away and coming back.
    The watches are stopped when the generator is closed."""
    namespace = scope.namespace_in(client)
    if namespace is not None:
        check_namespace(client, namespace)
    informer = Informer(client, [stream(r, namespace) for r in FOLLOWED], watch_seconds, notify)
    informer.load()
    include: Callable[[Service], bool] | None = scope.includes if scope.filtered else None

    def report() -> Report:
        return inspect_snapshot(informer.snapshot(None if namespace is None else (namespace,)), include)

    first = report()
    if scope.name is not None and not first.services:
        where = f'namespace "{namespace}"' if namespace else "any namespace"
        raise NotFound(f'service "{scope.name}" not found in {where}')
    yield first
    with informer:
        while True:
            informer.burst()
            yield report()
