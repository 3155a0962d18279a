"""The writes of `serve --events`, and only of it: a Kubernetes Event on a Service when one of its
findings appears or is resolved.

Why it exists: `kubectl describe service` and `kubectl get events` are where users look first; with
`--events` the inspector says there what it found, as a controller would. It is opt-in, with its own
RBAC (deploy/rbac-events.yaml: create events, nothing else), so that the default stays read-only and
the audit log shows who writes what. The Event is a core/v1 Event (what `kubectl describe` lists),
naming the Service as its involved object.
"""

from __future__ import annotations

import datetime
import secrets

from inspector.kube.connection import Client
from inspector.kube.probing import write

COMPONENT = "svc-inspect"


def record_event(
    client: Client, namespace: str, service: str, uid: str | None, kind: str, reason: str, message: str
) -> None:
    """Creates one Event about Service namespace/service: `kind` Normal or Warning, `reason` in
    CamelCase, `message` one line (the API caps it at 1 KiB)."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    involved = {"apiVersion": "v1", "kind": "Service", "namespace": namespace, "name": service}
    if uid:
        involved["uid"] = uid
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{service}.{secrets.token_hex(8)}", "namespace": namespace},
        "involvedObject": involved,
        "type": kind,
        "reason": reason,
        "message": message[:1024],
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": COMPONENT,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    write(
        client, "POST", f"/api/v1/namespaces/{namespace}/events", event, "application/json", "create events"
    )
