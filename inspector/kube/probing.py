"""The writes of `why`, and only of `why`: create and delete its probe pod, add an ephemeral container
to a pod, read a container's log.

Why it exists: every other command only reads. These calls are kept apart so that the audit log
shows who writes what (the `why` role, deploy/rbac-why.yaml), and they answer with our errors:
`Forbidden` for a missing permission, which `why` turns into skipped steps.
"""

from __future__ import annotations

import contextlib
import json
import logging

import urllib3

from inspector.errors import NotFound
from inspector.kube.connection import Client
from inspector.kube.resources import JSON

WRITE_TIMEOUT_S = 30


def write(client: Client, method: str, path: str, body: JSON | None, content_type: str, what: str) -> JSON:
    """One write request (not retried: a create is not idempotent); its JSON answer, or our error."""
    logging.getLogger("inspector.fetching").debug("%s %s", method, path)
    _, url, headers, serialized, _ = client.api.param_serialize(
        method=method,
        resource_path=path,
        header_params={"Accept": "application/json", "Content-Type": content_type},
        body=body,
        auth_settings=["BearerToken"],
    )
    try:
        resp = client.api.call_api(
            method, url, header_params=headers, body=serialized, _request_timeout=WRITE_TIMEOUT_S
        )
        data = resp.read()
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise client.connection_error(exc) from None
    if resp.status >= 400:
        raise client.error_status(resp, what)
    try:
        parsed = json.loads(data or b"{}")
    except ValueError:
        parsed = {}
    return parsed if isinstance(parsed, dict) else {}


def create_pod(client: Client, namespace: str, manifest: JSON) -> JSON:
    """Creates a pod; returns it as the API server stored it (its generated name included)."""
    return write(
        client,
        "POST",
        f"/api/v1/namespaces/{namespace}/pods",
        manifest,
        "application/json",
        f"create pod in namespace {namespace}",
    )


def delete_pod(client: Client, namespace: str, name: str) -> None:
    """Deletes a pod at once (grace period 0); one that is already gone is fine."""
    with contextlib.suppress(NotFound):
        write(
            client,
            "DELETE",
            f"/api/v1/namespaces/{namespace}/pods/{name}",
            {"gracePeriodSeconds": 0},
            "application/json",
            f"delete pod {namespace}/{name}",
        )


def add_ephemeral_container(client: Client, namespace: str, pod: str, container: JSON) -> None:
    """Adds an ephemeral container to a running pod (pods/ephemeralcontainers). It cannot be removed:
    it stays in the pod's spec, ended, until the pod is deleted."""
    write(
        client,
        "PATCH",
        f"/api/v1/namespaces/{namespace}/pods/{pod}/ephemeralcontainers",
        {"spec": {"ephemeralContainers": [container]}},
        "application/strategic-merge-patch+json",
        f"add an ephemeral container to pod {namespace}/{pod}",
    )


def container_log(client: Client, namespace: str, pod: str, container: str) -> str:
    """A container's whole log (pods/log), as text."""
    resp = client.send(f"/api/v1/namespaces/{namespace}/pods/{pod}/log", [("container", container)], 30)
    data = resp.read()
    if resp.status >= 400:
        raise client.error_status(resp, f"log of {namespace}/{pod}")
    return bytes(data).decode("utf-8", "replace")
