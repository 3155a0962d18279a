"""Reads through the API server's node proxy: what a port on a node answers (`nodes/proxy`).

Why it exists: kube-proxy's health (`/healthz` on the node's port 10256) and a Service's
healthCheckNodePort are served on the node itself; the API server reaches both with
`GET /api/v1/nodes/NODE:PORT/proxy/PATH`. That needs `nodes/proxy`, a powerful permission (the
same subresource reaches the kubelet), so only `why --node-health` uses it (deploy/rbac-node-health.yaml).

The answer is told apart from the proxy's own failure: what the node's port said (its status and
body, 503 included) is a `NodeAnswer`; the API server failing to reach the port (nothing listens,
the node is cut off) is a `NodeAnswer` with `reached=False` and the API server's words. Not
retried: a node that does not answer is the finding, and the caller asks every node at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from inspector.errors import Forbidden
from inspector.kube.connection import Client

NODE_PROXY_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class NodeAnswer:
    reached: bool  # the node's port answered (any status); False: the API server could not reach it
    status: int
    body: bytes
    error: str = ""  # why the port was not reached, in the API server's (or the connection's) words


def node_get(
    client: Client, node: str, port: int, path: str, timeout: float = NODE_PROXY_TIMEOUT_S
) -> NodeAnswer:
    """GET http://NODE:PORT/PATH through the API server; Forbidden without `nodes/proxy`."""
    resource = f"/api/v1/nodes/{node}:{port}/proxy/{path.lstrip('/')}"
    try:
        code, body = client.get_once(resource, timeout, accept="*/*")
    except TimeoutError as exc:
        return NodeAnswer(False, 0, b"", str(exc))
    status = _api_status(body)
    if code == 403 and status is not None:
        raise Forbidden(f"forbidden: {status.get('message') or 'nodes/proxy'}")
    if status is not None and code >= 400:
        # the API server's own Status object: it did not reach the node's port
        return NodeAnswer(False, code, body, str(status.get("message") or f"HTTP {code}"))
    return NodeAnswer(True, code, body)


def _api_status(body: bytes) -> dict[str, object] | None:
    """The API server's Status object, when the body is one (a node's port never answers with it)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if isinstance(parsed, dict) and parsed.get("kind") == "Status" and parsed.get("apiVersion") == "v1":
        return parsed
    return None
