"""Watches: follow kinds in namespaces from a resourceVersion, as typed events, until stopped.

Why it exists: `wait` must see every change without polling. A watch the API server ends (after
its timeout) is opened again from the last resourceVersion; one that has expired (410 Gone, as an
ERROR event or as the answer to opening it) is answered by listing the kind again, which arrives as
a `Reset` carrying the fresh list. Each followed stream runs in its own thread; `stop` closes the
open responses and joins the threads, so nothing of ours outlives the watch.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import urllib3

from inspector.errors import Expired, InspectorError
from inspector.kube.connection import Client
from inspector.kube.listing import list_with_version
from inspector.kube.resources import JSON, Resource

log = logging.getLogger("inspector.watching")

GONE = 410
JOIN_S = 30.0  # a thread inside a re-list finishes its request before it sees the stop


@dataclass(frozen=True, slots=True)
class Stream:
    """One kind in one namespace."""

    resource: Resource
    namespace: str


@dataclass(frozen=True, slots=True)
class Change:
    """An ADDED, MODIFIED, DELETED or BOOKMARK event, with its object."""

    type: str
    object: JSON


@dataclass(frozen=True, slots=True)
class Reset:
    """The watch expired: here is the kind listed again, and the version the watch goes on from."""

    items: list[JSON]
    version: str


Event = Change | Reset


class Watch:
    """Follows streams in threads; their events arrive on `events` as (stream, event), in order per
    stream. Use it as a context manager, or call `stop`."""

    def __init__(self, client: Client, watch_seconds: int) -> None:
        self.client = client
        self.watch_seconds = watch_seconds
        self.events: queue.Queue[tuple[Stream, Event]] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: set[Any] = set()  # the responses being read, to close them on stop
        self._lock = threading.Lock()

    def __enter__(self) -> Watch:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def follow(self, stream: Stream, version: str) -> None:
        thread = threading.Thread(
            target=self._follow,
            args=(stream, version),
            daemon=True,
            name=f"watch-{stream.resource.plural}-{stream.namespace}",
        )
        self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        """Ends every stream: its response is shut down (a blocked read returns at once) and its
        thread joined."""
        self._stop.set()
        with self._lock:
            for resp in self._open:
                resp.shutdown()
        for thread in self._threads:
            thread.join(JOIN_S)
            if thread.is_alive():
                log.warning("%s did not end within %ss", thread.name, JOIN_S)
        self._threads.clear()

    def _follow(self, stream: Stream, version: str) -> None:
        """Re-watches when a watch ends, re-lists when it has expired, until stopped."""
        backoff = 0.2
        while not self._stop.is_set():
            try:
                try:
                    for change in self._changes(stream, version):
                        version = str((change.object.get("metadata") or {}).get("resourceVersion") or version)
                        self.events.put((stream, change))
                except Expired:
                    items, version = list_with_version(self.client, stream.resource, stream.namespace)
                    self.events.put((stream, Reset(items, version)))
                backoff = 0.2
            except InspectorError as exc:
                if self._stop.is_set():
                    return
                log.info(
                    "watch of %s in %s ended (%s); watching again",
                    stream.resource.plural,
                    stream.namespace,
                    exc,
                )
                if self._stop.wait(backoff):
                    return
                backoff = min(backoff * 2, 5.0)

    def _changes(self, stream: Stream, version: str) -> Iterator[Change]:
        """The events of one watch request, until the server ends it or we stop; raises Expired on
        410 Gone, however it is sent."""
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("resourceVersion", version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", self.watch_seconds),
        ]
        path = stream.resource.path(stream.namespace)
        resp = self.client.send(path, query, self.watch_seconds + 15)
        raw = resp.response  # urllib3's response: read as a stream, shut down by `stop`
        with self._lock:
            if self._stop.is_set():
                raw.close()
                raw.release_conn()
                return
            self._open.add(raw)
        complete = False
        try:
            if resp.status >= 400:
                raise self.client.error_status(resp, stream.resource.plural)
            buffer = b""
            for chunk in raw.stream(64 * 1024, decode_content=True):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip() and not self._stop.is_set():
                        yield _change(json.loads(line))
            complete = True
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            if not self._stop.is_set():
                raise self.client.connection_error(exc) from None
        finally:
            with self._lock:
                self._open.discard(raw)
            if not complete:  # unread or shut down: not fit to go back to the pool
                raw.close()
            raw.release_conn()


def _change(event: Any) -> Change:
    if not isinstance(event, dict):
        raise InspectorError("watch sent an event that is not an object")
    raw = event.get("object")
    obj: dict[str, Any] = raw if isinstance(raw, dict) else {}
    kind = str(event.get("type") or "")
    if kind == "ERROR":
        if obj.get("code") == GONE:  # expired: list again, watch from the new version
            raise Expired(str(obj.get("message") or "410 Gone"))
        raise InspectorError(str(obj.get("message") or "watch error"))
    return Change(kind, obj)
