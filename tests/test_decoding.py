"""The LIST decoder keeps every field the snapshot reads: each manifest of the unit tests, sent as the
pages of a LIST, builds the same snapshot as the same objects read whole. And a page's continue
token, read from its head alone, is the one the whole page says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from inspector.errors import ClusterUnreachable
from inspector.kube.decoding import _HEAD, SCHEMAS, continue_token, decode_event, decode_page
from inspector.model.building import SnapshotBuilder

MANIFESTS = sorted((Path(__file__).parent / "manifests").glob("*.yaml"))
RECORDED = sorted((Path(__file__).parent / "pages").glob("*.json"))  # LIST pages of a kwok cluster


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


HEAD_CASES = {
    "as the API server writes it": b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9",'
    b'"continue":"eyJ2Ijoi","remainingItemCount":3},"items":[{"metadata":{"name":"a"}}]}',
    "the last page": b'{"kind":"PodList","metadata":{"resourceVersion":"9"},"items":[]}',
    "items first, one of them holding an items key": b'{"items":[{"spec":{"volumes":[{"configMap":'
    b'{"name":"c","items":[]}}]}}],"metadata":{"resourceVersion":"9","continue":"x"}}',
    "written with spaces": b'{"metadata": {"resourceVersion": "9", "continue": "x"}, "items": []}',
    "no metadata": b'{"items":[]}',
}


@pytest.mark.parametrize("data", HEAD_CASES.values(), ids=HEAD_CASES.keys())
def test_the_continue_token_read_from_the_head_is_the_whole_page_s(data: bytes) -> None:
    meta = _HEAD.decode(data).get("metadata") or {}

    assert continue_token(data, "s", "p") == (meta.get("resourceVersion") or "", meta.get("continue") or "")


@pytest.mark.parametrize("recorded", RECORDED, ids=lambda p: p.stem)
def test_the_continue_token_of_a_recorded_page_is_read_from_its_head(recorded: Path) -> None:
    data = recorded.read_bytes()
    meta = json.loads(data)["metadata"]

    assert continue_token(data, "s", "p") == (meta["resourceVersion"], meta.get("continue", ""))


def test_a_page_whose_head_is_not_json_is_one_clear_error() -> None:
    with pytest.raises(ClusterUnreachable, match="invalid JSON"):
        continue_token(b'{"metadata":{"resourceVersion":"9",,"items":[]}', "s", "p")


def test_the_continue_token_is_read_without_reading_the_items() -> None:
    # the items are decoded later (and refused then, if need be): the next page is asked for first
    broken_items = b'{"kind":"PodList","metadata":{"resourceVersion":"9","continue":"x"},"items":[{"meta'

    assert continue_token(broken_items, "s", "p") == ("9", "x")
