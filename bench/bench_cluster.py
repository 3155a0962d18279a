"""Figures of the local cluster itself: start-up and teardown, pod start latency, memory.

    .venv/bin/python bench/bench_cluster.py [--runs N]

Takes the test cluster (.cluster/) down and up again N times with the real node, then a kwok-only
cluster beside it (its own state directory and ports), and prints each figure's median, minimum and
maximum. On the real node it times single pods from create to Ready, a Deployment scaled 2 -> 10,
and sums the resident memory of every process of the cluster (control plane, node, shims, pods) with
5 pods running. Leaves the test cluster up. Nothing is sent anywhere but the cluster's addresses.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "cluster" / "localcluster.py"
sys.path.insert(0, str(ROOT / "cluster"))

import components  # noqa: E402
import nodes  # noqa: E402


def timed(args: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.monotonic()
    res = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if res.returncode:
        raise SystemExit(f"{' '.join(args)} failed: {res.stderr.strip()}")
    return time.monotonic() - t0


def row(name: str, values: list[float], unit: str = "s") -> None:
    fmt = (lambda v: f"{v:.1f} {unit}") if unit == "s" else (lambda v: f"{v:.0f} {unit}")
    spread = f"min {fmt(min(values)):>10}   max {fmt(max(values)):>10}   (n={len(values)})"
    print(f"{name:58} median {fmt(statistics.median(values)):>10}   {spread}")


def env_file() -> dict[str, str]:
    out = {}
    for line in (ROOT / ".cluster" / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        out[key] = value
    return out


def kubectl(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    res = subprocess.run(
        [env["LOCALCLUSTER_KUBECTL"], f"--kubeconfig={env['KUBECONFIG']}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return res.stdout


POD = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: bench-pods
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: app
      image: registry.k8s.io/e2e-test-images/agnhost:2.66.1
      args: [netexec, --http-port=8080, --udp-port=-1]
"""


def pod_latency(env: dict[str, str], runs: int) -> list[float]:
    out = []
    for i in range(runs):
        t0 = time.monotonic()
        kubectl(env, "apply", "-f", "-", stdin=POD.format(name=f"p{i}"))
        kubectl(env, "wait", "-n", "bench-pods", "--for=condition=Ready", f"pod/p{i}", "--timeout=120s")
        out.append(time.monotonic() - t0)
    return out


def cluster_rss_mib() -> float:
    """Resident memory of every process of the cluster: components by their pid files, and what
    runs under the real node's directories (shims, pause, containers)."""
    pids = {int(p.read_text().split()[0]) for p in (ROOT / ".cluster" / "pids").glob("*.pid")}
    for node in components.real_nodes(ROOT / ".cluster"):
        pids |= set(nodes.processes(node))
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    py = sys.executable
    ups, downs = [], []
    for _ in range(args.runs):
        downs.append(timed([py, str(LOCAL), "down"]))
        ups.append(timed([py, str(LOCAL), "up"]))
    env = env_file()
    if env.get("LOCALCLUSTER_MODE") != "real":
        raise SystemExit("the test cluster came up without real nodes; see its first line")
    count = len(env.get("LOCALCLUSTER_NODES", "").strip("'").split())
    row(f"warm cluster-up with {count} real node(s)", ups)
    row(f"cluster-down with {count} real node(s) (pods, host changes)", downs[1:] or downs)

    kubectl(env, "create", "namespace", "bench-pods")
    try:
        row("one pod create -> Ready on a real node (agnhost)", pod_latency(env, 5))
        print(f"{'memory of the whole cluster, 5 pods running (RSS sum)':58} {cluster_rss_mib():.0f} MiB")
        deploy = {  # a Deployment of the same pod
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "scale", "namespace": "bench-pods"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "scale"}},
                "template": {
                    "metadata": {"labels": {"app": "scale"}},
                    "spec": {
                        "terminationGracePeriodSeconds": 1,
                        "containers": [
                            {
                                "name": "app",
                                "image": "registry.k8s.io/e2e-test-images/agnhost:2.66.1",
                                "args": ["netexec", "--http-port=8080", "--udp-port=-1"],
                            }
                        ],
                    },
                },
            },
        }
        kubectl(env, "apply", "-f", "-", stdin=json.dumps(deploy))
        kubectl(env, "rollout", "status", "-n", "bench-pods", "deployment/scale", "--timeout=120s")
        t0 = time.monotonic()
        kubectl(env, "scale", "-n", "bench-pods", "deployment/scale", "--replicas=10")
        kubectl(env, "rollout", "status", "-n", "bench-pods", "deployment/scale", "--timeout=300s")
        print(f"{'Deployment scaled 2 -> 10 pods, until all Ready':58} {time.monotonic() - t0:.1f} s")
        print(f"{'memory of the whole cluster, 15 pods running (RSS sum)':58} {cluster_rss_mib():.0f} MiB")
    finally:
        kubectl(env, "delete", "namespace", "bench-pods", "--wait=false")

    with tempfile.TemporaryDirectory() as tmp:
        kwok_env = os.environ | {
            "LOCALCLUSTER_DIR": tmp,
            "LOCALCLUSTER_PORT_OFFSET": "3000",
            "LOCALCLUSTER_REAL_NODE": "0",
        }
        kups = []
        for _ in range(args.runs):
            kups.append(timed([py, str(LOCAL), "up"], kwok_env))
            timed([py, str(LOCAL), "down"], kwok_env)
        row("warm cluster-up, kwok-only (LOCALCLUSTER_REAL_NODE=0)", kups)


if __name__ == "__main__":
    main()
