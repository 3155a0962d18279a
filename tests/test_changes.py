"""What `-w` prints after the table: the changes between two reports of the same Services."""

from __future__ import annotations

import pytest

from inspector.cli import run
from inspector.diagnosis.changes import Event, ReportChange, Subject, report_changes
from inspector.output.text import change_line
from tests.conftest import MANIFESTS, inspect_manifests

SHOP = (MANIFESTS / "shop.yaml").read_text()
B2_READY = """  - addresses: [10.244.2.7]
    conditions: {ready: true, serving: true, terminating: false}"""


def web_changes(before: str, after: str) -> list[ReportChange]:
    return [
        c
        for c in report_changes(inspect_manifests(before), inspect_manifests(after))
        if c.service == "shop/web"
    ]


def test_the_same_cluster_twice_changes_nothing() -> None:
    assert report_changes(inspect_manifests(SHOP), inspect_manifests(SHOP)) == []


def test_an_endpoint_turning_terminating_is_modified_with_both_conditions() -> None:
    draining = SHOP.replace(
        B2_READY,
        "  - addresses: [10.244.2.7]\n    conditions: {ready: false, serving: true, terminating: true}",
    )

    changes = [c for c in web_changes(SHOP, draining) if c.subject is Subject.ENDPOINT]

    assert changes == [
        ReportChange(
            Event.MODIFIED,
            Subject.ENDPOINT,
            "shop/web",
            "10.244.2.7:8080",
            "pod web-7d9f8-b2 node node-b ready,serving -> serving,terminating",
        )
    ]


def test_an_endpoint_leaving_is_deleted_and_its_finding_added_then_resolved() -> None:
    gone = SHOP.replace(
        B2_READY
        + "\n    nodeName: node-b\n    targetRef: {kind: Pod, namespace: shop, name: web-7d9f8-b2}\n",
        "",
    )
    assert gone != SHOP

    leaving = web_changes(SHOP, gone)
    back = web_changes(gone, SHOP)

    assert [(c.event, c.subject, c.what) for c in leaving] == [
        (Event.MODIFIED, Subject.SERVICE, "ClusterIP"),
        (Event.DELETED, Subject.ENDPOINT, "10.244.2.7:8080"),
        (Event.ADDED, Subject.FINDING, "endpoints-missing"),
    ]
    assert leaving[0].detail == "ok -> error"
    assert [(c.event, c.subject, c.what, c.detail) for c in back][1:] == [
        (Event.ADDED, Subject.ENDPOINT, "10.244.2.7:8080", "pod web-7d9f8-b2 node node-b ready,serving"),
        (Event.DELETED, Subject.FINDING, "endpoints-missing", "resolved"),
    ]


def test_a_change_is_one_line_in_columns_three_spaces_apart() -> None:
    change = ReportChange(
        Event.ADDED, Subject.ENDPOINT, "shop/web", "10.244.2.7:8080", "pod web-7d9f8-b2 node node-b ready"
    )

    assert change_line(change) == (
        "ADDED      endpoint   shop/web   10.244.2.7:8080   pod web-7d9f8-b2 node node-b ready"
    )


def test_watch_with_a_document_output_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["diff", "-w", "-o", "json", "--kubeconfig", "/nonexistent/kubeconfig"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: -w prints a table, then one line per change: it cannot be combined with -o json"
    ]
