"""One explanation: `diff`, `wait`, the pytest plugin's `discoverable()` and `-w` say why a Service is
not discoverable with the same evidence, read from the same API (the in-process server): a pod that
runs but fails its readiness probe, its 'Readiness probe failed' event repeating."""

from __future__ import annotations

from typing import Any

import pytest

from inspector.diagnosis.readiness import Target
from inspector.diagnosis.report import inspect_snapshot
from inspector.kube.connection import Client
from inspector.live.following import follow
from inspector.live.inspecting import make_scope
from inspector.live.reading import read_snapshot
from inspector.live.waiting import wait_for
from inspector.output.text import explain, wait_explanation
from inspector.pytest_plugin import NotDiscoverable, discoverable
from tests.fakeapi import WEB, WEB_1, FakeAPI, Reply

PROBE = "Readiness probe failed: HTTP probe failed with statuscode: 412"
NOT_READY = (
    "pod web-1 is not ready (container web: running, not ready; ContainersReady: ContainersNotReady; "
    f"0 restart(s); last probe failure: "
    f"'{PROBE}' (24x)): it gets no traffic through this Service until it passes its readiness check"
)

SERVICE = WEB
POD = {  # web-1, running and not ready
    **WEB_1,
    "status": {
        "phase": "Running",
        "podIP": "10.244.0.5",
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
            {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady"},
        ],
        "containerStatuses": [{"name": "web", "ready": False, "restartCount": 0, "state": {"running": {}}}],
    },
}
SLICE = {
    "metadata": {"name": "web-abc", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
    "addressType": "IPv4",
    "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
    "endpoints": [
        {
            "addresses": ["10.244.0.5"],
            "conditions": {"ready": False, "serving": False, "terminating": False},
            "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "shop"},
        }
    ],
}
EVENT = {
    "metadata": {"name": "web-1.17e2", "namespace": "shop"},
    "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "shop"},
    "reason": "Unhealthy",
    "message": PROBE,
    "count": 24,
    "lastTimestamp": "2026-12-06T01:00:00Z",
}


def listed(*objects: dict[str, Any]) -> list[Reply]:
    """A LIST of the objects, as often as asked."""
    return [Reply(body={"kind": "List", "metadata": {"resourceVersion": "7"}, "items": list(objects)})]


@pytest.fixture
def probe_failing(api: FakeAPI) -> None:
    """Namespace shop: Service web selecting pod web-1, which runs but fails its readiness probe."""
    ns = "/api/v1/namespaces/shop"
    api.script[ns] = [Reply(body={"metadata": {"name": "shop"}})]
    api.script[f"{ns}/services"] = listed(SERVICE)
    api.script[f"{ns}/pods"] = listed(POD)
    api.script["/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"] = listed(SLICE)
    api.script[f"{ns}/events"] = listed(EVENT)
    api.script["/api/v1/nodes"] = listed()
    api.script["/api/v1/namespaces"] = listed()
    for kind in ("deployments", "statefulsets", "replicasets"):
        api.script[f"/apis/apps/v1/namespaces/shop/{kind}"] = listed()
    api.watches = {path: [Reply(events=[], hold=True)] for path in api.script}  # open and quiet


@pytest.mark.usefixtures("probe_failing")
def test_diff_wait_discoverable_and_dash_w_explain_a_failing_readiness_probe_alike(client: Client) -> None:
    said_by_diff = explain(inspect_snapshot(read_snapshot(client, "shop")))
    waited = wait_for(client, [Target("shop", "web")], timeout=0)
    with pytest.raises(NotDiscoverable) as caught:
        discoverable("shop/web", timeout=0, client=client)
    reports = follow(client, make_scope("shop"))
    followed = next(reports)
    reports.close()

    assert f"  INFO    pod-not-ready: {NOT_READY}" in said_by_diff.splitlines()
    assert explain(waited.report) == said_by_diff
    assert explain(followed) == said_by_diff
    assert NOT_READY in waited.drift["shop/web"]
    assert wait_explanation(waited).endswith("\n\n" + said_by_diff)
    assert str(caught.value).split("\n\n", 1)[1] == said_by_diff
    assert f"  shop/web: {NOT_READY}" in str(caught.value).splitlines()
