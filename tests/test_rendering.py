"""Rendering: the diff JSON contract of the README, the services table and the README's table of codes."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from inspector.diagnosis.report import inspect_snapshot
from inspector.model.findings import CATALOGUE, markdown_table
from inspector.model.snapshot import Snapshot
from inspector.output import documents, tables
from inspector.output.text import explain
from tests.conftest import inspect_manifests

# the README, `diff`'s `-o json`
SERVICE_KEYS = {
    "namespace",
    "name",
    "type",
    "headless",
    "clusterIP",
    "selector",
    "ports",
    "expected",
    "actual",
    "missing",
    "unexpected",
    "findings",
}
# rendering adds these to each Service, beyond the original list
SERVICE_EXTRA_KEYS = {"externalName", "status", "pods"}
EXPECTED_KEYS = {"ip", "port", "protocol", "portName", "pod", "node", "ready"}
ACTUAL_KEYS = EXPECTED_KEYS | {"serving", "terminating"}
FINDING_KEYS = {"code", "severity", "message", "details"}
SUMMARY_KEYS = {"services", "errors", "warnings", "infos"}


def test_diff_json_has_the_contracts_keys_at_every_level() -> None:
    report = inspect_manifests("shop.yaml", "drift.yaml", "ports.yaml", "readiness.yaml")

    data = documents.report_json(report)

    assert set(data) == {"services", "summary", "findings"}  # findings: the cluster-wide ones
    assert set(data["summary"]) == SUMMARY_KEYS
    assert all(set(s) == SERVICE_KEYS | SERVICE_EXTRA_KEYS for s in data["services"])
    endpoints = [
        (kind, e)
        for s in data["services"]
        for kind in ("expected", "actual", "missing", "unexpected")
        for e in s[kind]
    ]
    assert {kind for kind, _ in endpoints} == {"expected", "actual", "missing", "unexpected"}
    for kind, e in endpoints:
        assert set(e) == (ACTUAL_KEYS if kind in ("actual", "unexpected") else EXPECTED_KEYS), kind
    findings = [f for s in data["services"] for f in s["findings"]] + data["findings"]
    assert len([f for f in findings if f["code"] != "pod-not-ready"]) == 8
    assert len(findings) == 14  # and the six selected pods that are not ready, each with its reason
    assert all(set(f) == FINDING_KEYS for f in findings)


def test_diff_json_of_a_healthy_service_is_exact() -> None:
    data = documents.report_json(inspect_manifests("shop.yaml"))

    def endpoint(ip: str, pod: str, node: str) -> dict[str, object]:
        return {
            "ip": ip,
            "port": 8080,
            "protocol": "TCP",
            "portName": "http",
            "pod": pod,
            "node": node,
            "ready": True,
        }

    assert data == {
        "services": [
            {
                "namespace": "shop",
                "name": "web",
                "type": "ClusterIP",
                "headless": False,
                "clusterIP": "10.96.100.10",
                "selector": {"app": "web"},
                "ports": [
                    {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http", "nodePort": None}
                ],
                "externalName": None,
                "status": "ok",
                "pods": {"selected": 2, "ready": 2},
                "expected": [
                    endpoint("10.244.1.5", "web-7d9f8-a1", "node-a"),
                    endpoint("10.244.2.7", "web-7d9f8-b2", "node-b"),
                ],
                "actual": [
                    endpoint("10.244.1.5", "web-7d9f8-a1", "node-a")
                    | {"serving": True, "terminating": False},
                    endpoint("10.244.2.7", "web-7d9f8-b2", "node-b")
                    | {"serving": True, "terminating": False},
                ],
                "missing": [],
                "unexpected": [],
                "findings": [],
            }
        ],
        "summary": {"services": 1, "errors": 0, "warnings": 0, "infos": 0},
    }


def test_diff_json_lists_missing_and_unexpected_endpoints_and_findings() -> None:
    data = documents.report_json(inspect_manifests("shop.yaml", "drift.yaml"))
    by_name = {s["name"]: s for s in data["services"]}

    assert [(e["ip"], e["pod"]) for e in by_name["web-missing"]["missing"]] == [
        ("10.244.2.7", "web-7d9f8-b2")
    ]
    assert [(e["ip"], e["pod"], e["ready"]) for e in by_name["web-stale"]["unexpected"]] == [
        ("10.244.3.99", "web-5b4c3-gone", True)
    ]
    assert [(f["code"], f["severity"]) for f in by_name["web-missing"]["findings"]] == [
        ("endpoints-missing", "error")
    ]
    assert [(f["code"], f["severity"], f["details"]) for f in data["findings"]] == [
        ("orphan-endpointslice", "warning", {"slice": "shop/web-old-pqrst", "service": "shop/web-old"})
    ]
    assert data["summary"] == {"services": 4, "errors": 1, "warnings": 3, "infos": 0}


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_dump_round_trips_the_report(output: str) -> None:
    data = documents.report_json(inspect_manifests("shop.yaml", "selection.yaml"))

    text = documents.dump(data, output)

    assert (json.loads(text) if output == "json" else yaml.safe_load(text)) == data


@pytest.mark.parametrize(
    "manifests", [("shop.yaml", "selection.yaml"), ("drift.yaml",), ()], ids=["shop", "drift", "empty"]
)
def test_a_lazy_report_written_piece_by_piece_is_the_same_text_as_dumped_whole(
    manifests: tuple[str, ...],
) -> None:
    report = inspect_manifests(*manifests)
    pieces: list[str] = []

    documents.write_json(documents.report_json(report, lazy=True), pieces.append)

    assert "".join(pieces) == documents.dump(documents.report_json(report), "json")
    assert documents.dump(documents.report_json(report, lazy=True), "yaml") == documents.dump(
        documents.report_json(report), "yaml"
    )


# ----------------------------------------------------------------------------- tables


def test_services_table_fits_in_120_columns_for_typical_services() -> None:
    report = inspect_manifests("shop.yaml", "service-types.yaml")

    lines = tables.services_table(report).splitlines()

    assert lines[0].split() == [
        "NAMESPACE",
        "NAME",
        "TYPE",
        "CLUSTER-IP",
        "PORTS",
        "SELECTOR",
        "PODS",
        "ENDPOINTS",
        "STATUS",
    ]
    assert len(lines) == 7
    assert max(len(line) for line in lines) <= 120


@pytest.mark.parametrize(
    "row",
    [
        pytest.param("shop|web|ClusterIP|10.96.100.10|80:http|app=web|2/2|2/2|ok", id="clusterip"),
        pytest.param(
            "shop|web-headless|ClusterIP|None (headless)|<none>|app=web|2/2|2/2|ok", id="headless-portless"
        ),
        pytest.param(
            "shop|web-nodeport|NodePort|10.96.100.20|80:http/30080|app=web|2/2|2/2|ok", id="nodeport"
        ),
        pytest.param(
            "shop|web-public|LoadBalancer|10.96.100.30|443:8080/30443|app=web|2/2|2/2|ok", id="loadbalancer"
        ),
        pytest.param(
            "shop|payments-gateway|ExternalName|<none>|443|<none>|-|-|ok",
            id="externalname-no-pods-no-endpoints",
        ),
        pytest.param(
            "shop|legacy-db|ClusterIP|10.96.100.40|5432|<none>|-|1 (manual)|ok",
            id="selectorless-manual-endpoints",
        ),
    ],
)
def test_services_table_row_per_service(row: str) -> None:
    lines = tables.services_table(inspect_manifests("shop.yaml", "service-types.yaml")).splitlines()
    cells = [re.split(r"\s{2,}", line.strip()) for line in lines[1:]]

    assert row.split("|") in cells


def test_services_table_clips_a_long_selector() -> None:
    long_selector = """
apiVersion: v1
kind: Service
metadata: {name: web-long, namespace: shop}
spec:
  selector: {app.kubernetes.io/name: web, app.kubernetes.io/instance: shop}
  ports: [{port: 80}]
"""
    table = tables.services_table(inspect_manifests(long_selector))

    assert "app.kubernetes.io/instanc…" in table
    assert "app.kubernetes.io/name" not in table


def test_services_table_is_empty_without_services() -> None:
    assert tables.services_table(inspect_snapshot(Snapshot())) == ""


ALL_CODES = [
    ("selector-matches-no-pods", "error"),
    ("selector-matches-scaled-to-zero", "warning"),
    ("no-ready-endpoints", "error"),
    ("endpoints-missing", "error"),
    ("endpoints-unexpected", "warning"),
    ("endpoint-conditions-differ", "warning"),
    ("target-port-unresolved", "error"),
    ("target-port-not-declared", "info"),
    ("selectorless-no-endpoints", "warning"),
    ("nodeport-missing", "error"),
    ("loadbalancer-pending", "warning"),
    ("externalname-has-selector", "warning"),
    ("externalname-ports-ignored", "warning"),
    ("local-policy-nodes-without-endpoints", "info"),
    ("internal-traffic-policy-local-no-endpoint", "warning"),
    ("traffic-distribution-zone-without-endpoints", "info"),
    ("topology-hints-missing", "warning"),
    ("session-affinity-behind-snat", "info"),
    ("orphan-endpointslice", "warning"),
    ("dns-nxdomain", "error"),
    ("dns-mismatch", "error"),
    ("dns-missing-srv", "error"),
    ("dns-unreachable", "error"),
    ("pod-not-ready", "info"),
    ("endpoint-refused", "error"),
    ("endpoint-timeout", "error"),
    ("service-ip-unreachable", "error"),
    ("nodeport-unreachable", "error"),
    ("kube-proxy-stale", "error"),
    ("kube-proxy-unhealthy", "error"),
    ("hairpin-failed", "error"),
    ("dns-from-pod-differs", "error"),
    ("dns-missing-ptr", "error"),
    ("dns-missing-pod-record", "error"),
    ("dns-replicas-disagree", "error"),
    ("dns-replica-unreachable", "error"),
    ("dns-corefile-zone-not-served", "warning"),
    ("pod-subdomain-without-headless-service", "warning"),
    ("statefulset-service-missing", "error"),
    ("statefulset-service-not-headless", "warning"),
    ("externalname-is-ip", "warning"),
    ("networkpolicy-denies-client", "error"),
    ("networkpolicy-denies-dns-egress", "error"),
    ("networkpolicy-selects-no-pods", "info"),
    ("ingress-backend-service-missing", "error"),
    ("ingress-backend-port-missing", "error"),
    ("ingress-backend-no-endpoints", "error"),
    ("ingress-backend-externalname", "warning"),
]


def test_markdown_table_lists_every_code_with_its_severity_and_when() -> None:
    lines = markdown_table().splitlines()

    assert lines[:2] == ["| code | severity | when |", "|---|---|---|"]
    rows = [line.strip("|").split(" | ") for line in lines[2:]]
    assert [(code.strip(" `"), severity) for code, severity, _ in rows] == ALL_CODES
    assert [when.strip() for _, _, when in rows] == [c.when for c in CATALOGUE.values()]
    assert all(when.strip() for _, _, when in rows)


def test_diff_text_ends_with_the_summary_and_shows_missing_and_unexpected() -> None:
    text = explain(inspect_manifests("shop.yaml", "drift.yaml"))

    assert text.splitlines()[-1] == "4 service(s): 1 error(s), 3 warning(s), 0 info(s)"
    assert "  - missing    10.244.2.7:8080 (web-7d9f8-b2)" in text.splitlines()
    assert "  + unexpected 10.244.3.99:8080 (slice web-stale-fghij)" in text.splitlines()


def test_dns_header_lists_every_replica_asked_with_its_pod_state_and_json_carries_them() -> None:
    from inspector.dns.answers import Answer
    from inspector.dns.oracle import check_record
    from inspector.dns.querynames import Nameserver
    from inspector.dns.records import version_record
    from inspector.dns.replicas import Replica
    from inspector.output.dnsviews import dns_json, dns_text

    report = inspect_snapshot(Snapshot())
    record = version_record("cluster.local")
    checks = [check_record(record, Answer(record.qname, "TXT", "NOERROR", ('"1.1.0"',)), "a")]
    replicas = [
        Replica(
            "kube-system/coredns-a", "10.88.0.5", True, 0, "10.88.0.5:53", "direct, UDP (TCP on truncation)"
        ),
        Replica("kube-system/coredns-b", "10.88.0.6", False, 4, "kube-system/coredns-b:53", "port-forward"),
    ]
    server = Nameserver("10.88.0.5", 53, "kube-system/coredns-a, direct")
    lines = dns_text(report, checks, server, replicas).splitlines()
    assert lines[:4] == [
        "DNS replicas asked: 2 (records judged against 10.88.0.5:53)",
        "REPLICA                 IP          READY   RESTARTS   ASKED AT                   VIA",
        "kube-system/coredns-a   10.88.0.5   yes     0          10.88.0.5:53               "
        "direct, UDP (TCP on truncation)",
        "kube-system/coredns-b   10.88.0.6   no      4          kube-system/coredns-b:53   port-forward",
    ]
    assert '(cluster)   dns-version.cluster.local.   TXT    "1.1.0"    "1.1.0"    ok' in lines
    data = dns_json(report, checks, server, replicas)
    assert [(r["pod"], r["ready"], r["restarts"]) for r in data["replicas"]] == [
        ("kube-system/coredns-a", True, 0),
        ("kube-system/coredns-b", False, 4),
    ]
    assert [r["qname"] for r in data["cluster"]["records"]] == ["dns-version.cluster.local."]
