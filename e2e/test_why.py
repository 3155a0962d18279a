"""`why SERVICE` on the real node: each classic failure built for real, the verdict asserted exactly.

The probe really connects from a pod on the real node (agnhost connect, getent), so these scenarios
need pods that run: the `real_node` fixture skips them on a kwok-only cluster. After every run, no
probe pod may remain (`assert_no_probe_pod`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.harness import (
    AGNHOST,
    INSPECT,
    LOCAL_STATE,
    WEB_SVC,
    Cluster,
    apply,
    bind_why_role,
    deploy_web,
    fresh_namespace,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
PROBE = "app.kubernetes.io/component=why-probe"


@pytest.fixture
def other_namespace(cluster: Cluster) -> Iterator[str]:
    """A second fresh namespace: the client's, away from the Service's."""
    yield from fresh_namespace(cluster, f"e2e-why-client-{uuid.uuid4().hex[:5]}")


def probe_pods(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    return list(cluster.get_json("pods", "-n", namespace, "-l", PROBE)["items"])


def assert_no_probe_pod(cluster: Cluster, namespace: str) -> None:
    """Every probe pod is gone, or already being deleted (then it is waited for)."""
    assert all(p["metadata"].get("deletionTimestamp") for p in probe_pods(cluster, namespace))
    wait_until(lambda: not probe_pods(cluster, namespace), "the probe pod to be gone", timeout=60)


def why(cluster: Cluster, *args: str) -> tuple[int, dict[str, Any], str]:
    res = cluster.inspect("why", *args, "-o", "json", timeout=180)
    assert "Traceback" not in res.stderr, res.stderr
    try:
        return res.returncode, json.loads(res.stdout), res.stderr
    except ValueError:
        raise AssertionError(f"not JSON (exit {res.returncode}): {res.stdout!r} {res.stderr!r}") from None


def why_started(cluster: Cluster, *args: str) -> tuple[subprocess.Popen[str], str]:
    """`why` running in the background, and its first line on stderr: the probe pod exists from then on."""
    proc = subprocess.Popen(
        [INSPECT, "why", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cluster.env
    )
    assert proc.stderr is not None
    return proc, proc.stderr.readline()


def statuses(verdict: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["name"], s["status"]) for s in verdict["steps"]]


def codes(verdict: dict[str, Any], step: str) -> list[str]:
    return [f["code"] for s in verdict["steps"] if s["name"] == step for f in s["findings"]]


def step(verdict: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in verdict["steps"] if s["name"] == name)


PASSIVE_OK = [
    ("service-exists", "passed"),
    ("selector-selects-pods", "passed"),
    ("pods-ready", "passed"),
    ("endpoints-match", "passed"),
]


def app(name: str, args: str, port: int, extra: str = "", env: str = "") -> str:
    """A one-pod Deployment of agnhost on the real node, declaring containerPort `port`, and its
    Service (port 80 -> targetPort `port`)."""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: app
          image: {AGNHOST}
          {args}
          ports: [{{containerPort: {port}}}]
{env}{extra}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: {port}}}]
"""


def pod_of(cluster: Cluster, namespace: str, app_label: str) -> dict[str, Any]:
    pods = cluster.get_json("pods", "-n", namespace, "-l", f"app={app_label}")["items"]
    return pods[0] if pods else {}


def ready(cluster: Cluster, namespace: str, app_label: str) -> bool:
    pod = pod_of(cluster, namespace, app_label)
    return any(
        c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", [])
    )


# --------------------------------------------------------------------------- the scenarios


def test_healthy_service_from_another_namespace_by_its_namespaced_name_passes_every_step(
    real_node: Cluster, namespace: str, other_namespace: str
):
    deploy_web(real_node, namespace, replicas=2)
    apply(real_node, namespace, WEB_SVC)
    wait_until(
        lambda: real_node.inspect("wait", "web-svc", "-n", namespace, "--timeout", "5s").returncode == 0,
        "web-svc",
    )

    rc, verdict, err = why(real_node, f"web-svc.{namespace}", "--from-namespace", other_namespace)

    assert (rc, statuses(verdict)) == (
        0,
        [
            *PASSIVE_OK,
            ("dns-resolves", "passed"),
            ("endpoints-connect", "passed"),
            ("service-ip-connects", "passed"),
            ("nodeports-connect", "n/a"),
            ("hairpin", "n/a"),
        ],
    )
    assert verdict["ok"] is True and verdict["brokenStep"] is None
    assert verdict["verdict"] == (
        f"{namespace}/web-svc works: web-svc.{namespace} resolves and connects from a pod in namespace "
        f"{other_namespace}, as do its endpoints"
    )
    assert len(step(verdict, "endpoints-connect")["evidence"]) == 2
    assert verdict["probe"]["node"] in {n.name for n in real_node.nodes} or not real_node.nodes
    assert verdict["client"]["namespace"] == other_namespace
    assert f"probe pod {other_namespace}/inspector-why-" in err
    assert_no_probe_pod(real_node, other_namespace)


def test_app_listening_on_another_port_than_target_port_is_endpoint_refused_while_diff_is_clean(
    real_node: Cluster, namespace: str
):
    # the app listens on 8080; the pod declares 8081 and the Service sends there: the API sees no fault
    apply(real_node, namespace, app("shop", "args: [netexec, --http-port=8080, --udp-port=-1]", 8081))
    wait_until(lambda: ready(real_node, namespace, "shop"), "the shop pod ready")
    wait_until(
        lambda: real_node.inspect("wait", "shop", "-n", namespace, "--timeout", "5s").returncode == 0, "shop"
    )
    diff = real_node.inspect_json("diff", "shop", "-n", namespace)
    assert diff["summary"] == {"services": 1, "errors": 0, "warnings": 0, "infos": 0}

    rc, verdict, _ = why(real_node, "shop", "-n", namespace)

    pod = pod_of(real_node, namespace, "shop")
    assert (rc, statuses(verdict)[4:6], codes(verdict, "endpoints-connect")) == (
        1,
        [("dns-resolves", "passed"), ("endpoints-connect", "failed")],
        ["endpoint-refused"],
    )
    assert step(verdict, "endpoints-connect")["findings"][0]["message"] == (
        f"endpoint {pod['status']['podIP']}:8081 (pod {pod['metadata']['name']}) refused the connection from a pod "
        f"in namespace {namespace}: nothing listens on port 8081 on the pod's address (the app listens on "
        "another port, or on 127.0.0.1 only)"
    )
    assert statuses(verdict)[6:] == [
        ("service-ip-connects", "skipped"),
        ("nodeports-connect", "n/a"),
        ("hairpin", "n/a"),
    ]
    assert verdict["brokenStep"] == "endpoints-connect"
    assert_no_probe_pod(real_node, namespace)


def test_app_bound_to_loopback_only_is_refused_from_the_probe_while_the_pods_own_loopback_connects(
    real_node: Cluster, namespace: str
):
    env = """          env:
            - {name: BIND_ADDRESS, value: 127.0.0.1}
            - {name: BIND_PORT, value: "8080"}
            - {name: CHUNKS, value: "1"}
            - {name: CHUNK_SIZE, value: "2"}
            - {name: CHUNK_INTERVAL, value: "0"}
"""
    apply(real_node, namespace, app("local", "args: [port-forward-tester]", 8080, env=env))
    wait_until(lambda: ready(real_node, namespace, "local"), "the local pod ready")
    wait_until(
        lambda: real_node.inspect("wait", "local", "-n", namespace, "--timeout", "5s").returncode == 0,
        "local",
    )

    rc, verdict, _ = why(real_node, "local", "-n", namespace)

    assert (rc, verdict["brokenStep"], codes(verdict, "endpoints-connect")) == (
        1,
        "endpoints-connect",
        ["endpoint-refused"],
    )
    assert "or on 127.0.0.1 only" in step(verdict, "endpoints-connect")["findings"][0]["message"]
    assert (
        "a port-forward to the pod still connects when the app listens on 127.0.0.1 only"
        in verdict["verdict"]
    )
    # what a port-forward does: connect from inside the pod's own network namespace, on its loopback
    pod = pod_of(real_node, namespace, "local")["metadata"]["name"]
    assert real_node.exec_ok(namespace, pod, "sh", "-c", "nc -w 3 127.0.0.1 8080 </dev/null | grep -q xx")
    assert_no_probe_pod(real_node, namespace)


def test_readiness_probe_on_a_wrong_path_is_pod_not_ready_with_the_probe_event_quoted(
    real_node: Cluster, namespace: str
):
    probe = """          readinessProbe:
            httpGet: {path: /healthz-typo, port: 8080}  # test-webserver serves files: 404
            periodSeconds: 1
            failureThreshold: 1
"""
    apply(
        real_node,
        namespace,
        app("probed", "args: [test-webserver, --port=8080]", 8080, extra=probe),
    )
    wait_until(
        lambda: any(
            "statuscode: 404" in e["message"] and (e.get("count") or 1) >= 2  # repeating: the latest
            for e in real_node.get_json("events", "-n", namespace, "--field-selector", "reason=Unhealthy")[
                "items"
            ]
        ),
        "the kubelet's Unhealthy event",
    )

    rc, verdict, err = why(real_node, "probed", "-n", namespace)

    pod = pod_of(real_node, namespace, "probed")["metadata"]["name"]
    assert (rc, statuses(verdict)) == (
        1,
        [
            ("service-exists", "passed"),
            ("selector-selects-pods", "passed"),
            ("pods-ready", "failed"),
            ("endpoints-match", "skipped"),
            ("dns-resolves", "skipped"),
            ("endpoints-connect", "skipped"),
            ("service-ip-connects", "skipped"),
            ("nodeports-connect", "skipped"),
            ("hairpin", "skipped"),
        ],
    )
    finding = step(verdict, "pods-ready")["findings"][0]
    assert finding["code"] == "pod-not-ready" and finding["details"]["pod"] == pod
    assert (
        finding["details"]["lastProbeFailure"]
        == "Readiness probe failed: HTTP probe failed with statuscode: 404"
    )
    assert (
        "last probe failure: 'Readiness probe failed: HTTP probe failed with statuscode: 404'"
        in finding["message"]
    )
    assert "probe pod" not in err  # a broken passive step: nothing written
    assert probe_pods(real_node, namespace) == []
    # the same reason in diff, from the API alone
    diff = real_node.inspect_json("diff", "probed", "-n", namespace)
    assert [
        f["details"].get("lastProbeFailure")
        for f in diff["services"][0]["findings"]
        if f["code"] == "pod-not-ready"
    ] == ["Readiness probe failed: HTTP probe failed with statuscode: 404"]


def test_crash_loop_back_off_is_pod_not_ready_with_the_exit_code(real_node: Cluster, namespace: str):
    # never ready, even in the moment its container runs between two crashes (without a probe a busy
    # kubelet may report it Ready then, and the endpoint that refuses is then the first broken link)
    never_ready = "          readinessProbe: {tcpSocket: {port: 1}, periodSeconds: 1}\n"
    apply(real_node, namespace, app("crashing", 'command: [sh, -c, "exit 3"]', 8080, extra=never_ready))

    def crash_looping() -> bool:
        statuses_ = pod_of(real_node, namespace, "crashing").get("status", {}).get("containerStatuses") or []
        return any(
            (s.get("state", {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff" for s in statuses_
        )

    wait_until(crash_looping, "CrashLoopBackOff", timeout=90)

    rc, verdict, _ = why(real_node, "crashing", "-n", namespace)

    assert (rc, verdict["brokenStep"], codes(verdict, "pods-ready")) == (1, "pods-ready", ["pod-not-ready"])
    details = step(verdict, "pods-ready")["findings"][0]["details"]
    # between two restarts the kubelet shows the container terminated, then waiting in back-off
    assert details["troubles"][0] in (
        "container app: CrashLoopBackOff (last exit: Error, exit code 3)",
        "container app: terminated: Error, exit code 3",
    )
    assert details["restarts"] >= 1
    assert verdict["verdict"].startswith(f'{namespace}/crashing is broken at "pods are ready": pod ')


def test_short_name_from_the_wrong_namespace_fails_at_dns_and_suggests_the_namespaced_name(
    real_node: Cluster, namespace: str, other_namespace: str
):
    deploy_web(real_node, namespace, replicas=1)
    apply(real_node, namespace, WEB_SVC)
    wait_until(
        lambda: real_node.inspect("wait", "web-svc", "-n", namespace, "--timeout", "5s").returncode == 0,
        "web-svc",
    )

    rc, verdict, _ = why(real_node, "web-svc", "-n", namespace, "--from-namespace", other_namespace)

    assert (rc, verdict["brokenStep"], codes(verdict, "dns-resolves")) == (
        1,
        "dns-resolves",
        ["dns-from-pod-differs"],
    )
    cluster_ip = real_node.get_json("service", "web-svc", "-n", namespace)["spec"]["clusterIP"]
    assert step(verdict, "dns-resolves")["findings"][0]["message"] == (
        f"web-svc from a pod in namespace {other_namespace} answers nothing (not found), but the API says "
        f"{cluster_ip}: a short name resolves only in its own namespace; from namespace {other_namespace} "
        f"write web-svc.{namespace}"
    )
    assert_no_probe_pod(real_node, other_namespace)


def test_node_port_reachable_on_the_real_node(real_node: Cluster, namespace: str):
    deploy_web(real_node, namespace, replicas=1)
    apply(real_node, namespace, WEB_SVC.replace("spec:\n", "spec:\n  type: NodePort\n", 1))
    wait_until(
        lambda: real_node.inspect("wait", "web-svc", "-n", namespace, "--timeout", "5s").returncode == 0,
        "web-svc",
    )

    rc, verdict, _ = why(real_node, "web-svc", "-n", namespace)

    node_port = real_node.get_json("service", "web-svc", "-n", namespace)["spec"]["ports"][0]["nodePort"]
    assert (rc, statuses(verdict)[-2:]) == (0, [("nodeports-connect", "passed"), ("hairpin", "n/a")])
    # every real node's node port, each from the probe pod (on kind: every node, none simulated)
    nodes = [(n.ip, n.name) for n in real_node.nodes] or [
        (
            next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP"),
            n["metadata"]["name"],
        )
        for n in real_node.get_json("nodes")["items"]
    ]
    assert sorted(step(verdict, "nodeports-connect")["evidence"]) == sorted(
        f"{ip}:{node_port} (node {name}): connected" for ip, name in nodes
    )
    if real_node.local:
        assert "simulated or not-ready node(s) left out of the node-port checks" in " ".join(verdict["notes"])


def test_from_a_backend_pod_hairpin_passes_and_the_output_says_the_ephemeral_container_stays(
    real_node: Cluster, namespace: str
):
    deploy_web(real_node, namespace, replicas=1)
    apply(real_node, namespace, WEB_SVC)
    wait_until(
        lambda: real_node.inspect("wait", "web-svc", "-n", namespace, "--timeout", "5s").returncode == 0,
        "web-svc",
    )
    pod = pod_of(real_node, namespace, "web")["metadata"]["name"]

    res = real_node.inspect("why", "web-svc", "-n", namespace, "--from-pod", pod, timeout=180)

    assert res.returncode == 0, res.stdout + res.stderr
    assert (
        "ephemeral container inspector-why-probe-" in res.stderr
        and "it stays in the pod's spec" in res.stderr
    )
    assert "it stays in the pod's spec" in res.stdout.splitlines()[0]
    lines = [line.split() for line in res.stdout.splitlines() if line[:4].strip().rstrip(".").isdigit()]
    assert [(w[1], " ".join(w[2:])) for w in lines][-3:] == [
        ("n/a", "the ClusterIP accepts connections"),
        ("n/a", "the node ports accept connections"),
        ("ok", "a backend reaches itself through the Service"),
    ]
    spec = real_node.get_json("pod", pod, "-n", namespace)["spec"]
    assert [c["name"][:20] for c in spec.get("ephemeralContainers", [])] == ["inspector-why-probe-"]


def test_kube_proxy_stopped_cluster_ip_fails_while_endpoints_connect_and_the_verdict_names_kube_proxy(
    real_node: Cluster, namespace: str
):
    if not real_node.local:
        pytest.skip("stops the local cluster's kube-proxy")
    deploy_web(real_node, namespace, replicas=1)
    local = [sys.executable, str(ROOT / "cluster" / "localcluster.py")]
    env = os.environ | {"LOCALCLUSTER_DIR": str(LOCAL_STATE)}
    subprocess.run([*local, "stop-component", "kube-proxy"], check=True, env=env, timeout=60)
    try:
        # created after kube-proxy stopped: no rule ever programmed for its ClusterIP
        apply(real_node, namespace, WEB_SVC)
        wait_until(
            lambda: real_node.inspect("wait", "web-svc", "-n", namespace, "--timeout", "5s").returncode == 0,
            "web-svc",
        )
        rc, verdict, _ = why(real_node, "web-svc", "-n", namespace)
    finally:
        subprocess.run([*local, "start-component", "kube-proxy"], check=True, env=env, timeout=120)

    assert (rc, statuses(verdict)[4:7]) == (
        1,
        [("dns-resolves", "passed"), ("endpoints-connect", "passed"), ("service-ip-connects", "failed")],
    )
    assert codes(verdict, "service-ip-connects") == ["service-ip-unreachable"]
    probe_node = verdict["probe"]["node"]
    assert (
        f"kube-proxy on node {probe_node} is not forwarding this Service"
        in step(verdict, "service-ip-connects")["findings"][0]["message"]
    )
    assert f"check kube-proxy on node {probe_node}" in verdict["verdict"]
    assert_no_probe_pod(real_node, namespace)


def test_ctrl_c_during_why_leaves_no_probe_pod(real_node: Cluster, namespace: str):
    deploy_web(real_node, namespace, replicas=1)
    apply(real_node, namespace, WEB_SVC)
    wait_until(
        lambda: real_node.inspect("wait", "web-svc", "-n", namespace, "--timeout", "5s").returncode == 0,
        "web-svc",
    )
    proc, line = why_started(real_node, "web-svc", "-n", namespace)  # interrupt right then
    assert f"probe pod {namespace}/inspector-why-" in line, line
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)

    assert (proc.returncode, err.strip().splitlines()) == (130, ["interrupted"])
    assert_no_probe_pod(real_node, namespace)


def test_the_probe_pod_deleted_by_someone_else_is_one_line_exit_1_and_nothing_is_left(
    real_node: Cluster, namespace: str
):
    """The probe's pod goes away under it (someone else deletes it): what it printed so far proves
    nothing, so why concludes nothing. A policy that drops every packet to the backend keeps the
    probe busy (its connects time out), so the deletion lands while it runs."""
    deploy_web(real_node, namespace, replicas=1)
    apply(real_node, namespace, WEB_SVC)
    wait_until(
        lambda: real_node.inspect("wait", "web-svc", "-n", namespace, "--timeout", "5s").returncode == 0,
        "web-svc",
    )
    apply(
        real_node,
        namespace,
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny-web\n"
        "spec:\n  podSelector:\n    matchLabels:\n      app: web\n  policyTypes: [Ingress]\n",
    )
    proc, line = why_started(real_node, "web-svc", "-n", namespace)
    found = re.search(rf"probe pod {namespace}/(\S+) created", line)
    assert found, line
    pod = found.group(1)
    real_node.kubectl("delete", "pod", "-n", namespace, pod, "--wait=false")
    out, err = proc.communicate(timeout=120)

    assert (proc.returncode, out, err.strip().splitlines()) == (
        1,
        "",
        [
            f"error: the pod {namespace}/{pod} that ran the probe was deleted by someone else before the "
            "probe ended: nothing was concluded"
        ],
    )
    assert_no_probe_pod(real_node, namespace)


def test_a_probe_that_cannot_start_says_why_in_one_line_and_the_passive_verdict_stands(
    real_node: Cluster, namespace: str
):
    deploy_web(real_node, namespace, replicas=1)
    apply(real_node, namespace, WEB_SVC)
    wait_until(
        lambda: real_node.inspect("wait", "web-svc", "-n", namespace, "--timeout", "5s").returncode == 0,
        "web-svc",
    )
    missing = "registry.k8s.io/e2e-test-images/no-such-image:0.0.1"

    rc, verdict, _ = why(real_node, "web-svc", "-n", namespace, "--image", missing)

    assert (rc, statuses(verdict)[:4]) == (0, PASSIVE_OK)
    skipped = [s["evidence"] for s in verdict["steps"][4:]]
    assert all(s == skipped[0] and len(s) == 1 for s in skipped) and len(skipped) == 5
    assert skipped[0][0].startswith(f"the probe cannot start: image {missing}: ")
    assert "\n" not in skipped[0][0]
    assert_no_probe_pod(real_node, namespace)


def test_bad_input_is_one_line_and_exit_2(cluster: Cluster, namespace: str):
    for args, says in [
        (["why", "Bad_Name"], "invalid Service name"),
        (["why", "web-svc", "-n", "no-such-namespace-x1"], 'namespace "no-such-namespace-x1" not found'),
        (
            ["why", "web-svc", "-n", namespace, "--from-pod", "nope"],
            f'pod "nope" not found in namespace "{namespace}"',
        ),
    ]:
        apply(cluster, namespace, WEB_SVC)
        res = cluster.inspect(*args)
        lines = res.stderr.strip().splitlines()
        assert (res.returncode, len(lines)) == (2, 1), (args, res.stderr)
        assert says in lines[0], (args, res.stderr)
    res = cluster.inspect("why", "no-such-service", "-n", namespace)
    assert res.returncode == 1 and 'service "no-such-service" not found' in res.stdout, res.stdout


def test_without_the_why_role_passive_steps_run_and_with_it_the_only_writes_are_the_probe_pods(
    real_node: Cluster, namespace: str, tmp_path: Path
):
    from e2e.test_guarantees import run as run_as
    from e2e.test_guarantees import token_kubeconfig

    real_node.kubectl("apply", "-f", str(ROOT / "deploy" / "rbac.yaml"))
    token = real_node.kubectl("create", "token", "svc-inspect", "-n", "default", "--duration=30m").strip()
    kubeconfig = token_kubeconfig(real_node, token, tmp_path / "sa.kubeconfig", namespace)
    deploy_web(real_node, namespace, replicas=1)
    apply(real_node, namespace, WEB_SVC)
    wait_until(
        lambda: real_node.inspect("wait", "web-svc", "-n", namespace, "--timeout", "5s").returncode == 0,
        "web-svc",
    )

    res = run_as(kubeconfig, "why", "web-svc", "-o", "json")
    verdict = json.loads(res.stdout)
    assert (res.returncode, statuses(verdict)[:4]) == (0, PASSIVE_OK), res.stderr
    evidence = [s["evidence"] for s in verdict["steps"][4:]]
    assert [len(e) for e in evidence] == [1] * 5
    assert evidence[0][0].startswith(
        f"no permission to create a probe pod in namespace {namespace} (grant deploy/rbac-why.yaml): forbidden: "
    )

    # the why role, bound in the client namespace: the probe runs, and its pod is all it writes
    bind_why_role(real_node, namespace)
    audit = LOCAL_STATE / "logs" / "audit.log"
    start = audit.stat().st_size if real_node.local and audit.exists() else 0
    res = run_as(kubeconfig, "why", "web-svc", "-o", "json")
    verdict = json.loads(res.stdout)
    assert (res.returncode, verdict["brokenStep"]) == (0, None), (verdict["verdict"], res.stderr)
    assert "skipped" not in [s["status"] for s in verdict["steps"]], verdict["steps"]
    assert_no_probe_pod(real_node, namespace)
    if not real_node.local:
        return
    user = "system:serviceaccount:default:svc-inspect"
    writes = set()
    with audit.open() as f:
        f.seek(start)
        for line in f:
            event = json.loads(line)
            ref = event.get("objectRef") or {}
            if event["user"]["username"] == user and event["verb"] not in ("get", "list", "watch"):
                writes.add(
                    (
                        event["verb"],
                        ref.get("resource", "")
                        + (f"/{ref['subresource']}" if ref.get("subresource") else ""),
                    )
                )
    assert writes == {("create", "pods"), ("delete", "pods")}


def test_the_python_api_returns_the_verdict_for_a_suite_to_fail_with(real_node: Cluster, namespace: str):
    import inspector

    apply(real_node, namespace, app("shop", "args: [netexec, --http-port=8080, --udp-port=-1]", 8081))
    wait_until(lambda: ready(real_node, namespace, "shop"), "the shop pod ready")
    wait_until(
        lambda: real_node.inspect("wait", "shop", "-n", namespace, "--timeout", "5s").returncode == 0, "shop"
    )

    verdict = inspector.why(f"shop.{namespace}", kubeconfig=real_node.kubeconfig)

    assert (verdict.ok, verdict.broken.name if verdict.broken else None) == (False, "endpoints-connect")
    assert verdict.sentence.startswith(f'{namespace}/shop is broken at "each endpoint accepts connections"')
    assert_no_probe_pod(real_node, namespace)


def test_keep_leaves_the_probe_pod_for_a_look_and_says_so(real_node: Cluster, namespace: str):
    deploy_web(real_node, namespace, replicas=1)
    apply(real_node, namespace, WEB_SVC)
    wait_until(
        lambda: real_node.inspect("wait", "web-svc", "-n", namespace, "--timeout", "5s").returncode == 0,
        "web-svc",
    )

    rc, verdict, err = why(real_node, "web-svc", "-n", namespace, "--keep")

    kept = probe_pods(real_node, namespace)
    assert (rc, verdict["probe"]["kept"], len(kept)) == (0, True, 1)
    assert not kept[0]["metadata"].get("deletionTimestamp")
    assert f"probe pod {namespace}/{kept[0]['metadata']['name']} created (kept: --keep)" in err
    assert kept[0]["spec"]["activeDeadlineSeconds"] == 120 and kept[0]["spec"]["restartPolicy"] == "Never"
    real_node.kubectl("delete", "pod", "-n", namespace, kept[0]["metadata"]["name"], "--wait=false")


DENY_ALL_INGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""


def test_a_policy_that_drops_the_client_is_named_beside_the_endpoints_that_time_out(
    real_node: Cluster, namespace: str
):
    """why shows the NetworkPolicies of the Service's namespace for its client, so an endpoint that
    times out is explained by the policy that drops the packets (enforced here by kube-router)."""
    from e2e.test_reach import enforcer_running

    if not enforcer_running(real_node):
        pytest.fail("no NetworkPolicy enforcer (kube-router) on the real node")
    deploy_web(real_node, namespace, replicas=1)
    apply(real_node, namespace, WEB_SVC)
    wait_until(
        lambda: real_node.inspect("wait", "web-svc", "-n", namespace, "--timeout", "5s").returncode == 0,
        "web-svc",
    )
    apply(real_node, namespace, DENY_ALL_INGRESS)

    rc, verdict, _ = wait_until(
        lambda: (
            (r := why(real_node, "web-svc", "-n", namespace))[1]["brokenStep"] == "endpoints-connect" and r
        ),
        what="the enforcer to drop the probe's connections",
        timeout=120,
    )
    # enforcers differ: kube-router rejects (refused), others drop (timeout)
    assert rc == 1 and codes(verdict, "endpoints-connect") in (["endpoint-refused"], ["endpoint-timeout"])
    policies = verdict["policies"]
    assert [e["ingress"]["allowed"] for e in policies["endpoints"]] == [False]
    assert policies["endpoints"][0]["ingress"]["message"] == (
        f"denied: no rule of policy {namespace}/default-deny admits namespace {namespace}"
    )
    text = real_node.inspect("why", "web-svc", "-n", namespace).stdout
    assert f"NetworkPolicies of namespace {namespace} on the ready endpoints" in text
    assert f"{namespace}/default-deny" in text
