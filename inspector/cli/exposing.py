"""`serve`'s HTTP side: /metrics, /healthz, /readyz and /report over what the watcher published last,
and the clean stop on SIGTERM.

Why it exists: the live run (`inspector.live.serving`) keeps the report and publishes a frozen
`Served` after every burst; here the standard library's threading HTTP server answers from the last
one (a reference swapped whole: a scrape never sees half a burst), and the output tier writes each
answer. With --contexts the watcher (`inspector.live.fleetserving`) publishes a `FleetServed`
instead, every context's last `Served`: the same answers, every series labelled with its context,
/readyz naming each context not ready, /report the fleet document of `diff --contexts -o json`.
SIGTERM (what Kubernetes sends to stop a pod) sets a stop event; the watcher returns within a tick,
its watches are stopped and their threads joined, the server is shut down and its socket closed,
and `serve` ends with exit 0 only when no thread of ours is left.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from inspector.errors import BadInput, InspectorError
from inspector.live.fleet import ContextResult
from inspector.live.fleetserving import FleetServed
from inspector.live.serving import Served
from inspector.output.documents import report_json, summary_json, write_json
from inspector.output.fleetviews import fleet_json
from inspector.output.metrics import CONTENT_TYPE, Gauges, exposition, fleet_exposition

DEFAULT_LISTEN = "0.0.0.0:9847"


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT (HOST may be empty for every address, or [IPv6]); bad input is one line, exit 2."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise BadInput(f"invalid --listen {text!r}: use HOST:PORT, e.g. 0.0.0.0:9847 or 127.0.0.1:9847")
    return host.strip("[]") or "0.0.0.0", int(port)


class Board:
    """The last `Served` (one cluster) or `FleetServed` (--contexts), swapped whole by the watcher
    and read by the HTTP threads."""

    def __init__(self) -> None:
        self.served: Served | FleetServed | None = None

    def publish(self, served: Served | FleetServed) -> None:
        self.served = served


def gauges(served: Served) -> Gauges:
    return Gauges(
        served.report, served.cluster, served.dns, served.ready, served.restarts, served.last_change
    )


def fleet_gauges(fleet: FleetServed) -> list[tuple[str, Gauges | None]]:
    """Each context's gauges (None before its first list), ready as the context is (a context whose
    watcher failed keeps its last report, not ready)."""
    return [
        (c.context, None if c.served is None else gauges(dataclasses.replace(c.served, ready=c.ready)))
        for c in fleet.contexts
    ]


def fleet_report(fleet: FleetServed) -> dict[str, Any]:
    """The fleet's /report: the document `diff --contexts -o json` writes, each context's report of
    now (the last one while its watches are interrupted), `error` for a context whose first list is
    not in (why: its failure, or that it is still listing)."""
    results = [
        ContextResult(c.context, value=c.served.report)
        if c.served is not None
        else ContextResult(c.context, error=InspectorError(c.failure or c.not_ready))
        for c in fleet.contexts
    ]
    return fleet_json(results, report_json, summary_json)


def not_ready_lines(fleet: FleetServed) -> bytes:
    """/readyz's body while a context is not ready: one line per such context, naming it and why."""
    return "".join(f'context "{c.context}": {c.not_ready}\n' for c in fleet.contexts if not c.ready).encode()


class _Answers(BaseHTTPRequestHandler):
    server: ReportServer

    def do_GET(self) -> None:
        served = self.server.board.served
        path = self.path.partition("?")[0]
        if isinstance(served, FleetServed):
            self._fleet(path, served)
        elif path == "/healthz":
            self._answer(200, "text/plain; charset=utf-8", b"ok\n")
        elif path == "/readyz":
            if served is not None and served.ready:
                self._answer(200, "text/plain; charset=utf-8", b"ok\n")
            else:
                why = b"the first list is not in yet\n" if served is None else b"a watch is interrupted\n"
                self._answer(503, "text/plain; charset=utf-8", why)
        elif served is None:
            self._answer(503, "text/plain; charset=utf-8", b"the first list is not in yet\n")
        elif path == "/metrics":
            self._answer(200, CONTENT_TYPE, exposition(gauges(served)))
        elif path == "/report":
            parts: list[str] = []  # the text `diff -o json` writes
            write_json(report_json(served.report, lazy=True), parts.append)
            self._answer(200, "application/json", ("".join(parts) + "\n").encode())
        else:
            self._not_found()

    def _fleet(self, path: str, fleet: FleetServed) -> None:
        """A fleet's answers: /metrics from the start (a context not in yet says its readiness 0),
        /readyz 200 only while every context is ready, else 503 naming each one that is not."""
        if path == "/healthz":
            self._answer(200, "text/plain; charset=utf-8", b"ok\n")
        elif path == "/readyz":
            if fleet.ready:
                self._answer(200, "text/plain; charset=utf-8", b"ok\n")
            else:
                self._answer(503, "text/plain; charset=utf-8", not_ready_lines(fleet))
        elif path == "/metrics":
            self._answer(200, CONTENT_TYPE, fleet_exposition(fleet_gauges(fleet)))
        elif path == "/report":
            parts: list[str] = []  # the text `diff --contexts -o json` writes
            write_json(fleet_report(fleet), parts.append)
            self._answer(200, "application/json", ("".join(parts) + "\n").encode())
        else:
            self._not_found()

    def _not_found(self) -> None:
        self._answer(404, "text/plain; charset=utf-8", b"not found: /metrics, /healthz, /readyz, /report\n")

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # no line per scrape
        pass


class ReportServer(ThreadingHTTPServer):
    daemon_threads = False  # joined on shutdown: nothing of ours outlives serve
    block_on_close = True

    def __init__(self, address: tuple[str, int], board: Board) -> None:
        self.board = board
        super().__init__(address, _Answers)


def listening(address: tuple[str, int], board: Board) -> tuple[ReportServer, threading.Thread]:
    """The HTTP server, bound (an address in use is bad input: one line, exit 2), answering in a thread."""
    try:
        server = ReportServer(address, board)
    except OSError as exc:
        raise BadInput(f"cannot listen on {address[0]}:{address[1]}: {exc.strerror or exc}") from None
    thread = threading.Thread(target=server.serve_forever, args=(0.2,), name="serve-http")
    thread.start()
    return server, thread


def stopped_by_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGTERM (how Kubernetes stops a pod) sets `stop`; the returned function puts the previous
    handler back. Ctrl-C keeps the CLI's meaning: one line and 130 at once."""
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def threads_left() -> list[str]:
    """The names of the threads still running besides this one."""
    me = threading.current_thread()
    return [t.name for t in threading.enumerate() if t is not me and t.is_alive()]
