"""Two in-process API servers for the fleet's tests (tests/test_fleet.py, tests/test_fleetserving.py):
both hold namespace shop and Service web; web's pod carries the selector's label behind `east` and
another label behind `west`; a third context, `gone`, points at a port where nothing listens."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakeapi import WEB, WEB_1, FakeAPI, Reply, serving


def listed(*objects: dict[str, Any]) -> list[Reply]:
    return [Reply(body={"kind": "List", "metadata": {"resourceVersion": "7"}, "items": list(objects)})]


def serve_shop(api: FakeAPI, pod: dict[str, Any]) -> None:
    """Namespace shop: Service web (selector app=web) and one pod; the slice holds what the
    EndpointSlice controller would write for that pod."""
    selected = pod["metadata"]["labels"] == {"app": "web"}
    endpoints = (
        [{"addresses": [pod["status"]["podIP"]], "conditions": {"ready": True, "serving": True}}]
        if selected
        else []
    )
    slice_ = {
        "metadata": {"name": "web-abc", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
        "endpoints": [
            {**e, "targetRef": {"kind": "Pod", "name": pod["metadata"]["name"], "namespace": "shop"}}
            for e in endpoints
        ],
    }
    ns = "/api/v1/namespaces/shop"
    api.script[ns] = [Reply(body={"metadata": {"name": "shop"}})]
    api.script[f"{ns}/services"] = listed(WEB)
    api.script[f"{ns}/pods"] = listed(pod)
    api.script["/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"] = listed(slice_)
    api.script[f"{ns}/events"] = listed()
    api.script["/api/v1/nodes"] = listed()
    api.script["/api/v1/namespaces"] = listed()
    for kind in ("deployments", "statefulsets", "replicasets"):
        api.script[f"/apis/apps/v1/namespaces/shop/{kind}"] = listed()


WEST_POD = {
    **WEB_1,
    "metadata": {"name": "web-v2-1", "namespace": "shop", "labels": {"app": "web-v2"}},
    "status": {**WEB_1["status"], "podIP": "10.244.9.9"},
}


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port bound and never listened on: a connection there is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def fleet_apis() -> Iterator[tuple[FakeAPI, FakeAPI]]:
    """Two API servers holding namespace shop and Service web: web's pod selected behind the first,
    labelled otherwise behind the second."""
    with serving() as east, serving() as west:
        serve_shop(east, WEB_1)
        serve_shop(west, WEST_POD)
        yield east, west


@pytest.fixture
def fleet_config(
    fleet_apis: tuple[FakeAPI, FakeAPI], tmp_path: Path, dead_port: int, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A kubeconfig of three contexts: east and west (each its own API server and token), gone
    (nothing listens); the current context is east."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    east, west = fleet_apis
    servers = {
        "east": f"http://127.0.0.1:{east.server_port}",
        "west": f"http://127.0.0.1:{west.server_port}",
        "gone": f"http://127.0.0.1:{dead_port}",
    }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": s}} for n, s in servers.items()],
        "users": [{"name": n, "user": {"token": f"token-of-{n}"}} for n in servers],
        "contexts": [{"name": n, "context": {"cluster": n, "user": n, "namespace": "shop"}} for n in servers],
        "current-context": "east",
    }
    path = tmp_path / "fleet-config"
    path.write_text(json.dumps(config))
    return str(path)
