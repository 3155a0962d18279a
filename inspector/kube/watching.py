"""Watches: follow kinds in namespaces from a resourceVersion, as typed events, until stopped, with
one error policy.

Why it exists: `-w` and `wait` must see every change without polling, and must never go silent when
the API server goes away. The policy, in one place (`transient`): a watch the API server ends (after
its timeout) is opened again from the last resourceVersion; one that has expired (410 Gone, as an
ERROR event or as the answer to opening it) is answered by listing the kind again, which arrives as a
`Reset` carrying the fresh list. A transient failure (connection refused or reset, a timeout, 5xx,
429 once the transport's own Retry-After waits are spent) is told as `Interrupted`, at each failed
attempt, and retried with capped backoff; the first request that succeeds again is a LIST, so the changes made
while away arrive in its `Reset` (the store above compares it with what it had: nothing lost, nothing
twice). Anything else (401, 403, a kind no longer served) ends the stream with `Failed`, naming the
kind and what is missing: the consumer raises it. Each followed stream runs in its own thread; `stop`
closes the open responses and joins the threads, so nothing of ours outlives the watch.

A frozen API server (connections accepted, nothing answered, as under SIGSTOP or a dead etcd proxy in
front of it) sends no error at all: an open watch just stays quiet, as it does when nothing changes,
until its read timeout (the watch's own plus 15 s). So a liveness check runs beside the streams:
every LIVENESS_S it asks the API server for `/version` (served from memory, open to every client, as
`system:public-info-viewer` grants), bounded by LIVENESS_TIMEOUT_S. When that goes unanswered the
open watches are shut down, so their streams fail, are told as `Interrupted` (since the last time the
API server answered) and go through the policy above; the check goes on until it answers again.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import urllib3

from inspector.errors import AuthFailed, ClusterUnreachable, Expired, Forbidden, InspectorError
from inspector.kube.connection import Client
from inspector.kube.decoding import decode_event
from inspector.kube.listing import list_with_version
from inspector.kube.resources import JSON, Resource

log = logging.getLogger("inspector.watching")

GONE = 410
JOIN_S = 30.0  # a thread inside a re-list finishes its request before it sees the stop
BACKOFF_S = 0.2  # before the first retry of a failed watch, doubling
BACKOFF_MAX_S = 5.0  # the cap: an API server that is back is seen within this (plus one request)
RELIST_TIMEOUT_S = 30.0  # a re-list waits no longer than this for an answer (without --request-timeout)
LIVENESS_S = 3.0  # how often the API server is asked whether it still answers
LIVENESS_TIMEOUT_S = 3.0  # and how long its answer may take


@dataclass(frozen=True, slots=True)
class Stream:
    """One kind in one namespace ("" for a cluster-scoped kind or all namespaces), optionally
    narrowed by a field selector (the API server filters)."""

    resource: Resource
    namespace: str
    field_selector: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """An ADDED, MODIFIED, DELETED or BOOKMARK event, with its object."""

    type: str
    object: JSON


@dataclass(frozen=True, slots=True)
class Reset:
    """The kind listed again (the watch expired, or the API server is back after an interruption):
    every object there is now, and the version the watch goes on from."""

    items: list[JSON]
    version: str


@dataclass(frozen=True, slots=True)
class Interrupted:
    """An attempt of the stream failed for a reason that passes (`transient`); it is retried, and
    the `Reset` that follows once the API server answers again ends the interruption. `since`: when
    the API server was last seen answering, where the liveness check knows it (time.monotonic())."""

    reason: str
    since: float | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """The stream ended for good: the error says which kind and why, for the consumer to raise."""

    error: InspectorError


Event = Change | Reset | Interrupted | Failed


def transient(exc: InspectorError) -> bool:
    """Whether a watch that failed with `exc` is tried again: the API server away, slow or overloaded
    (connection refused or reset, no answer in time, 5xx, 429). Credentials refused (401, TLS),
    permission missing (403), a kind not served (404): retrying cannot help, the user must know."""
    return isinstance(exc, ClusterUnreachable) and not isinstance(exc, AuthFailed | Expired)


def bounded(client: Client) -> Client:
    """The client for re-lists: without --request-timeout, a frozen API server (connections accepted,
    nothing answered) would hold a re-list, and whoever waits on it, silent for ever. It shares the
    connection pool, closed with `client`."""
    return dataclasses.replace(client, request_timeout=client.request_timeout or RELIST_TIMEOUT_S)


def surfaced(stream: Stream, exc: InspectorError) -> InspectorError:
    """The error a stream ends with, in one line naming the kind, its namespace and what is missing."""
    plural = stream.resource.plural
    where = f"{plural} in namespace {stream.namespace}" if stream.namespace else plural
    if isinstance(exc, Forbidden):
        return Forbidden(
            f"cannot watch {where} any more: the permission to list and watch {plural} is missing ({exc})"
        )
    return type(exc)(f"cannot watch {where} any more: {exc}")


class Watch:
    """Follows streams in threads; their events arrive on `events` as (stream, event), in order per
    stream. Use it as a context manager, or call `stop`."""

    def __init__(self, client: Client, watch_seconds: int) -> None:
        self.client = client
        self._lister = bounded(client)
        self.watch_seconds = watch_seconds
        self.events: queue.Queue[tuple[Stream, Event]] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: set[Any] = set()  # the responses being read, to close them on stop
        self._lock = threading.Lock()
        self._silent: tuple[str, float] | None = None  # the liveness check's failure, and since when

    def __enter__(self) -> Watch:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def follow(self, stream: Stream, version: str) -> None:
        if not self._threads:
            checker = threading.Thread(target=self._liveness, daemon=True, name="watch-liveness")
            self._threads.append(checker)
            checker.start()
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

    def _liveness(self) -> None:
        """Asks the API server every LIVENESS_S whether it answers; while it does not, the open watches
        are shut down (their streams fail and are retried under the policy)."""
        last_ok = time.monotonic()
        while not self._stop.wait(LIVENESS_S):
            failure = self.client.unanswered(LIVENESS_TIMEOUT_S)
            if failure is None:
                last_ok = time.monotonic()
                self._silent = None
                continue
            if self._silent is None:
                log.info("liveness: %s; shutting the watches down", failure)
            self._silent = (failure, last_ok)
            with self._lock:
                for resp in self._open:
                    resp.shutdown()

    def _follow(self, stream: Stream, version: str) -> None:
        """Re-watches when a watch ends, re-lists when it has expired or after an interruption,
        retries transient failures with capped backoff, ends on any other failure; until stopped."""
        relist = False
        backoff = BACKOFF_S
        while not self._stop.is_set():
            try:
                if relist:
                    items, version = list_with_version(
                        self._lister, stream.resource, stream.namespace or None, stream.field_selector
                    )
                    self.events.put((stream, Reset(items, version)))
                    relist = False
                    backoff = BACKOFF_S
                for change in self._changes(stream, version):
                    version = str((change.object.get("metadata") or {}).get("resourceVersion") or version)
                    self.events.put((stream, change))
            except Expired:
                relist = True  # at once: the API server is there, our version is too old
            except InspectorError as exc:
                if self._stop.is_set():
                    return
                if not transient(exc):
                    self.events.put((stream, Failed(surfaced(stream, exc))))
                    return
                log.info(
                    "watch of %s in %s failed (%s); retrying", stream.resource.plural, stream.namespace, exc
                )
                silent = self._silent
                if silent is not None:  # the liveness check shut it: its words say why
                    self.events.put((stream, Interrupted(silent[0], silent[1])))
                else:
                    self.events.put((stream, Interrupted(str(exc))))
                relist = True  # what changed while we were away comes with the fresh list
                if self._stop.wait(backoff):
                    return
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _changes(self, stream: Stream, version: str) -> Iterator[Change]:
        """The events of one watch request, until the server ends it or we stop; raises Expired on
        410 Gone, however it is sent."""
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("resourceVersion", version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", self.watch_seconds),
        ]
        if stream.field_selector:
            query.append(("fieldSelector", stream.field_selector))
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
                        yield _change(*decode_event(stream.resource.kind, line))
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


def _change(kind: str, obj: dict[str, Any]) -> Change:
    if kind == "ERROR":
        if obj.get("code") == GONE:  # expired: list again, watch from the new version
            raise Expired(str(obj.get("message") or "410 Gone"))
        # any other Status the API server ends a watch with (a 500 mid-stream, say) passes
        raise ClusterUnreachable(f"the watch ended with an error: {obj.get('message') or obj.get('code')}")
    return Change(kind, obj)
