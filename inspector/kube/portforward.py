"""The API server's port-forward to a pod: the one call of the inspector that is not a read.

Why it exists: from outside the cluster, the cluster DNS's ClusterIP is not routable; its pods are
reachable through the API server (pods/portforward), as `kubectl port-forward` reaches them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inspector.errors import ClusterUnreachable
from inspector.kube.connection import Client
from inspector.kube.importing import k8s_client


@dataclass
class ForwardedPort:
    """A TCP stream to a pod's port through the API server (pods/portforward), and its error channel."""

    stream: Any  # a connected socket
    error: Callable[[], str | None]
    close: Callable[[], None]


def forward_port(client: Client, namespace: str, pod: str, port: int) -> ForwardedPort:
    """Open the API server's port-forward to `pod`:`port` (the one call that is not a read)."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.stream import portforward

    core = k8s_client.CoreV1Api(client.api)
    try:
        pf = portforward(core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port))
    except ApiException as exc:
        reason = " ".join(str(exc.reason or exc).split())[:200]
        raise ClusterUnreachable(
            f"cannot port-forward to {namespace}/{pod}:{port} through {client.server}: {reason}"
        ) from None
    stream = pf.socket(port)
    stream.setblocking(False)
    return ForwardedPort(stream, lambda: pf.error(port), pf.close)
