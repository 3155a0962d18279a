"""`serve --contexts a,b` / `--all-contexts`: one serve process watching several clusters, each
context's watcher in a thread of its own, what they keep published together as one frozen
`FleetServed`.

Why it exists: a fleet's users ask to watch many clusters from one place. Each context runs the very
run of one cluster (`serving.serve`: list, watch, judge again what a change touches, `--dns`,
`--events`) on a connection of its own (`Fleet.connect`: its own credentials, pool and default
namespace), and publishes into its own slot; every slot's change publishes the whole fleet again,
swapped whole, so the HTTP side never reads half of one. Nothing else is shared between contexts.

One cluster's trouble never stops the others. A context whose API server goes away is the watcher's
own affair, as with one cluster: its watches are interrupted and retried, its last report stays,
not ready. A context whose first list fails (unreachable, forbidden, its namespace missing), or
whose watch ends for good (401, 403), is told on stderr naming it, kept not ready (its last report,
if it had one, stays), and started again on a fresh connection every RETRY_S: the others serve on.
A bug of ours in one context stops every context and is raised.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from inspector.errors import InspectorError
from inspector.live.asking import DNSOptions
from inspector.live.fleet import Fleet
from inspector.live.informing import Notify
from inspector.live.inspecting import Scope
from inspector.live.serving import Served, serve
from inspector.settings import WATCH_SECONDS

log = logging.getLogger("inspector.serving")

RETRY_S = 10.0  # a context whose first list failed, or whose watch ended for good, is tried again after this


@dataclass(frozen=True, slots=True)
class ContextServed:
    """One context of the fleet: what its watcher published last (None before its first list is
    in), and why its watcher is not running now ("" while it runs)."""

    context: str
    served: Served | None = None
    failure: str = ""  # its first list failed, or a watch ended for good: tried again every RETRY_S

    @property
    def ready(self) -> bool:
        """As one cluster's serve is ready: its first list is in and every watch follows."""
        return not self.failure and self.served is not None and self.served.ready

    @property
    def not_ready(self) -> str:
        """Why it is not ready, in words ("" when it is)."""
        if self.failure:
            return f"{self.failure} (trying again every {RETRY_S:g}s)"
        if self.served is None:
            return "the first list is not in yet"
        if not self.served.ready:
            why = self.served.interrupted
            return f"a watch is interrupted: {why}" if why else "a watch is interrupted"
        return ""


@dataclass(frozen=True, slots=True)
class FleetServed:
    """What a fleet's serve shows now: every context, in the order named."""

    contexts: tuple[ContextServed, ...]

    @property
    def ready(self) -> bool:
        """Every context is ready (/readyz 200)."""
        return all(c.ready for c in self.contexts)


class _Slots:
    """Each context's last `ContextServed`, the fleet published whole at each change. A context's
    watch restarts are kept across its watcher's starts (a counter never goes back), and starting
    its watcher again (a fresh list of every kind) counts as one restart of each kind."""

    def __init__(self, contexts: Sequence[str], publish: Callable[[FleetServed], None]) -> None:
        self._order = tuple(contexts)
        self._now = {c: ContextServed(c) for c in self._order}
        self._before: dict[str, dict[str, int]] = {}  # by context: restarts of its earlier watchers
        self._publish = publish
        self._lock = threading.Lock()
        self._show()

    def served(self, context: str, served: Served) -> None:
        with self._lock:
            before = self._before.get(context)
            if before:
                restarts = {k: n + before.get(k, 0) for k, n in served.restarts.items()}
                served = dataclasses.replace(served, restarts=restarts)
            self._now[context] = ContextServed(context, served)
            self._show()

    def failed(self, context: str, why: str) -> None:
        with self._lock:
            last = self._now[context].served
            if last is not None:
                self._before[context] = {k: n + 1 for k, n in last.restarts.items()}
                last = dataclasses.replace(last, ready=False, restarts=self._before[context])
            self._now[context] = ContextServed(context, last, why)
            self._show()

    def _show(self) -> None:
        self._publish(FleetServed(tuple(self._now[c] for c in self._order)))


def serve_fleet(
    fleet: Fleet,
    scope: Scope,
    publish: Callable[[FleetServed], None],
    stop: threading.Event,
    *,
    watch_seconds: int = WATCH_SECONDS,
    notify: Notify | None = None,
    dns: Mapping[str, DNSOptions] | None = None,
    events: bool = False,
) -> None:
    """Publishes the fleet (every context not in yet), then runs `serve` for every context in a
    thread of its own, each publishing into its slot, until `stop` is set; returns once every
    context's watches are stopped and their threads joined. `dns`: each context's DNS options (None:
    no --dns). Raises a bug of ours, after stopping every context."""
    tell: Notify = notify or (lambda line: log.warning("%s", line))
    slots = _Slots(fleet.contexts, publish)
    crashed: list[BaseException] = []

    def follow(context: str) -> None:
        told = ""  # the failure told last: a context failing the same way is told once

        def said(line: str) -> None:
            tell(f'context "{context}": {line}')

        def served(one: Served) -> None:
            nonlocal told
            if told:
                said("serving again")
                told = ""
            slots.served(context, one)

        while not stop.is_set():
            try:
                with fleet.connect(context) as client:
                    serve(
                        client,
                        scope,
                        served,
                        stop,
                        watch_seconds=watch_seconds,
                        notify=said,
                        dns=None if dns is None else dns.get(context),
                        events=events,
                    )
                return
            except InspectorError as exc:
                slots.failed(context, str(exc))
                if str(exc) != told:
                    tell(f'error: context "{context}": {exc}; trying again every {RETRY_S:g}s')
                    told = str(exc)
                stop.wait(RETRY_S)
            except BaseException as exc:  # a bug of ours: every context stops, and it is raised
                crashed.append(exc)
                stop.set()
                return

    threads = [
        threading.Thread(target=follow, args=(context,), name=f"serve-context-{context}")
        for context in fleet.contexts
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:  # Ctrl-C here: every context stopped and joined before it goes on
        stop.set()
        for thread in threads:
            thread.join()
    if crashed:
        raise crashed[0]


__all__ = ["RETRY_S", "ContextServed", "FleetServed", "serve_fleet"]
