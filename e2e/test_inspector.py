"""The installed kubectl-svc_inspect against a real cluster: every Service type, every error-level finding
a real cluster can show, and drift created live (relabelled pods, rollouts, manual slices)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from e2e.harness import MANIFESTS, WEB_SVC, Cluster, apply, bare_web_pod, deploy_web, wait_until


def diff(cluster: Cluster, namespace: str, *args: str) -> tuple[dict[str, Any], int]:
    res = cluster.inspect("diff", "-n", namespace, *args, "-o", "json")
    assert "Traceback" not in res.stderr, res.stderr
    return json.loads(res.stdout), res.returncode


def entry(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["services"] if s["name"] == name)


def codes(report: dict[str, Any], name: str) -> list[str]:
    return sorted(f["code"] for f in entry(report, name)["findings"])


def settled(
    cluster: Cluster, namespace: str, name: str, want: list[str], timeout: float = 60
) -> dict[str, Any]:
    """Polls the inspector until the Service's finding codes are exactly `want` (the controllers lag)."""

    def check() -> dict[str, Any] | None:
        report, _ = diff(cluster, namespace, name)
        return report if codes(report, name) == want else None

    try:
        return wait_until(check, what=f"{name} findings == {want}", timeout=timeout)
    except AssertionError:
        report, _ = diff(cluster, namespace, name)
        raise AssertionError(f"{name}: {entry(report, name)['findings']}") from None


# --------------------------------------------------------------------------- Service types


def test_healthy_clusterip_service_expected_endpoints_equal_actual_and_exit_0(
    cluster: Cluster, namespace: str
):
    ips = deploy_web(cluster, namespace)
    apply(cluster, namespace, WEB_SVC)
    report = settled(cluster, namespace, "web-svc", [])
    svc = entry(report, "web-svc")
    assert sorted((e["ip"], e["port"]) for e in svc["expected"]) == [(ip, 5000) for ip in ips]
    assert sorted((e["ip"], e["port"], e["ready"]) for e in svc["actual"]) == [(ip, 5000, True) for ip in ips]
    assert svc["missing"] == [] and svc["unexpected"] == []
    assert {e["pod"] for e in svc["actual"]} == {e["pod"] for e in svc["expected"]}
    assert report["summary"] == {"services": 1, "errors": 0, "warnings": 0, "infos": 0}
    _, code = diff(cluster, namespace)
    assert code == 0


def test_headless_service_is_inspected_like_clusterip(cluster: Cluster, namespace: str):
    deploy_web(cluster, namespace)
    apply(cluster, namespace, WEB_SVC.replace("name: web-svc", "name: web-headless") + "  clusterIP: None\n")
    report = settled(cluster, namespace, "web-headless", [])
    svc = entry(report, "web-headless")
    assert svc["headless"] is True and svc["clusterIP"] == "None"
    assert len(svc["actual"]) == 3


def test_nodeport_service_shows_its_node_port_on_every_node(cluster: Cluster, namespace: str):
    deploy_web(cluster, namespace)
    apply(cluster, namespace, WEB_SVC.replace("name: web-svc", "name: web-np") + "  type: NodePort\n")
    report = settled(cluster, namespace, "web-np", [])
    node_port = entry(report, "web-np")["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    detail = cluster.inspect("services", "web-np", "-n", namespace)
    nodes = cluster.get_json("nodes")["items"]
    assert detail.returncode == 0, detail.stderr
    for n in nodes:
        assert f"{node_port}/TCP" in detail.stdout and n["metadata"]["name"] in detail.stdout


def test_loadbalancer_without_ingress_is_pending_and_still_works_as_nodeport(
    cluster: Cluster, namespace: str
):
    deploy_web(cluster, namespace)
    apply(cluster, namespace, WEB_SVC.replace("name: web-svc", "name: web-lb") + "  type: LoadBalancer\n")
    report = settled(cluster, namespace, "web-lb", ["loadbalancer-pending"])
    finding = entry(report, "web-lb")["findings"][0]
    node_port = entry(report, "web-lb")["ports"][0]["nodePort"]
    assert finding["severity"] == "warning"
    assert f"as a NodePort, on each node's port {node_port}" in finding["message"]
    _, code = diff(cluster, namespace, "web-lb")
    assert code == 0  # a warning is not an error


def test_externalname_services_have_no_endpoints_and_warn_when_ports_would_be_remapped(
    cluster: Cluster, namespace: str
):
    apply(
        cluster, namespace, (MANIFESTS / "demo" / "external.yaml").read_text().replace("namespace: demo", "")
    )
    report, code = diff(cluster, namespace)
    assert codes(report, "example-prod") == []
    assert entry(report, "example-prod")["expected"] == [] and entry(report, "example-prod")["actual"] == []
    assert codes(report, "service-python") == ["externalname-ports-ignored"]
    assert (
        "clients reach remote.server.url.com:3000, never port 443"
        in (entry(report, "service-python")["findings"][0]["message"])
    )
    assert code == 0


# --------------------------------------------------------------------------- error-level findings


def test_selector_typo_is_an_error_naming_the_label_the_pods_lack(cluster: Cluster, namespace: str):
    deploy_web(cluster, namespace)
    apply(cluster, namespace, WEB_SVC.replace("    app: web\n", "    app: web\n    tier: frontend\n", 1))
    report, code = diff(cluster, namespace, "web-svc")
    assert code == 1
    (finding,) = entry(report, "web-svc")["findings"]
    assert finding["code"] == "selector-matches-no-pods" and finding["severity"] == "error"
    assert "missing label tier=frontend" in finding["message"]
    assert {p["missing"]["tier"] for p in finding["details"]["closestPods"]} == {"frontend"}
    detail = cluster.inspect("services", "web-svc", "-n", namespace)
    assert "Near-miss pods" in detail.stdout and "missing label tier=frontend" in detail.stdout


def test_deployment_scaled_to_zero_on_purpose_is_a_warning_not_an_error(cluster: Cluster, namespace: str):
    deploy_web(cluster, namespace)
    apply(cluster, namespace, WEB_SVC)
    cluster.kubectl("scale", "-n", namespace, "deployment/web", "--replicas=0")
    report = settled(cluster, namespace, "web-svc", ["selector-matches-scaled-to-zero"])
    assert entry(report, "web-svc")["findings"][0]["severity"] == "warning"
    assert "Deployment web" in entry(report, "web-svc")["findings"][0]["message"]
    _, code = diff(cluster, namespace, "web-svc")
    assert code == 0


def test_pods_that_never_become_ready_give_no_ready_endpoints(cluster: Cluster, namespace: str):
    manifest = (
        (MANIFESTS / "web.yaml")
        .read_text()
        .replace(
            "      labels:\n        app: web\n",
            '      labels:\n        app: web\n      annotations:\n        kwok.inspector.test/ready: "false"\n',
        )
    )
    if cluster.real_pods:  # kwok's annotation means nothing to a real kubelet: a gate nobody sets
        manifest = manifest.replace(
            "\n      containers:",
            "\n      readinessGates:\n        - conditionType: inspector.test/never\n      containers:",
        )
    apply(cluster, namespace, manifest)
    apply(cluster, namespace, WEB_SVC)
    # every pod has its IP (a pending one is not ready either, but gives no endpoint yet)
    wait_until(
        lambda: (
            all(p["status"].get("podIP") for p in pods) and len(pods) == 3
            if (pods := cluster.get_json("pods", "-n", namespace, "-l", "app=web")["items"])
            else False
        ),
        what="3 web pods with an IP",
    )
    # and each pod says why it is not ready (pod-not-ready, info)
    report = settled(cluster, namespace, "web-svc", ["no-ready-endpoints", *["pod-not-ready"] * 3])
    svc = entry(report, "web-svc")
    assert len(svc["expected"]) == 3 and all(e["ready"] is False for e in svc["expected"])
    assert all(e["ready"] is False for e in svc["actual"])
    assert "3 pod(s) selected but none is ready" in svc["findings"][0]["message"]
    if cluster.real_pods:
        assert all(
            "readiness gate inspector.test/never not True" in f["details"]["troubles"]
            for f in svc["findings"]
            if f["code"] == "pod-not-ready"
        )
    _, code = diff(cluster, namespace, "web-svc")
    assert code == 1


def test_pod_relabelled_out_of_the_selector_leaves_the_service_with_a_near_miss(
    cluster: Cluster, namespace: str
):
    apply(
        cluster,
        namespace,
        bare_web_pod("solo"),
    )
    apply(cluster, namespace, WEB_SVC)
    settled(cluster, namespace, "web-svc", [])
    cluster.kubectl("label", "pod", "solo", "-n", namespace, "app=web-canary", "--overwrite")
    report = settled(cluster, namespace, "web-svc", ["selector-matches-no-pods"])
    message = entry(report, "web-svc")["findings"][0]["message"]
    assert "pod solo: label app=web-canary (selector wants app=web)" in message
    pods = cluster.inspect("pods", "-n", namespace, "-o", "json")
    assert [p["services"] for p in json.loads(pods.stdout)["pods"]] == [[]]


def test_rollout_whose_pods_drop_the_named_target_port_is_an_error_per_pod(cluster: Cluster, namespace: str):
    deploy_web(cluster, namespace)
    apply(cluster, namespace, WEB_SVC)
    settled(cluster, namespace, "web-svc", [])
    renamed = (MANIFESTS / "web.yaml").read_text().replace("- name: http", "- name: web-http")
    apply(cluster, namespace, renamed)
    cluster.kubectl("rollout", "status", "-n", namespace, "deployment/web", "--timeout=60s")
    want = ["target-port-unresolved"] * 3
    report = settled(cluster, namespace, "web-svc", want)
    svc = entry(report, "web-svc")
    assert svc["expected"] == [] and svc["actual"] == []
    pods = {f["details"]["pod"] for f in svc["findings"]}
    assert len(pods) == 3
    assert all("targetPort 'http' is not a TCP containerPort name" in f["message"] for f in svc["findings"])
    _, code = diff(cluster, namespace)
    assert code == 1


def test_endpoints_missing_while_the_controller_manager_is_down(cluster: Cluster, namespace: str):
    if not cluster.local:
        pytest.skip("stops a control-plane component: local cluster only")
    deploy_web(cluster, namespace, replicas=1)
    apply(cluster, namespace, WEB_SVC)
    settled(cluster, namespace, "web-svc", [])
    # A bare pod joins the selector while no controller can update the slices: real drift.
    local = [sys.executable, "cluster/localcluster.py"]
    subprocess.run([*local, "stop-component", "kube-controller-manager"], check=True)
    try:
        apply(
            cluster,
            namespace,
            bare_web_pod("late"),
        )
        late_ip = wait_until(
            lambda: cluster.get_json("pod", "late", "-n", namespace)["status"].get("podIP"),
            what="pod late to get an IP",
        )
        report = settled(cluster, namespace, "web-svc", ["endpoints-missing"], timeout=30)
        svc = entry(report, "web-svc")
        assert [(e["ip"], e["port"], e["pod"]) for e in svc["missing"]] == [(late_ip, 5000, "late")]
        _, code = diff(cluster, namespace, "web-svc")
        assert code == 1
    finally:
        subprocess.run([*local, "start-component", "kube-controller-manager"], check=True)
    settled(cluster, namespace, "web-svc", [], timeout=60)


# --------------------------------------------------------------------------- manual slices


MANUAL_SLICE = """
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}
  labels:
    kubernetes.io/service-name: {service}
    endpointslice.kubernetes.io/managed-by: staff.example.com
addressType: IPv4
ports:
  - name: http
    port: 5000
    protocol: TCP
endpoints:
  - addresses: ["{address}"]
"""

SELECTORLESS = """
apiVersion: v1
kind: Service
metadata:
  name: legacy-db
spec:
  ports:
    - name: http
      port: 5000
"""


def test_selectorless_service_with_a_manual_slice_is_clean(cluster: Cluster, namespace: str):
    apply(cluster, namespace, SELECTORLESS)
    apply(
        cluster,
        namespace,
        MANUAL_SLICE.format(name="legacy-db-1", service="legacy-db", address="10.191.255.50"),
    )
    report, code = diff(cluster, namespace)
    assert codes(report, "legacy-db") == [] and code == 0
    assert [(e["ip"], e["port"]) for e in entry(report, "legacy-db")["actual"]] == [("10.191.255.50", 5000)]


def test_selectorless_service_without_slices_warns(cluster: Cluster, namespace: str):
    apply(cluster, namespace, SELECTORLESS)
    report, code = diff(cluster, namespace)
    assert codes(report, "legacy-db") == ["selectorless-no-endpoints"] and code == 0


def test_slice_left_behind_by_a_deleted_service_is_an_orphan(cluster: Cluster, namespace: str):
    apply(cluster, namespace, SELECTORLESS)
    apply(
        cluster,
        namespace,
        MANUAL_SLICE.format(name="legacy-db-1", service="legacy-db", address="10.191.255.50"),
    )
    cluster.kubectl("delete", "service", "legacy-db", "-n", namespace)
    report, _ = diff(cluster, namespace)
    assert report["services"] == []
    assert [(f["code"], f["details"]["slice"]) for f in report["findings"]] == [
        ("orphan-endpointslice", f"{namespace}/legacy-db-1")
    ]


def test_manual_slice_on_a_selector_service_with_a_foreign_address_is_unexpected(
    cluster: Cluster, namespace: str
):
    deploy_web(cluster, namespace, replicas=1)
    apply(cluster, namespace, WEB_SVC)
    settled(cluster, namespace, "web-svc", [])
    apply(
        cluster,
        namespace,
        MANUAL_SLICE.format(name="web-svc-extra", service="web-svc", address="10.191.255.77"),
    )
    report = settled(cluster, namespace, "web-svc", ["endpoints-unexpected"])
    svc = entry(report, "web-svc")
    assert [(e["ip"], e["port"]) for e in svc["unexpected"]] == [("10.191.255.77", 5000)]
    assert "web-svc-extra" in svc["findings"][0]["message"]


# --------------------------------------------------------------------------- views and bad input


def test_pods_view_says_which_services_select_each_pod(cluster: Cluster, namespace: str):
    deploy_web(cluster, namespace, replicas=1)
    apply(cluster, namespace, WEB_SVC)
    apply(cluster, namespace, WEB_SVC.replace("name: web-svc", "name: web-other"))
    res = cluster.inspect("pods", "-n", namespace, "-l", "app=web")
    assert res.returncode == 0, res.stderr
    header, row = res.stdout.splitlines()
    assert header.split() == ["NAME", "IP", "READY", "NODE", "LABELS", "SERVICES"]  # one namespace: no column
    assert row.startswith("web-") and row.split()[-1] == "web-other,web-svc"
    across = cluster.inspect("pods", "-A", "-l", "app=web").stdout.splitlines()
    assert across[0].split()[0] == "NAMESPACE"
    assert [line.split()[-1] for line in across if line.startswith(namespace)] == ["web-other,web-svc"]


def test_endpoints_view_lists_actual_beside_expected(cluster: Cluster, namespace: str):
    ips = deploy_web(cluster, namespace, replicas=2)
    apply(cluster, namespace, WEB_SVC)
    settled(cluster, namespace, "web-svc", [])
    res = cluster.inspect("endpoints", "web-svc", "-n", namespace)
    assert res.returncode == 0, res.stderr
    rows = [line.split() for line in res.stdout.splitlines()[1:]]
    assert sorted(r[1] for r in rows) == sorted(f"{ip}:5000" for ip in ips)
    assert {r[-1] for r in rows} == {"ok"}


@pytest.mark.parametrize(
    ("args", "status", "text"),
    [
        (["diff", "-n", "no-such-namespace"], 2, 'namespace "no-such-namespace" not found'),
        (["services", "no-such-service"], 2, 'service "no-such-service" not found'),
        (["diff", "--context", "no-such-context"], 2, 'context "no-such-context" not found'),
        (["diff", "-l", "app in (a"], 2, "invalid selector"),
    ],
    ids=["unknown-namespace", "unknown-service", "unknown-context", "bad-selector"],
)
def test_bad_input_gives_one_line_and_exit_2(
    cluster: Cluster, namespace: str, args: list[str], status: int, text: str
):
    res = cluster.inspect(*args, *([] if "-n" in args else ["-n", namespace]))
    assert res.returncode == status, (res.stdout, res.stderr)
    assert text in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.stderr + res.stdout
