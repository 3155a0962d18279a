"""The LIST decoder keeps every field the snapshot reads: each manifest of the unit tests, sent as the
pages of a LIST, builds the same snapshot as the same objects read whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from inspector.kube.decoding import SCHEMAS, decode_event, decode_page
from inspector.model.building import SnapshotBuilder

MANIFESTS = sorted((Path(__file__).parent / "manifests").glob("*.yaml"))


def objects(path: Path) -> list[dict[str, Any]]:
    out = []
    for doc in yaml.safe_load_all(path.read_text()):
        if isinstance(doc, dict):
            out += doc["items"] if str(doc.get("kind", "")).endswith("List") else [doc]
    return out


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.stem)
def test_a_manifest_read_as_decoded_list_pages_builds_the_same_snapshot(manifest: Path) -> None:
    whole, decoded = SnapshotBuilder(), SnapshotBuilder()
    for kind in SCHEMAS:
        items = [o for o in objects(manifest) if o.get("kind") == kind]
        page = json.dumps({"kind": f"{kind}List", "metadata": {"resourceVersion": "1"}, "items": items})
        whole.add(json.loads(page)["items"])
        decoded.add(decode_page(kind, page.encode(), "https://127.0.0.1:6443", "/api")["items"])

    assert decoded.build() == whole.build()
    assert whole.build() != SnapshotBuilder().build()


def test_a_page_tells_its_version_and_continue_token() -> None:
    page = decode_page(
        "Pod", b'{"metadata": {"resourceVersion": "42", "continue": "next"}, "items": null}', "s", "p"
    )

    assert page == {"items": [], "resource_version": "42", "continue_token": "next"}


def test_a_watch_event_keeps_only_the_fields_a_list_page_keeps_and_its_resource_version() -> None:
    pod = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": "web-1",
            "namespace": "shop",
            "resourceVersion": "42",
            "labels": {"app": "web"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
            "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": {"nodeName": "node-a", "containers": [{"name": "web", "image": "agnhost"}]},
        "status": {"phase": "Running", "podIP": "10.244.0.5"},
    }
    line = json.dumps({"type": "MODIFIED", "object": pod}).encode()

    kind, obj = decode_event("Pod", line)

    assert kind == "MODIFIED"
    assert obj["metadata"] == {
        "name": "web-1",
        "namespace": "shop",
        "resourceVersion": "42",
        "labels": {"app": "web"},
    }
    assert obj["status"] == {"phase": "Running", "podIP": "10.244.0.5"}
    assert "kind" not in obj and "image" not in obj["spec"]["containers"][0]


def test_a_watch_error_keeps_its_status_whole() -> None:
    status = {"kind": "Status", "code": 410, "message": "too old resource version"}

    assert decode_event("Pod", json.dumps({"type": "ERROR", "object": status}).encode()) == ("ERROR", status)
    assert decode_event("Pod", b'{"type": "BOOKMARK", "object": null}') == ("BOOKMARK", {})
