"""The report: per-Service status, summary counts and whether the run is ok."""

from __future__ import annotations

import pytest

from inspector.diagnosis.report import inspect_snapshot
from inspector.model.findings import Severity
from inspector.output.documents import summary_json
from tests.conftest import inspect_manifests, snapshot_of


@pytest.mark.parametrize(
    ("sources", "summary", "ok"),
    [
        pytest.param(
            ("shop.yaml", "service-types.yaml"),
            {"services": 6, "errors": 0, "warnings": 0, "infos": 0},
            True,
            id="healthy",
        ),
        pytest.param(
            ("shop.yaml", "misconfigured-types.yaml"),
            {"services": 6, "errors": 1, "warnings": 4, "infos": 1},
            False,
            id="misconfigured-types",
        ),
        pytest.param(
            ("shop.yaml", "drift.yaml"),
            {"services": 4, "errors": 1, "warnings": 3, "infos": 0},
            False,
            id="drift-orphan-slice-counted",
        ),
        pytest.param(
            ("shop.yaml", "selection.yaml"),
            {"services": 3, "errors": 1, "warnings": 1, "infos": 0},
            False,
            id="selection",
        ),
        pytest.param(
            ("shop.yaml", "ports.yaml"),
            {"services": 2, "errors": 2, "warnings": 0, "infos": 1},
            False,
            id="ports",
        ),
    ],
)
def test_summary_counts_findings_by_severity_and_ok_means_no_error(
    sources: tuple[str, ...], summary: dict[str, int], ok: bool
) -> None:
    report = inspect_manifests(*sources)

    assert summary_json(report) == summary
    assert report.ok is ok


def test_status_per_service_is_its_worst_finding_info_stays_ok() -> None:
    report = inspect_manifests("shop.yaml", "misconfigured-types.yaml")

    assert {sr.service.name: sr.status for sr in report.services} == {
        "payments": "warn",
        "warehouse-db": "warn",
        "web": "ok",
        "web-canary": "ok",  # only an info finding
        "web-lb-pending": "warn",
        "web-no-nodeport": "error",
    }


def test_report_with_warnings_only_is_ok() -> None:
    report = inspect_manifests("shop.yaml", "misconfigured-types.yaml")
    warnings_only = inspect_snapshot(report.snapshot, include=lambda s: s.name != "web-no-nodeport")

    assert warnings_only.count(Severity.ERROR) == 0
    assert warnings_only.count(Severity.WARNING) == 4
    assert warnings_only.ok is True


def test_services_are_reported_in_namespace_then_name_order_and_found_by_key() -> None:
    report = inspect_manifests("shop.yaml", "selection.yaml", "ports.yaml")

    assert [sr.service.key for sr in report.services] == [
        "shop/api",
        "shop/checkout",
        "shop/reports",
        "shop/web",
    ]
    found = report.service("shop", "web")
    assert found is not None and found.service.name == "web"
    assert report.service("staging", "web") is None


def test_findings_are_every_services_then_the_cluster_wide_ones() -> None:
    report = inspect_manifests("shop.yaml", "drift.yaml")

    assert [f.code for f in report.findings] == [
        "endpoint-conditions-differ",  # shop/web-lagging
        "endpoints-missing",  # shop/web-missing
        "endpoints-unexpected",  # shop/web-stale
        "orphan-endpointslice",
    ]


def test_include_keeps_only_the_chosen_services_and_skips_orphan_slices() -> None:
    snapshot = snapshot_of("shop.yaml", "drift.yaml")

    report = inspect_snapshot(snapshot, include=lambda s: s.name == "web-missing")

    assert [sr.service.name for sr in report.services] == ["web-missing"]
    assert report.cluster_findings == ()
    assert summary_json(report) == {"services": 1, "errors": 1, "warnings": 0, "infos": 0}


def test_service_report_exposes_expected_and_actual_endpoints_and_node_ports() -> None:
    report = inspect_manifests("shop.yaml", "service-types.yaml")
    sr = report.service("shop", "web-nodeport")
    assert sr is not None

    assert [e.address for e in sr.expected] == ["10.244.1.5:8080", "10.244.2.7:8080"]
    assert [(e.address, e.slice) for e in sr.actual] == [
        ("10.244.1.5:8080", "web-nodeport-4hq9z"),
        ("10.244.2.7:8080", "web-nodeport-4hq9z"),
    ]
    assert [(n.node, n.node_port) for n in sr.node_ports] == [("node-a", 30080), ("node-b", 30080)]
