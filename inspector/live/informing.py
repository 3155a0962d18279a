"""The one watcher: the objects of some kinds, listed once and then kept by watches, and the bursts
of changes that `-w` (`following`), `wait` (`waiting`) and the coming `serve` act upon.

Why it exists: every command that follows the cluster keeps the same thing, an informer in
client-go's words: per kind and namespace a `Store` holding the last list plus the watch events
since, each object built once, when it arrives, by the same snapshot builder as every command's (a
burst of events costs the objects it changed, not every pod of the namespace: at 1,000 pods a
namespace, rebuilding them all took 0.16-0.67 s per burst on a busy machine). What a change means
is decided here, once: an object whose built form differs from the one kept is a change, and a fresh
list after an interruption is compared object by object with what was kept, so the changes made
while the API server was away arrive as changes (nothing lost, nothing twice). The watch error
policy lives in `inspector.kube.watching`; this module tells it to the user: one line when the API
server has been away for NOTICE_AFTER_S (a blip of a second says nothing), one when it is back, and
a stream that ended for good (401, 403) is raised: a watcher that stops watching is never silent.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType

from inspector import collector
from inspector.errors import Forbidden, NotFound
from inspector.kube.connection import Client
from inspector.kube.listing import list_with_version
from inspector.kube.resources import ENDPOINTSLICES, EVENTS, JSON, PODS, SERVICES, Resource
from inspector.kube.watching import Change, Event, Failed, Interrupted, Reset, Stream, Watch, bounded
from inspector.live.reading import UNHEALTHY
from inspector.model.building import SnapshotBuilder
from inspector.model.snapshot import Snapshot
from inspector.settings import WATCH_SECONDS

log = logging.getLogger("inspector.watching")

# Without these a Service cannot be judged at all; the other kinds only sharpen the verdict
REQUIRED = frozenset({SERVICES, ENDPOINTSLICES, PODS})
SETTLE_S = 0.05  # gather a burst of events before acting on it
NOTICE_AFTER_S = 10.0  # an interruption lasting this long is told in a line (the issue asks within 15 s)

Notify = Callable[[str], None]  # one line for the user (the CLI writes it to stderr)
# what `serve` hears of every change a watch brings: the kind, the key (namespace/name), the object's
# built form before and after (None: absent), so that it re-judges only the Services it touches
Changed = Callable[[Resource, str, Snapshot | None, Snapshot | None], None]


Seen = Callable[[str, Snapshot | None, Snapshot | None], None]  # a Store's change: key, before, after


def stream(resource: Resource, namespace: str | None) -> Stream:
    """A kind followed in a namespace (None: all, as for a cluster-scoped kind); of the events, only
    the pods' failed probes (the API server filters)."""
    where = namespace if resource.namespaced and namespace else ""
    return Stream(resource, where, UNHEALTHY if resource == EVENTS else None)


def _key(obj: JSON) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


@dataclass
class Store:
    """The objects of one kind in one stream: the last list plus the watch events since, each kept
    as read and as built (a one-object snapshot holding its dataclass). `reset` and `apply` return
    the keys (namespace/name) of the objects that changed as the inspector sees them."""

    kind: str
    objects: dict[str, JSON] = field(default_factory=dict)
    built: dict[str, Snapshot] = field(default_factory=dict)
    version: str = ""

    def reset(self, items: list[JSON], version: str, seen: Seen | None = None) -> set[str]:
        """A fresh list replaces what was kept; what differs from it is what changed meanwhile
        (each change also told to `seen`, with the built forms before and after)."""
        objects = {_key(o): o for o in items}
        built = {k: self._build(o) for k, o in objects.items()}
        changed = {k for k in self.built if k not in built}
        changed |= {k for k, b in built.items() if self.built.get(k) != b}
        if seen is not None:
            for k in changed:
                seen(k, self.built.get(k), built.get(k))
        self.objects, self.built, self.version = objects, built, version
        return changed

    def apply(self, event: Change | Reset, seen: Seen | None = None) -> set[str]:
        if isinstance(event, Reset):
            return self.reset(event.items, event.version, seen)
        key = _key(event.object)
        if event.type in ("ADDED", "MODIFIED"):
            built = self._build(event.object)
            self.objects[key] = event.object
            before = self.built.get(key)
            if before == built:
                return set()
            self.built[key] = built
            if seen is not None:
                seen(key, before, built)
            return {key}
        if event.type == "DELETED" and key in self.objects:
            before = self.built.pop(key, None)
            del self.objects[key]
            if seen is not None:
                seen(key, before, None)
            return {key}
        return set()  # a BOOKMARK, or the deletion of what we never had

    def _build(self, obj: JSON) -> Snapshot:
        return SnapshotBuilder().add([obj if "kind" in obj else {**obj, "kind": self.kind}]).build()


def merged(parts: Iterable[Snapshot], namespaces: tuple[str, ...] | None) -> Snapshot:
    """One snapshot of many (one-object ones, mostly), in their order."""
    parts = list(parts)
    return Snapshot(
        services=tuple(o for p in parts for o in p.services),
        slices=tuple(o for p in parts for o in p.slices),
        pods=tuple(o for p in parts for o in p.pods),
        nodes=tuple(o for p in parts for o in p.nodes),
        workloads=tuple(o for p in parts for o in p.workloads),
        namespaces=namespaces,
        probe_events=tuple(o for p in parts for o in p.probe_events),
        notes=tuple(dict.fromkeys(n for p in parts for n in p.notes)),
        network_policies=tuple(o for p in parts for o in p.network_policies),
        namespace_labels=MappingProxyType({k: v for p in parts for k, v in p.namespace_labels.items()}),
        routes=tuple(o for p in parts for o in p.routes),
    )


class Informer:
    """Lists the streams (`load`), then, used as a context manager, follows them with watches:
    `burst` waits for the next burst of changes and applies it. Every watch is stopped, and its
    thread joined, when the context ends."""

    def __init__(
        self,
        client: Client,
        streams: Sequence[Stream],
        watch_seconds: int = WATCH_SECONDS,
        notify: Notify | None = None,
        required: Collection[Resource] = REQUIRED,
        changed: Changed | None = None,
    ) -> None:
        self.client = client
        self.streams = list(streams)
        self.watch_seconds = watch_seconds
        self.notify: Notify = notify or (lambda line: log.warning("%s", line))
        self.required = required
        self.changed = changed
        self.stores: dict[Stream, Store] = {}
        # per kind: how often its watch had to start again from a fresh list (an interruption's
        # retries, a 410); serve's svc_inspect_watch_restarts_total
        self.restarts: dict[Resource, int] = {}
        self._watch: Watch | None = None
        self._away: dict[Stream, float] = {}  # interrupted streams: since when
        self._why = ""  # the last failure of an interrupted stream
        self._told = False  # the interruption line was written

    def load(self) -> None:
        """Lists every stream. A kind we may not read (403) or the API does not serve (404) is left
        out when it only sharpens the verdict; for a required kind that is the error raised, as is
        any other failure (an empty store must never stand for a LIST that failed). Each LIST is
        bounded in time as the re-lists are: a frozen API server (connections accepted, nothing
        answered) is an error within RELIST_TIMEOUT_S, not a watcher silent for ever."""
        for stream in self.streams:
            store = Store(stream.resource.kind)
            try:
                store.reset(*self._listed(stream, bounded(self.client)))
            except (Forbidden, NotFound) as exc:
                if stream.resource in self.required:
                    raise
                log.info("left out %s: %s", stream.resource.plural, exc)
                continue
            self.stores[stream] = store

    def relist(self) -> set[str]:
        """Every stream listed again (what the watches said is replaced), each LIST bounded in time
        as the watches' re-lists are; the keys that changed."""
        changed: set[str] = set()
        for stream, store in self.stores.items():
            changed |= store.reset(*self._listed(stream, bounded(self.client)), self._seen(stream))
        return changed

    @property
    def healthy(self) -> bool:
        """Every watch is following (none interrupted), as far as the events taken so far say."""
        return not self._away

    @property
    def interruption(self) -> str:
        """Why the watches are interrupted (the last failure of an interrupted stream); "" while
        every watch follows."""
        return self._why if self._away else ""

    def snapshot(self, namespaces: tuple[str, ...] | None, before: Sequence[Snapshot] = ()) -> Snapshot:
        """What the stores hold now, after the `before` parts (objects read once, not followed)."""
        kept = (one for store in self.stores.values() for one in store.built.values())
        return merged([*before, *kept], namespaces)

    def __enter__(self) -> Informer:
        collector.following()  # the CLI paused the cycle collector for the lists; a long life needs it
        self._watch = Watch(self.client, self.watch_seconds)
        for stream, store in self.stores.items():
            self._watch.follow(stream, store.version)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._watch is not None:
            self._watch.stop()
            self._watch = None

    def burst(self, timeout: float | None = None) -> int:
        """Waits up to `timeout` seconds (None: for as long as it takes) for the next watch event,
        then gathers the burst (SETTLE_S) and applies it: the number of events applied, 0 when none
        came in time. Raises the error of a stream that ended for good."""
        assert self._watch is not None, "burst() is for inside the informer's context"
        events = self._watch.events
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            now = time.monotonic()
            waits = [t - now for t in (deadline, self._notice_due()) if t is not None]
            try:
                stream, event = events.get(timeout=max(min(waits), 0.0) if waits else None)
            except queue.Empty:
                self._tell()
                if deadline is not None and time.monotonic() >= deadline:
                    return 0
                continue
            count = self._take(stream, event)
            if count:
                break
        time.sleep(SETTLE_S)
        while True:
            try:
                stream, event = events.get_nowait()
            except queue.Empty:
                return count
            count += self._take(stream, event)

    def _listed(self, stream: Stream, client: Client | None = None) -> tuple[list[JSON], str]:
        return list_with_version(
            client or self.client, stream.resource, stream.namespace or None, stream.field_selector
        )

    def _take(self, stream: Stream, event: Event) -> int:
        """Applies one event: 1 for a change or a fresh list, 0 for news about the stream itself."""
        if isinstance(event, Failed):
            raise event.error
        if isinstance(event, Interrupted):
            self._away.setdefault(stream, event.since or time.monotonic())
            self._why = event.reason
            self._restarted(stream)
            self._tell()
            return 0
        if isinstance(event, Reset) and stream not in self._away:
            self._restarted(stream)  # expired (410): listed again without an interruption
        self.stores[stream].apply(event, self._seen(stream))
        if self._away.pop(stream, None) is not None and not self._away and self._told:
            self.notify("watch resumed: the API server answers again; what changed meanwhile follows")
            self._told = False
        return 1

    def _restarted(self, stream: Stream) -> None:
        self.restarts[stream.resource] = self.restarts.get(stream.resource, 0) + 1

    def _seen(self, stream: Stream) -> Seen | None:
        told = self.changed
        if told is None:
            return None
        resource = stream.resource
        return lambda key, before, after: told(resource, key, before, after)

    def _notice_due(self) -> float | None:
        if not self._away or self._told:
            return None
        return min(self._away.values()) + NOTICE_AFTER_S

    def _tell(self) -> None:
        due = self._notice_due()
        if due is not None and time.monotonic() >= due:
            self.notify(f"watch interrupted: {self._why}, retrying")
            self._told = True
