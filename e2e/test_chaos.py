"""Chaos with real processes: the API server stopped and restarted while `-w` and `wait` watch, and
the watcher's permission revoked across a restart. Each with an exact expectation: `-w` never goes
silent (the interruption line, the resumption line, then what changed), `wait` completes after the
restart, a revoked permission is one line and exit 3. Every test that stops the API server starts
it again and waits until it is ready, pass or fail (in CI this is the shared e2e cluster). On make
e2e-kind's cluster the API server and etcd are the control-plane node's static pods, stopped as on any
kubeadm node (their manifests moved aside) and frozen inside the node; what needs the local cluster's
audit log or its PKI stays local."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import yaml

from e2e.harness import (
    INSPECT,
    LOCAL_STATE,
    WEB_SVC,
    Cluster,
    apply,
    deploy_web,
    kind_exec,
    kind_nodes,
    wait_until,
)
from e2e.test_guarantees import token_kubeconfig, watched_in
from e2e.test_nodes import local
from e2e.test_wait import Lines, web

ROOT = Path(__file__).resolve().parent.parent
LOCAL = [sys.executable, str(ROOT / "cluster" / "localcluster.py")]
NOTICE_S = 15  # the bound: the interruption is told within this


def local_only(cluster: Cluster) -> None:
    if not cluster.local:
        pytest.skip("needs the local cluster's processes")


def control_plane_faults(cluster: Cluster) -> None:
    """The API server and etcd can be stopped and frozen: the local cluster's processes, or the
    static pods of make e2e-kind's control-plane node. Skips on any other cluster."""
    if not (cluster.local or cluster.kind):
        pytest.skip("needs the local cluster's processes or make e2e-kind's control-plane node")


def kind_control_plane(cluster: Cluster) -> str:
    (node,) = kind_nodes(cluster, "node-role.kubernetes.io/control-plane")
    return node


@contextmanager
def kind_static_pod_stopped(cluster: Cluster, component: str) -> Iterator[None]:
    """On make e2e-kind's cluster: a control-plane component (kube-apiserver, etcd: static pods)
    stopped as on any kubeadm node, its manifest moved out of the kubelet's manifest directory, until
    its container is gone; moved back after the block, whatever happens (the kubelet starts it)."""
    node = kind_control_plane(cluster)
    manifest, aside = (
        f"/etc/kubernetes/manifests/{component}.yaml",
        f"/etc/kubernetes/{component}.yaml.stopped",
    )

    def running() -> bool:
        return bool(
            kind_exec(node, "crictl", "ps", "-q", "--name", f"^{component}$", check=True).stdout.strip()
        )

    kind_exec(node, "mv", manifest, aside, check=True)
    try:
        wait_until(lambda: not running(), what=f"{component} stopped on {node}", timeout=90)
        yield
    finally:
        kind_exec(node, "mv", aside, manifest, check=True)


@contextmanager
def api_server_stopped(cluster: Cluster, component: str = "kube-apiserver") -> Iterator[None]:
    """The API server (or `component`) stopped for the block; started again after it, whatever
    happens, and the API server ready (its /readyz checks etcd too)."""
    try:
        if cluster.kind:
            with kind_static_pod_stopped(cluster, component):
                yield
        else:
            subprocess.run([*LOCAL, "stop-component", component], check=True)
            try:
                yield
            finally:
                subprocess.run([*LOCAL, "start-component", component], check=True)
    finally:
        wait_until(
            lambda: cluster.kubectl("get", "--raw", "/readyz", check=False) == "ok",
            what="API ready",
            timeout=120,
        )


def started(
    cluster: Cluster, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], Lines, Lines]:
    proc = subprocess.Popen(
        [INSPECT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cluster.env | (env or {}),
    )
    assert proc.stdout is not None and proc.stderr is not None
    return proc, Lines(proc.stdout), Lines(proc.stderr)


def ended(proc: subprocess.Popen[str], *pipes: Lines, timeout: float = 60) -> int:
    with proc:  # closes the pipes once it has ended
        code = proc.wait(timeout=timeout)
        for pipe in pipes:
            pipe.thread.join(10)
    return code


def text(lines: Lines) -> list[str]:
    return [line.rstrip("\n") for line in lines.lines]


def followed_through(
    cluster: Cluster, namespace: str, fault: Callable[[], AbstractContextManager[None]]
) -> tuple[float, int, list[str]]:
    """`services -w` across `fault`: how long after it began the interruption was told, then (after
    the resumption line) a Service created; -w's exit status after Ctrl-C, and its stderr lines."""
    apply(cluster, namespace, WEB_SVC)
    follower, out, err = started(cluster, "services", "-n", namespace, "-w")
    try:
        wait_until(lambda: out.count("web-svc"), what="-w's first table")
        with fault():
            began = time.monotonic()
            wait_until(lambda: err.count("watch interrupted: "), what="the interruption line", timeout=60)
            told_after = time.monotonic() - began
        wait_until(lambda: err.count("watch resumed: "), what="the resumption line", timeout=90)
        apply(cluster, namespace, WEB_SVC.replace("name: web-svc", "name: web-2"))
        wait_until(lambda: out.count("ADDED", "service", f"{namespace}/web-2"), what="web-2 appearing")
    finally:
        follower.send_signal(signal.SIGINT)
        code = ended(follower, out, err)
    return told_after, code, text(err)


RESUMED = ["watch resumed: the API server answers again; what changed meanwhile follows", "interrupted"]


def test_dash_w_tells_the_api_server_away_and_back_then_shows_a_service_created_after(
    cluster: Cluster, namespace: str
):
    control_plane_faults(cluster)
    told_after, code, lines = followed_through(cluster, namespace, lambda: api_server_stopped(cluster))

    assert told_after < NOTICE_S, f"the interruption was told {told_after:.1f}s after the stop"
    assert code == 130, lines
    assert len(lines) == 3, lines
    assert re.fullmatch(r"watch interrupted: .*cannot reach the API server .*, retrying", lines[0]), lines
    assert lines[1:] == RESUMED


def test_wait_completes_after_the_api_server_is_back(cluster: Cluster, namespace: str):
    local_only(cluster)
    apply(cluster, namespace, WEB_SVC)  # no pods yet: wait keeps waiting
    audit = LOCAL_STATE / "logs" / "audit.log"
    start = audit.stat().st_size if audit.exists() else 0
    waiter, out, err = started(cluster, "wait", "web-svc", "-n", namespace, "--timeout", "180s")
    try:
        wait_until(lambda: watched_in(audit, start, namespace), what="the wait's watches open (audit log)")
        with api_server_stopped(cluster):
            wait_until(lambda: err.count("watch interrupted: "), what="the interruption line", timeout=60)
        wait_until(lambda: err.count("watch resumed: "), what="the resumption line", timeout=60)
        assert waiter.poll() is None, text(err)
        web(cluster, namespace)
        code = ended(waiter, out, err, timeout=150)
    finally:
        if waiter.poll() is None:
            waiter.kill()
            ended(waiter, out, err)

    assert code == 0, (text(out), text(err))
    assert text(out)[0].startswith(f"{namespace}/web-svc: discoverable, "), text(out)
    assert [line.split(":")[0] for line in text(err)] == ["watch interrupted", "watch resumed"]


def test_dash_w_whose_rolebinding_is_deleted_ends_in_one_line_and_exit_3_after_a_restart(
    cluster: Cluster, namespace: str, tmp_path: Path
):
    control_plane_faults(cluster)
    rbac = ROOT / "deploy" / "rbac.yaml"
    cluster.kubectl("apply", "-f", str(rbac))
    role = next(d for d in yaml.safe_load_all(rbac.read_text()) if d and d["kind"] == "ClusterRole")
    cluster.kubectl("create", "serviceaccount", "watcher", "-n", namespace)
    binding = ("rolebinding", "watcher", "-n", namespace)
    cluster.kubectl(
        "create",
        *binding,
        f"--clusterrole={role['metadata']['name']}",
        f"--serviceaccount={namespace}:watcher",
    )
    token = cluster.kubectl("create", "token", "watcher", "-n", namespace, "--duration=30m").strip()
    config = token_kubeconfig(cluster, token, tmp_path / "watcher.kubeconfig", namespace)
    apply(cluster, namespace, WEB_SVC)
    follower, out, err = started(cluster, "services", "-w", "--kubeconfig", str(config))
    try:
        wait_until(lambda: out.count("web-svc"), what="-w's first table")
        cluster.kubectl("delete", *binding)
        with api_server_stopped(cluster):  # an open watch outlives a revoked permission; a restart does not
            pass
        code = ended(follower, out, err, timeout=120)
    finally:
        if follower.poll() is None:
            follower.kill()
            ended(follower, out, err)

    lines = text(err)
    assert code == 3, lines
    *before, last = lines
    assert all(line.startswith("watch interrupted: ") for line in before), lines  # a slow restart says so
    assert re.fullmatch(
        rf"error: cannot watch (\S+) in namespace {namespace} any more: the permission to list and watch \1 "
        r"is missing \(forbidden: .*\)",
        last,
    ), lines


def test_diff_while_the_api_server_restarts_is_one_line_and_exit_3_or_succeeds(
    cluster: Cluster, namespace: str
):
    control_plane_faults(cluster)
    apply(cluster, namespace, WEB_SVC)
    with api_server_stopped(cluster):
        differ = subprocess.Popen(
            [INSPECT, "diff", "-n", namespace, "--request-timeout", "30s"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cluster.env,
        )
    out, err = differ.communicate(timeout=120)

    assert "Traceback" not in out + err
    if differ.returncode == 3:  # the API server took longer to come back than the retries wait
        assert len(err.splitlines()) == 1 and "cannot reach the API server" in err, err
    else:  # back in time: the answer, as if nothing happened (web-svc selects no pod: an error finding)
        assert differ.returncode == 1, (out, err)
        assert f"{namespace}/web-svc (ClusterIP): error" in out, out


def test_etcd_stopped_is_one_line_and_exit_3(cluster: Cluster, namespace: str):
    if cluster.kind:
        # seen on make e2e-kind: the API server restarted 2.5 min after etcd came back, and the
        # test's 2 min wait for it to be ready ran out
        pytest.skip(
            "kind: with etcd away the kubelet's liveness probe restarts the API server, whose "
            "crash-loop back-off then outlasts etcd's return"
        )
    control_plane_faults(cluster)
    apply(cluster, namespace, WEB_SVC)
    with api_server_stopped(cluster, "etcd"):
        started_at = time.monotonic()
        res = cluster.inspect("diff", "-n", namespace, "--request-timeout", "5s", timeout=120)
        elapsed = time.monotonic() - started_at

    assert res.returncode == 3, (res.stdout, res.stderr)
    assert "Traceback" not in res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the API server "), res.stderr
    assert elapsed < 60, f"--request-timeout 5s took {elapsed:.1f}s"


@contextmanager
def api_server_frozen(cluster: Cluster) -> Iterator[None]:
    """The API server stopped with SIGSTOP (connections accepted, nothing answered) for the block:
    the local cluster's process, or the one in make e2e-kind's control-plane node."""
    if cluster.kind:
        node = kind_control_plane(cluster)
        kind_exec(node, "pkill", "-STOP", "-x", "kube-apiserver", check=True)
        try:
            yield
        finally:
            kind_exec(node, "pkill", "-CONT", "-x", "kube-apiserver", check=True)
        return
    pid = int((LOCAL_STATE / "pids" / "kube-apiserver.pid").read_text().split()[0])
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_dash_w_tells_a_frozen_api_server_within_the_bound_and_goes_on_when_it_thaws(
    cluster: Cluster, namespace: str
):
    """Frozen: no watch ever fails by itself. The liveness check notices, within the issue's 15 s,
    and `-w` goes on once the API server thaws."""
    control_plane_faults(cluster)
    told_after, code, lines = followed_through(cluster, namespace, lambda: api_server_frozen(cluster))

    assert told_after < NOTICE_S, f"the interruption was told {told_after:.1f}s after the freeze"
    assert code == 130, lines
    assert len(lines) == 3, lines
    pattern = r"watch interrupted: the API server \S+ did not answer /version within 3s, retrying"
    assert re.fullmatch(pattern, lines[0]), lines
    assert lines[1:] == RESUMED


def why_with_kube_proxy_stopped(cluster: Cluster, args: list[str], node: str) -> tuple[bool, int, Lines]:
    """`why ARGS` with kube-proxy on `node` stopped once its probe pod exists, started again after:
    whether `why` was still running when the stop returned, its exit status and its stdout."""
    proc, out, err = started(cluster, *args)
    try:
        wait_until(lambda: err.count("probe pod(s) created") or proc.poll() is not None, what="the probe pod")
        local("stop-component", "kube-proxy", "--node", node)
        in_time = proc.poll() is None
        code = ended(proc, out, err, timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
        local("start-component", "kube-proxy", "--node", node)
    return in_time, code, out


def test_kube_proxy_stopped_during_why_is_named_in_the_verdict(real_nodes: Cluster, namespace: str):
    """kube-proxy on the probed node stopped once the probe pod exists: its rules stay in place, so the
    probe's traffic still gets through, and only its health tells. `why --node-health` reads it when
    it begins and again once the probes have ended: the verdict names that kube-proxy, stopped during
    the run. If `why` had already ended when the stop returned (a fast machine), that try proved
    nothing: kube-proxy is started again and the run repeated, as when the probe's own traffic failed
    (the claim is about a run whose traffic went through); three tries at most, each one reported."""
    cluster = real_nodes
    deploy_web(cluster, namespace, replicas=1)
    apply(cluster, namespace, WEB_SVC)
    wait_until(
        lambda: cluster.inspect("wait", "web-svc", "-n", namespace, "--timeout", "5s").returncode == 0,
        what="web-svc",
    )
    node = cluster.nodes[-1].name
    args = ["why", "web-svc", "-n", namespace, "--nodes", node, "--node-health", "-o", "json"]
    traffic_ok = {"dns": "ok", "endpoints": "ok", "cluster-ip": "ok", "node-ports": "n/a"}
    inconclusive: list[str] = []
    for _ in range(3):
        stopped_in_time, code, out = why_with_kube_proxy_stopped(cluster, args, node)
        if not stopped_in_time:
            inconclusive.append("why ended before kube-proxy was stopped")
        else:
            doc = json.loads("".join(out.lines))
            (row,) = doc["nodes"]
            if row["cells"] == traffic_ok:  # its rules stayed: the traffic went through
                break
            # a probe that failed on its own (seen once: DNS, under a kind cluster's load beside
            # CI's) says nothing of what this test is about; its whole answer is kept for the report
            inconclusive.append(f"the probe's traffic failed: {json.dumps(doc)}")
        wait_until(
            lambda: cluster.inspect(*args).returncode == 0, what=f"kube-proxy on {node} healthy", timeout=90
        )
    else:
        raise AssertionError(f"no conclusive try in three: {inconclusive}")

    assert code == 1, doc["verdict"]
    assert doc["failedNodes"] == [node], doc["verdict"]
    assert row["kubeProxy"]["reached"] is False, row
    assert f"kube-proxy on node {node} is unhealthy" in doc["verdict"], doc["verdict"]
    assert "it answered 200 when why began, so it stopped during the run" in doc["verdict"], doc["verdict"]
    assert not cluster.get_json("pods", "-n", namespace, "-l", "app.kubernetes.io/component=why-probe")[
        "items"
    ]
    # started again: the same run passes
    wait_until(
        lambda: cluster.inspect(*args).returncode == 0, what=f"kube-proxy on {node} healthy", timeout=90
    )
