"""`why --nodes`: a Service probed from every real node at once, each node's row judged with the node model.

The faults are real and per node: kube-proxy stopped on one node, a traffic policy Local with the
only endpoint on one node, a node cut off from the rest. Each verdict is checked against what pods on
those nodes observe (and, for externalTrafficPolicy, what the host observes from outside the
cluster); the probe pods are gone afterwards.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from e2e.harness import (
    SA,
    WEB_SVC,
    Cluster,
    apply,
    bind_why_role,
    http_get,
    pods_on_every_node,
    slice_addresses,
    wait_until,
    web_pod_on,
)
from e2e.test_nodes import clients_on_every_node, hostnames, local, nodes_here, several, web_service

__all__ = ["nodes_here", "several"]  # the fixtures, for the tests below

PROBES = "app.kubernetes.io/component=why-probe"
ROOT = Path(__file__).resolve().parent.parent


def why_nodes(cluster: Cluster, namespace: str, service: str, *extra: str) -> tuple[int, Any]:
    res = cluster.inspect(
        "why", service, "-n", namespace, "--nodes", "all", *extra, "-o", "json", timeout=240
    )
    assert "Traceback" not in res.stderr, res.stderr
    try:
        return res.returncode, json.loads(res.stdout)
    except ValueError:
        raise AssertionError(f"not JSON (exit {res.returncode}): {res.stdout!r} {res.stderr!r}") from None


def rows(doc: Any) -> dict[str, Any]:
    return {n["node"]: n for n in doc["nodes"]}


def no_probe_left(cluster: Cluster, namespace: str) -> None:
    assert cluster.kubectl("get", "pods", "-n", namespace, "-l", PROBES, "-o", "name").strip() == ""


def one_pod_on(cluster: Cluster, namespace: str, node: str, name: str = "only") -> str:
    """An agnhost web pod (app=web, port 5000) pinned to `node`; its IP once Ready."""
    web_pod_on(cluster, namespace, name, node)
    cluster.kubectl("wait", "-n", namespace, "--for=condition=Ready", f"pod/{name}", "--timeout=90s")
    return str(cluster.get_json("pod", name, "-n", namespace)["status"]["podIP"])


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) and value else None


def rules_written(cluster: Cluster, namespace: str, service: str) -> None:
    """Waits until kube-proxy on every node has finished a sync after the Service's EndpointSlices
    were last written (its /healthz `lastUpdated`, read through the API server's node proxy, against
    the slices' managedFields times, which have whole seconds): the Service's rules are then on every
    node. Without it a probe can run before a loaded node's kube-proxy has seen the Service, and its
    ClusterIP has no rule there yet (seen on kind, whose nodes have no route for it: 'no route to
    host' where the policy drops)."""
    slices = cluster.get_json(
        "endpointslices",
        "-n",
        namespace,
        "-l",
        f"kubernetes.io/service-name={service}",
        "--show-managed-fields",
    )
    written = max(
        (
            t
            for s in slices["items"]
            for m in s["metadata"].get("managedFields") or []
            if (t := _time(m.get("time")))
        ),
        default=None,
    )
    assert written is not None, slices

    def synced(node: str) -> bool:
        raw = cluster.kubectl("get", "--raw", f"/api/v1/nodes/{node}:10256/proxy/healthz", check=False)
        try:
            last = _time(json.loads(raw).get("lastUpdated"))
        except (ValueError, AttributeError):
            return False
        return last is not None and last > written

    wait_until(
        lambda: all(synced(n.name) for n in cluster.nodes),
        what=f"kube-proxy on every node synced after {service}'s EndpointSlices changed ({written})",
        timeout=90,
    )


def service(cluster: Cluster, namespace: str, name: str, spec: str, endpoints: int) -> dict[str, Any]:
    """web-svc renamed, with `spec` lines added; the Service once `endpoints` ready endpoints are in."""
    apply(cluster, namespace, WEB_SVC.replace("name: web-svc", f"name: {name}") + spec)
    wait_until(
        lambda: len([e for e in slice_addresses(cluster, namespace, name) if e[2]]) == endpoints,
        what=f"{endpoints} ready endpoint(s) of {name}",
    )
    return dict(cluster.get_json("service", name, "-n", namespace))


def test_a_healthy_service_passes_from_every_real_node_and_leaves_no_probe(
    nodes_here: Cluster, namespace: str
) -> None:
    several = nodes_here
    pods_on_every_node(several, namespace)
    web_service(several, namespace, "web-svc")
    rules_written(several, namespace, "web-svc")

    code, doc = why_nodes(several, namespace, "web-svc")

    assert code == 0, doc["verdict"]
    by_node = rows(doc)
    for node in several.nodes:
        row = by_node[node.name]
        assert row["ok"] is True and row["state"] == "probed", row
        assert row["cells"] == {"dns": "ok", "endpoints": "ok", "cluster-ip": "ok", "node-ports": "n/a"}
    # kwok's nodes (the local cluster's two; kind has none) are skipped, said so
    simulated = [r for r in doc["nodes"] if r["node"] not in {n.name for n in several.nodes}]
    kwok = several.get_json("nodes", "-l", "type=kwok")["items"]
    assert sorted(r["node"] for r in simulated) == sorted(n["metadata"]["name"] for n in kwok), simulated
    assert all(r["state"] == "skipped" and "simulated" in r["reason"] for r in simulated)
    assert doc["failedNodes"] == []
    assert "works from every node probed" in doc["verdict"]
    no_probe_left(several, namespace)


def test_kube_proxy_stopped_on_one_node_fails_that_node_alone_at_the_cluster_ip(
    several: Cluster, namespace: str
) -> None:
    pods_on_every_node(several, namespace)
    stale = several.nodes[-1]  # not the first: the host's gateway to Service addresses
    local("stop-component", "kube-proxy", "--node", stale.name)
    try:
        web_service(several, namespace, "web-late")
        code, doc = why_nodes(several, namespace, "web-late", "--node-health")

        assert code == 1
        assert doc["failedNodes"] == [stale.name], doc["verdict"]
        row = rows(doc)[stale.name]
        assert row["cells"]["endpoints"] == "ok" and row["cells"]["cluster-ip"] == "FAILED", row
        assert f"kube-proxy on node {stale.name}" in doc["verdict"]
        codes = {(f["code"], f["details"].get("node")) for f in row["findings"]}
        assert ("service-ip-unreachable", stale.name) in codes
        # a stopped kube-proxy answers nothing: no last sync to compare, so it is unhealthy, not stale
        assert ("kube-proxy-unhealthy", stale.name) in codes
        assert row["kubeProxy"]["reached"] is False
        for node in several.nodes[:-1]:
            assert rows(doc)[node.name]["ok"] is True
            assert rows(doc)[node.name]["kubeProxy"]["verdict"] == "ok"
        no_probe_left(several, namespace)
    finally:
        local("start-component", "kube-proxy", "--node", stale.name)
    # started again, it syncs: every node passes
    wait_until(
        lambda: why_nodes(several, namespace, "web-late", "--node-health")[0] == 0,
        what=f"web-late from every node once kube-proxy on {stale.name} runs again",
        timeout=90,
    )


def test_internal_traffic_policy_local_connects_only_from_the_endpoints_node(
    nodes_here: Cluster, namespace: str
) -> None:
    several = nodes_here
    home = several.nodes[0]
    one_pod_on(several, namespace, home.name)
    service(several, namespace, "itp", "  internalTrafficPolicy: Local\n", endpoints=1)
    others = sorted(n.name for n in several.nodes[1:])
    rules_written(several, namespace, "itp")

    report = several.inspect_json("diff", "-n", namespace)
    found = [
        f
        for s in report["services"]
        for f in s["findings"]
        if f["code"] == "internal-traffic-policy-local-no-endpoint"
    ]
    assert len(found) == 1 and found[0]["details"]["nodeList"] == others

    code, doc = why_nodes(several, namespace, "itp")

    assert code == 1
    assert doc["failedNodes"] == others
    by_node = rows(doc)
    assert by_node[home.name]["ok"] is True
    svc_step = next(s for s in by_node[home.name]["steps"] if s["name"] == "service-ip-connects")
    assert all(e.endswith(": connected") for e in svc_step["evidence"]), svc_step
    for name in others:
        step = next(s for s in by_node[name]["steps"] if s["name"] == "service-ip-connects")
        assert any("timeout" in e for e in step["evidence"]), step  # dropped, not refused
        assert by_node[name]["model"].startswith("DROP")
        assert [f["code"] for f in by_node[name]["findings"]] == ["internal-traffic-policy-local-no-endpoint"]
    assert "internalTrafficPolicy Local" in doc["verdict"] and all(n in doc["verdict"] for n in others)
    no_probe_left(several, namespace)


def _connects(address: str, port: int) -> bool:
    try:
        return bool(http_get(f"http://{address}:{port}/hostname", timeout=3))
    except (TimeoutError, OSError):
        return False


def test_external_traffic_policy_local_node_ports_answer_only_where_the_endpoint_is(
    nodes_here: Cluster, namespace: str
) -> None:
    several = nodes_here
    home = several.nodes[0]
    one_pod_on(several, namespace, home.name)
    svc = service(
        several, namespace, "etp", "  type: LoadBalancer\n  externalTrafficPolicy: Local\n", endpoints=1
    )
    node_port = svc["spec"]["ports"][0]["nodePort"]
    assert svc["spec"]["healthCheckNodePort"]
    others = sorted(n.name for n in several.nodes[1:])
    rules_written(several, namespace, "etp")

    # observed from the host, outside the cluster: only the endpoint's node answers on its node port
    wait_until(lambda: _connects(home.ip, node_port), what=f"node port {node_port} on {home.name}")
    for node in several.nodes[1:]:
        assert not _connects(node.ip, node_port), node.name

    code, doc = why_nodes(several, namespace, "etp", "--node-health")

    by_node = rows(doc)
    assert by_node[home.name]["healthCheck"]["status"] == 200
    assert by_node[home.name]["healthCheck"]["localEndpoints"] == 1
    for name in others:
        assert by_node[name]["healthCheck"]["status"] == 503, by_node[name]
        assert by_node[name]["healthCheck"]["expected"] == 503
    model = [f for f in doc["modelFindings"] if f["code"] == "local-policy-nodes-without-endpoints"]
    assert len(model) == 1 and set(others) <= set(model[0]["details"]["nodeList"])
    assert home.name not in model[0]["details"]["nodeList"]
    # from pods, the other nodes' node ports drop too (the CNI masquerades what leaves for a node
    # address, so it arrives as external traffic): the verdict says it is the policy
    assert code == 1
    assert "externalTrafficPolicy Local" in doc["verdict"] and all(n in doc["verdict"] for n in others)
    for row in doc["nodes"]:
        if row["state"] == "probed" and not row["ok"]:
            assert {f["code"] for f in row["findings"]} == {"local-policy-nodes-without-endpoints"}, row
    no_probe_left(several, namespace)


def test_prefer_same_zone_each_node_reaches_the_endpoints_the_node_model_predicts(
    nodes_here: Cluster, namespace: str
) -> None:
    several = nodes_here
    if len(several.nodes) < 3:
        pytest.skip("a zone without endpoints needs three nodes")
    a, b = several.nodes[0], several.nodes[1]
    ips = {
        one_pod_on(several, namespace, a.name, "web-a"): "web-a",
        one_pod_on(several, namespace, b.name, "web-b"): "web-b",
    }
    service(several, namespace, "near", "  trafficDistribution: PreferSameZone\n", endpoints=2)
    wait_until(
        lambda: all(
            e.get("hints", {}).get("forZones")
            for s in several.get_json(
                "endpointslices", "-n", namespace, "-l", "kubernetes.io/service-name=near"
            )["items"]
            for e in s.get("endpoints") or []
        ),
        what="the EndpointSlice controller's zone hints on near's endpoints",
    )
    rules_written(several, namespace, "near")
    clients = clients_on_every_node(several, namespace)
    cluster_ip = several.get_json("service", "near", "-n", namespace)["spec"]["clusterIP"]

    code, doc = why_nodes(several, namespace, "near")

    assert code == 0, doc["verdict"]
    for node in several.nodes:
        predicted = {ips[ip] for ip in rows(doc)[node.name]["model"].split(", ")}
        # enough requests that a node using both endpoints is seen to reach both
        reached = set(hostnames(several, namespace, clients[node.name], cluster_ip, 3000, tries=24))
        assert reached == predicted, (node.name, reached, predicted)
    assert {ips[ip] for ip in rows(doc)[a.name]["model"].split(", ")} == {"web-a"}
    assert {ips[ip] for ip in rows(doc)[several.nodes[2].name]["model"].split(", ")} == {"web-a", "web-b"}


def test_a_cut_node_is_named_as_the_node_whose_probe_could_not_run(several: Cluster, namespace: str) -> None:
    pods_on_every_node(several, namespace)
    web_service(several, namespace, "web-svc")
    cut = several.nodes[-1]
    local("cut-node", cut.name)
    try:
        code, doc = why_nodes(several, namespace, "web-svc")
    finally:
        local("mend-node", cut.name)

    assert code == 1
    row = rows(doc)[cut.name]
    assert row["ok"] is False and row["state"] == "not-run", row
    assert cut.name in row["reason"]
    assert cut.name in doc["failedNodes"]
    assert f"the probe could not run on node {cut.name}" in doc["verdict"]
    # the probe pod meant for the cut node was deleted too (grace period 0: no kubelet needed)
    no_probe_left(several, namespace)


def test_nodes_needs_only_the_why_role_and_node_health_its_own(
    nodes_here: Cluster, namespace: str, tmp_path: Path
) -> None:
    """As the least-privileged ServiceAccount: with deploy/rbac.yaml and the why role bound in the
    namespace, `--nodes` probes every node (its only writes: the probe pods) and says it could not read
    kube-proxy's health; with deploy/rbac-node-health.yaml too, it reads it on every node."""
    from e2e.test_guarantees import run as run_as
    from e2e.test_guarantees import token_kubeconfig

    several = nodes_here
    pods_on_every_node(several, namespace)
    web_service(several, namespace, "web-svc")
    several.kubectl("apply", "-f", str(ROOT / "deploy" / "rbac.yaml"))
    bind_why_role(several, namespace)
    token = several.kubectl("create", "token", "svc-inspect", "-n", "default", "--duration=30m").strip()
    kubeconfig = token_kubeconfig(several, token, tmp_path / "sa.kubeconfig", namespace)
    as_sa = f"--as={SA}"
    res = run_as(kubeconfig, "why", "web-svc", "--nodes", "all", "--node-health", "-o", "json")
    doc = json.loads(res.stdout)
    assert res.returncode == 0, (doc["verdict"], res.stderr)
    assert all(rows(doc)[n.name]["ok"] and rows(doc)[n.name]["kubeProxy"] is None for n in several.nodes)
    assert any("deploy/rbac-node-health.yaml" in note for note in doc["notes"]), doc["notes"]

    health = str(ROOT / "deploy" / "rbac-node-health.yaml")
    several.kubectl("apply", "-f", health)
    try:
        wait_until(
            lambda: (
                several.kubectl("auth", "can-i", "get", "nodes/proxy", as_sa, check=False).strip() == "yes"
            ),
            "the node-health role to take effect",
        )
        res = run_as(kubeconfig, "why", "web-svc", "--nodes", "all", "--node-health", "-o", "json")
        doc = json.loads(res.stdout)
        assert res.returncode == 0, (doc["verdict"], res.stderr)
        for node in several.nodes:
            proxy = rows(doc)[node.name]["kubeProxy"]
            assert proxy["reached"] and proxy["status"] == 200 and proxy["verdict"] == "ok", (
                node.name,
                proxy,
            )
            assert proxy["lastUpdated"] and proxy["currentTime"]
    finally:
        several.kubectl("delete", "-f", health, "--ignore-not-found")
    no_probe_left(several, namespace)


def test_a_stalled_kube_proxy_is_stale_from_its_health_and_fails_its_node_at_the_cluster_ip(
    several: Cluster, namespace: str
) -> None:
    """kube-proxy on one node stays up and answers /healthz, but its rule updates hang (stall-proxy,
    the stuck iptables-restore of kubernetes#98570): a Service created then is missing on that node,
    and its last sync is older than the Service: kube-proxy-stale names it. Unstalled, it syncs."""
    pods_on_every_node(several, namespace)
    stuck = several.nodes[-1]  # not the first: the host's gateway to Service addresses
    local("stall-proxy", stuck.name)
    try:
        web_service(several, namespace, "web-stuck")

        def judged() -> Any:  # once the Service is older than the grace a sync may take
            code, doc = why_nodes(several, namespace, "web-stuck", "--node-health")
            row = rows(doc)[stuck.name]
            return (code, doc) if any(f["code"] == "kube-proxy-stale" for f in row["findings"]) else None

        code, doc = wait_until(judged, what=f"kube-proxy-stale on {stuck.name}", timeout=90)
        assert code == 1
        assert doc["failedNodes"] == [stuck.name], doc["verdict"]
        row = rows(doc)[stuck.name]
        assert row["cells"]["endpoints"] == "ok" and row["cells"]["cluster-ip"] == "FAILED", row
        assert row["kubeProxy"]["reached"] is True and row["kubeProxy"]["verdict"] == "STALE", row
        stale = next(f for f in row["findings"] if f["code"] == "kube-proxy-stale")
        assert stale["details"]["node"] == stuck.name
        assert f"kube-proxy on node {stuck.name} last synced its rules at" in doc["verdict"]
        for node in several.nodes[:-1]:
            assert rows(doc)[node.name]["kubeProxy"]["verdict"] == "ok"
    finally:
        local("unstall-proxy", stuck.name)
    wait_until(
        lambda: why_nodes(several, namespace, "web-stuck", "--node-health")[0] == 0,
        what=f"web-stuck from every node once kube-proxy on {stuck.name} syncs again",
        timeout=90,
    )
    no_probe_left(several, namespace)
