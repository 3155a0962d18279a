"""Without the real node, `make cluster-up` says why in one line and starts the kwok-only cluster.

A second local cluster, beside the session's: its own state directory and ports, the real node
declined with LOCALCLUSTER_REAL_NODE=0 (as on a machine without root or containerd).
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.harness import Cluster, wait_until

LOCAL = Path(__file__).resolve().parent.parent / "cluster" / "localcluster.py"
sys.path.insert(0, str(LOCAL.parent))
from components import KWOK_POD_CIDR  # noqa: E402


def test_without_the_real_node_up_says_why_in_one_line_and_simulates_every_pod(
    cluster: Cluster, tmp_path: Path
) -> None:
    if not cluster.local:
        pytest.skip("starts a second local cluster")
    env = os.environ | {
        "LOCALCLUSTER_DIR": str(tmp_path / "cluster"),
        "LOCALCLUSTER_PORT_OFFSET": "3000",
        "LOCALCLUSTER_REAL_NODE": "0",
    }
    up = subprocess.run(
        [sys.executable, str(LOCAL), "up"], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    try:
        assert up.returncode == 0, up.stderr
        said = [line for line in up.stderr.splitlines() if "real node" in line]
        assert said == [
            "local-cluster: no real node: LOCALCLUSTER_REAL_NODE=0 asks for the kwok-only cluster; "
            "starting the kwok-only cluster (every pod simulated)"
        ]
        assert "real-node" not in up.stdout and "simulated" in up.stdout
        state = tmp_path / "cluster"
        assert (state / "mode").read_text().strip() == "kwok"
        kubectl = [cluster.kubectl_bin, f"--kubeconfig={state / 'kubeconfig'}"]

        def get(*args: str) -> dict:
            return json.loads(
                subprocess.run(
                    [*kubectl, "get", *args, "-o", "json"], capture_output=True, text=True, check=True
                ).stdout
            )

        nodes = get("nodes")["items"]
        assert sorted(n["metadata"]["name"] for n in nodes) == ["kwok-node-0", "kwok-node-1"]
        assert all(not n["spec"].get("taints") for n in nodes)  # nothing else could run a pod
        # an agnhost pod without kwok's toleration is simulated: Running and Ready, on a kwok node
        manifest = (Path(__file__).resolve().parent / "manifests" / "web.yaml").read_text()
        subprocess.run(
            [*kubectl, "apply", "-f", "-"], input=manifest, text=True, capture_output=True, check=True
        )
        pods = wait_until(
            lambda: len(p := [x for x in get("pods")["items"] if x["status"].get("podIP")]) == 3 and p,
            what="3 simulated pods with IPs",
        )
        assert {p["spec"]["nodeName"] for p in pods} <= {"kwok-node-0", "kwok-node-1"}
        kwok_range = ipaddress.ip_network(KWOK_POD_CIDR)
        assert all(ipaddress.ip_address(p["status"]["podIP"]) in kwok_range for p in pods)
        # and no host change: the real node's bridge is the session cluster's alone
        status = subprocess.run(
            [sys.executable, str(LOCAL), "status"], capture_output=True, text=True, env=env, check=False
        )
        assert "mode                       kwok" in status.stdout and "kubelet" not in status.stdout
    finally:
        subprocess.run(
            [sys.executable, str(LOCAL), "down"], capture_output=True, env=env, timeout=120, check=False
        )
