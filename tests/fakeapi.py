"""A tiny in-process API server on 127.0.0.1 that speaks the API's wire format, for the transport
logic only (retries, pagination, RBAC fallbacks, watches and their error policy): it answers each
path with the replies scripted for it, can hold a watch open, and can drop a connection mid-answer
as a dying API server does. A unit-test fake at the transport boundary; e2e stays on a real cluster.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from inspector.kube.connection import Client, connect


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    events: list[Any] | None = None  # a watch: these lines, then (hold=True) an open stream
    hold: bool = False
    drop: bool = False  # the connection is reset: before any answer, or after a watch's lines
    stall: bool = False  # no answer at all, as from a frozen API server (until the test ends)
    release: threading.Event | None = None  # a held watch ends (as at its timeout) once this is set


def items(*names: str, version: str = "7", token: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": version}
    if token:
        meta["continue"] = token
    return {"kind": "List", "metadata": meta, "items": [{"metadata": {"name": n}} for n in names]}


def forbidden(what: str) -> Reply:
    return Reply(403, {"kind": "Status", "code": 403, "message": f"{what} is forbidden"})


class FakeAPI(ThreadingHTTPServer):
    """Answers GET path (without query) with the replies scripted for it, in order, the last one
    repeated; 404 for anything unscripted. A watch of a path scripted in `watches` takes its replies
    from there instead (lists and watches then follow scripts of their own). Records every request."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: dict[str, list[Reply]] = {}
        self.watches: dict[str, list[Reply]] = {}
        self.seen: list[tuple[float, str, dict[str, list[str]]]] = []
        self.closing = threading.Event()

    def reply(self, path: str, watch: bool = False) -> Reply:
        queue = self.watches.get(path) if watch and path in self.watches else self.script.get(path)
        if not queue:
            return Reply(404, {"kind": "Status", "code": 404, "message": "not found"})
        return queue.pop(0) if len(queue) > 1 else queue[0]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeAPI

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        self.server.seen.append((time.monotonic(), url.path, query))
        reply = self.server.reply(url.path, "watch" in query)
        if reply.stall:
            self.server.closing.wait()
            self.close_connection = True
            return
        if reply.drop and reply.events is None:
            self._reset()
            return
        if reply.events is None:
            data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            for k, v in {"Content-Type": "application/json", **reply.headers}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in reply.events:
            line = json.dumps(event).encode() + b"\n"
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            self.wfile.flush()
        if reply.drop:
            self._reset()
            return
        while reply.hold and not self.server.closing.wait(0.05):
            if reply.release is not None and reply.release.is_set():
                break
        with contextlib.suppress(OSError):  # the client may have shut its end down
            self.wfile.write(b"0\r\n\r\n")

    def _reset(self) -> None:
        """Closes the connection with a TCP reset, as an API server that dies does."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving() -> Iterator[FakeAPI]:
    """A fake API server answering in a thread of its own until the block ends."""
    server = FakeAPI()
    # polled often, so that a test's end does not wait half a second per server (the default)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    with serving() as server:
        yield server


def kubeconfig(api: FakeAPI, tmp_path: Path) -> Path:
    """A kubeconfig whose current context (fake, namespace shop) is the in-process API server."""
    config = tmp_path / "config"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{api.server_port}"}}],
                "contexts": [
                    {"name": "fake", "context": {"cluster": "fake", "user": "u", "namespace": "shop"}}
                ],
                "current-context": "fake",
                "users": [{"name": "u", "user": {"token": "t"}}],
            }
        )
    )
    return config


@pytest.fixture
def client(api: FakeAPI, tmp_path: Path) -> Iterator[Client]:
    with connect(str(kubeconfig(api, tmp_path)), request_timeout=5) as c:
        yield c


# The objects the watch and explanation tests serve: Service shop/web and its ready pod web-1.
WEB = {
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"clusterIP": "10.96.0.20", "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
}
WEB_1 = {
    "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {
        "nodeName": "node-a",
        "containers": [{"name": "web", "ports": [{"name": "http", "containerPort": 80}]}],
    },
    "status": {
        "phase": "Running",
        "podIP": "10.244.0.5",
        "conditions": [{"type": "Ready", "status": "True"}],
    },
}
