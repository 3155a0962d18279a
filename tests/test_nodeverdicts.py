"""`why --nodes`' pure half: which nodes are probed, kube-proxy's health judged, and each node's row
and the verdict judged from the probes' logs with the node model (manifests in, rows and words out)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inspector.cli import run
from inspector.diagnosis.checklist import Vantage, active_steps, parse_target, probe_plan
from inspector.diagnosis.nodetraffic import ProxyAction, node_traffic
from inspector.diagnosis.nodeverdicts import (
    NodeRun,
    ProxyHealth,
    RunState,
    choose_nodes,
    health_check_answer,
    judge_health,
    later_health,
    node_row,
    nodes_sentence,
    proxy_health,
    skip_reason,
    skipped_row,
)
from inspector.diagnosis.probes import parse_probe_log
from inspector.diagnosis.report import ServiceReport
from inspector.model.building import node_from_api
from inspector.model.snapshot import Node
from tests.conftest import inspect_manifests

NODES = "".join(
    f"""
---
apiVersion: v1
kind: Node
metadata: {{name: node-{x}, labels: {{topology.kubernetes.io/zone: zone-{x}}}}}
status:
  addresses: [{{type: InternalIP, address: 10.89.0.1{i}}}]
  conditions: [{{type: Ready, status: "True"}}]
"""
    for i, x in enumerate("abc", 1)
)


def shop(spec: str = "", kind: str = "ClusterIP") -> str:
    """Service shop/web over one ready pod on node-a (10.88.1.5), with `spec` lines added."""
    node_port = ", nodePort: 30080" if kind != "ClusterIP" else ""
    return (
        f"""
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec:
  type: {kind}
  clusterIP: 10.96.0.50
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: 8080{node_port}}}]
{spec}---
apiVersion: v1
kind: Pod
metadata: {{name: web-a, namespace: shop, labels: {{app: web}}}}
spec:
  nodeName: node-a
  containers: [{{name: web, image: agnhost, ports: [{{containerPort: 8080}}]}}]
status:
  phase: Running
  podIP: 10.88.1.5
  conditions: [{{type: Ready, status: "True"}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: web-x1, namespace: shop, labels: {{kubernetes.io/service-name: web}}}}
addressType: IPv4
ports: [{{name: http, port: 8080, protocol: TCP}}]
endpoints:
  - addresses: [10.88.1.5]
    nodeName: node-a
    conditions: {{ready: true}}
    targetRef: {{kind: Pod, namespace: shop, name: web-a}}
"""
        + NODES
    )


def report(manifest: str) -> ServiceReport:
    sr = inspect_manifests(manifest).service("shop", "web")
    assert sr is not None
    return sr


TARGET = parse_target("web", "shop")


def probed(sr: ServiceReport, node: str, **broken: str):  # type: ignore[no-untyped-def]
    """node_row for `node`'s probe, every check connected/resolved unless `broken` says otherwise."""
    snapshot_nodes = tuple(sr.facts.nodes)
    plan = probe_plan(sr, TARGET, snapshot_nodes)
    lines = ["inspector-probe dns RESOLVED 10.96.0.50 web.shop.svc.cluster.local"]
    lines += [
        f"inspector-probe {c.id} {broken.get(c.id.replace('-', '_'), 'CONNECTED')}"
        for c in plan.checks
        if c.kind == "tcp"
    ]
    log = parse_probe_log("\n".join([*lines, "inspector-probe done"]), plan.checks)
    steps = active_steps(sr, TARGET, Vantage("shop", None, node, pinned=True), plan, log)
    traffic = {t.node: t for t in node_traffic(sr.service, sr.facts.slices, snapshot_nodes)}
    drops = frozenset(
        n
        for n, t in traffic.items()
        if any(p.external and p.external.action is ProxyAction.DROP for p in t.ports)
    )
    zone = f"zone-{node[-1]}"
    return node_row(
        sr, NodeRun(node, zone, RunState.PROBED, steps=tuple(steps)), traffic[node], external_drops=drops
    )


# --------------------------------------------------------------------------- which nodes


@pytest.mark.parametrize(
    ("node", "reason"),
    [
        (Node("a", ready=True), None),
        (Node("k", ready=True, simulated=True), "simulated (kwok) node: no kubelet runs pods there"),
        (Node("n", ready=False), "the node is NotReady"),
        (
            Node("t", ready=True, taints=("node-role.kubernetes.io/control-plane:NoSchedule",)),
            "tainted node-role.kubernetes.io/control-plane:NoSchedule: pods that do not tolerate it do not run "
            "there",
        ),
    ],
)
def test_a_probe_runs_only_where_a_pod_can(node: Node, reason: str | None) -> None:
    assert skip_reason(node) == reason


def test_a_node_keeps_only_the_taints_that_keep_pods_away() -> None:
    node = node_from_api(
        {
            "metadata": {"name": "x"},
            "spec": {
                "taints": [
                    {"key": "dedicated", "value": "db", "effect": "NoSchedule"},
                    {"key": "soon", "effect": "PreferNoSchedule"},
                    {"key": "gone", "effect": "NoExecute"},
                ]
            },
        }
    )
    assert node.taints == ("dedicated=db:NoSchedule", "gone:NoExecute")


def test_nodes_all_is_every_node_by_name_and_names_are_kept_in_order_once() -> None:
    nodes = [Node("b"), Node("a"), Node("c")]
    assert [n.name for n in choose_nodes(nodes, "all")[0]] == ["a", "b", "c"]
    assert choose_nodes(nodes, "c, a,c,zz") == ([nodes[2], nodes[1]], ["zz"])


# --------------------------------------------------------------------------- kube-proxy's health

CHANGED = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def health(last: str, now: str, status: int = 200) -> ProxyHealth:
    body = f'{{"lastUpdated": "{last}", "currentTime": "{now}", "nodeEligible": true}}'.encode()
    return proxy_health("node-b", True, status, body)


def test_kube_proxys_healthz_answer_is_read_as_upstream_writes_it() -> None:
    h = health("2026-01-01T11:59:58.123456789Z", "2026-01-01T12:00:30Z")
    assert h.last_updated is not None and h.last_updated.second == 58
    assert h.node_eligible is True and h.error == ""
    assert proxy_health("x", True, 200, b"ok").error.startswith("an answer that is not kube-proxy's JSON")


@pytest.mark.parametrize(
    ("h", "code"),
    [
        # synced after the change: healthy
        (health("2026-01-01T12:00:01Z", "2026-01-01T12:05:00Z"), None),
        # last sync before the change, which is older than the grace: stale
        (health("2026-01-01T11:00:00Z", "2026-01-01T12:05:00Z"), "kube-proxy-stale"),
        # before the change, but the change is a few seconds old: it may simply not have synced yet
        (health("2026-01-01T11:00:00Z", "2026-01-01T12:00:05Z"), None),
        # 503 after the change: unhealthy (its own health timeout passed)
        (health("2026-01-01T12:00:01Z", "2026-01-01T12:05:00Z", 503), "kube-proxy-unhealthy"),
        (proxy_health("node-b", False, 503, b"", "connect: connection refused"), "kube-proxy-unhealthy"),
    ],
)
def test_kube_proxy_is_stale_when_its_last_sync_is_older_than_the_services_last_change(
    h: ProxyHealth, code: str | None
) -> None:
    judged = judge_health(h, CHANGED)
    assert (judged.code if judged else None) == code
    if judged is not None:
        assert judged.details["node"] == "node-b"
        assert "node node-b" in judged.message


def test_stale_says_how_far_behind_and_unhealthy_says_why() -> None:
    stale = judge_health(health("2026-01-01T11:00:00Z", "2026-01-01T12:05:00Z"), CHANGED)
    assert stale is not None and "60min before this Service's last change" in stale.message
    dead = judge_health(proxy_health("node-b", False, 503, b"", "connection refused"), CHANGED)
    assert dead is not None and dead.message.endswith("/healthz does not answer (connection refused)")


def test_kube_proxy_stopping_during_the_run_is_the_later_reading_marked_so() -> None:
    fine = health("2026-01-01T12:00:01Z", "2026-01-01T12:05:00Z")
    gone = proxy_health("node-b", False, 503, b"", "connection refused")
    after = later_health(fine, gone)
    assert after is not None and after.stopped_during and not after.reached
    judged = judge_health(after, CHANGED)
    assert judged is not None and judged.code == "kube-proxy-unhealthy"
    assert judged.message.endswith(
        "/healthz does not answer (connection refused); it answered 200 when why began, so it stopped during the run"
    )
    # down from the start, or unhealthy at both readings: not a change during the run
    assert later_health(gone, gone) == gone
    sick = health("2026-01-01T12:00:01Z", "2026-01-01T12:05:00Z", 503)
    assert later_health(sick, gone) == gone
    # healthy again at the end, or never read again: the later reading, or the only one
    assert later_health(gone, fine) == fine
    assert later_health(fine, None) == fine


def test_the_health_check_node_ports_answer_is_read_with_its_local_endpoints() -> None:
    body = (
        b'{"service": {"namespace": "shop", "name": "web"}, "localEndpoints": 0, "serviceProxyHealthy": true}'
    )
    answer = health_check_answer("node-b", True, 503, body, expected=503)
    assert (answer.local_endpoints, answer.text) == (0, "503 (0 local)")
    assert (
        health_check_answer("node-a", True, 503, body, expected=200).text == "503 (0 local), model says 200"
    )


# --------------------------------------------------------------------------- rows and the verdict


def test_a_node_whose_cluster_ip_fails_while_its_endpoints_connect_is_its_kube_proxys() -> None:
    sr = report(shop())
    row = probed(sr, "node-b", svc_0="TIMEOUT")
    assert (row.ok, row.kind) == (False, "kube-proxy")
    assert row.cells == {"DNS": "ok", "ENDPOINTS": "ok", "CLUSTER-IP": "FAILED", "NODE-PORTS": "n/a"}
    (f,) = row.findings
    assert f.code == "service-ip-unreachable" and f.details["node"] == "node-b"
    assert "from a pod in namespace shop on node node-b" in f.message
    rows = [probed(sr, "node-a"), row, probed(sr, "node-c")]
    assert nodes_sentence(TARGET, (), rows) == (
        "shop/web works from nodes node-a, node-c but fails from node node-b: the ClusterIP fails only from "
        "node node-b while every endpoint connects from there: kube-proxy on node node-b has not programmed it"
    )


def test_with_its_health_read_the_kube_proxy_cause_carries_it() -> None:
    sr = report(shop())
    dead = proxy_health("node-b", False, 503, b"", "connection refused")
    plan_row = probed(sr, "node-b", svc_0="TIMEOUT")
    row = node_row(sr, plan_row.run, None, dead, CHANGED)
    assert [f.code for f in row.findings] == ["service-ip-unreachable", "kube-proxy-unhealthy"]
    assert row.cause.endswith("(/healthz does not answer (connection refused))")
    assert "kube-proxy on node node-b is unhealthy" in nodes_sentence(TARGET, (), [row])


def test_internal_traffic_policy_local_timeouts_are_the_policys_as_the_model_predicts() -> None:
    sr = report(shop("  internalTrafficPolicy: Local\n"))
    a, b, c = (
        probed(sr, n, **({} if n == "node-a" else {"svc_0": "TIMEOUT"}))
        for n in ("node-a", "node-b", "node-c")
    )
    assert a.ok and a.model == "10.88.1.5"
    for row in (b, c):
        assert (row.ok, row.kind, row.model) == (False, "local-policy", "DROP (no local endpoint)")
        assert [f.code for f in row.findings] == ["internal-traffic-policy-local-no-endpoint"]
    assert nodes_sentence(TARGET, (), [a, b, c]) == (
        "shop/web works from node node-a but fails from nodes node-b, node-c: internalTrafficPolicy Local: no "
        "endpoint on nodes node-b, node-c, whose kube-proxy drops the traffic (as the node model predicts)"
    )


def test_external_traffic_policy_local_node_ports_that_drop_are_the_policys() -> None:
    sr = report(shop("  externalTrafficPolicy: Local\n", kind="NodePort"))
    plan = probe_plan(sr, TARGET, tuple(sr.facts.nodes))
    ids = {node: ident for ident, (node, _, _) in plan.node_ports.items()}
    broken = {ids[n].replace("-", "_"): "TIMEOUT" for n in ("node-b", "node-c")}
    row = probed(sr, "node-a", **broken)
    assert (row.ok, row.kind) == (False, "external-policy")
    assert [f.code for f in row.findings] == ["local-policy-nodes-without-endpoints"]
    assert "nodes node-b, node-c drop traffic" in nodes_sentence(TARGET, (), [row])
    # a node port failing on the endpoint's own node is no policy's: kube-proxy there
    own = probed(sr, "node-b", **{ids["node-a"].replace("-", "_"): "TIMEOUT"})
    assert own.kind == "nodeports" and own.findings[0].code == "nodeport-unreachable"


def test_a_probe_that_never_ran_names_its_node_and_skipped_nodes_are_counted() -> None:
    sr = report(shop())
    lost = node_row(
        sr, NodeRun("node-c", "zone-c", RunState.NOT_RUN, "the kubelet of node node-c did not take it"), None
    )
    skipped = skipped_row(NodeRun("kwok-0", None, RunState.SKIPPED, "simulated"))
    assert (lost.ok, lost.kind, skipped.ok) == (False, "not-run", None)
    sentence = nodes_sentence(TARGET, (), [probed(sr, "node-a"), lost, skipped])
    assert sentence.startswith(
        "shop/web works from node node-a but fails from node node-c: the probe could not run"
    )
    assert nodes_sentence(TARGET, (), [probed(sr, "node-a"), skipped]) == (
        "shop/web works from every node probed (node-a); 1 node(s) skipped"
    )


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["why", "web", "--node-health"], "--node-health goes with --nodes"),
        (["why", "web", "--nodes", "all", "--from-pod", "x"], "--nodes and --from-pod do not go together"),
    ],
)
def test_nodes_options_that_cannot_go_together_are_one_line_and_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]


def test_the_per_node_section_is_in_json_only_for_services_whose_spec_makes_it_depend_on_the_node() -> None:
    from inspector.output.documents import service_json

    doc = service_json(report(shop("  internalTrafficPolicy: Local\n")))
    by_node = {n["node"]: n["ports"][0]["fromAPodThere"] for n in doc["trafficPerNode"]}
    assert by_node["node-a"]["action"] == "forward" and by_node["node-a"]["endpoints"] == ["10.88.1.5:8080"]
    assert by_node["node-b"] == {
        "action": "drop",
        "endpoints": [],
        "snat": False,
        "reason": "internalTrafficPolicy Local: no endpoint on node node-b",
    }
    assert "trafficPerNode" not in service_json(report(shop()))
