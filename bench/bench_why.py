"""Benchmark: `why --nodes all` on the real nodes against a single-node `why`, in figures and a ratio.

Why it exists: `why --nodes all` runs one probe pod per node; they are created together and polled
together, so its wall time should stay close to a single probe's, not grow with the nodes (the
target: at most 1.5x a single-node `why` on three nodes). Timed tests cannot say that on a noisy
machine; this prints the figures for a human to read and asserts nothing.

    .venv/bin/python bench/bench_why.py [--repeat N]

It uses the test cluster (.cluster/, real nodes), starting it when it is not up and stopping it
again at the end in that case. It makes a namespace with one web pod on every real node and a
Service over them, runs both commands interleaved (each by /usr/bin/time, as bench_diff.py does),
prints the medians and the ratio, and deletes the namespace. Traffic goes only to pod and Service
addresses on this machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from measuring import Run, measure  # noqa: E402
from reporting import Target, save_targets  # noqa: E402

LOCAL = [sys.executable, str(ROOT / "cluster" / "localcluster.py")]
INSPECT = str(Path(sys.executable).parent / "kubectl-svc_inspect")
NAMESPACE = "bench-why"
TARGET = 1.5


def cluster_env() -> dict[str, str]:
    env = dict(os.environ)
    for line in (ROOT / ".cluster" / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    return env


def kubectl(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    res = subprocess.run(
        [env.get("LOCALCLUSTER_KUBECTL", "kubectl"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if res.returncode:
        raise SystemExit(f"bench: kubectl {' '.join(args)}: {res.stderr.strip()}")
    return res.stdout


def web(nodes: list[str]) -> str:
    pods = "".join(
        f"""---
apiVersion: v1
kind: Pod
metadata: {{name: web-{n}, namespace: {NAMESPACE}, labels: {{app: web}}}}
spec:
  nodeName: {n}
  terminationGracePeriodSeconds: 1
  containers:
    - name: web
      image: registry.k8s.io/e2e-test-images/agnhost:2.66.1
      args: [netexec, --http-port=8080, --udp-port=-1]
      ports: [{{name: http, containerPort: 8080}}]
"""
        for n in nodes
    )
    return f"""apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NAMESPACE}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: http}}]
{pods}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="interleaved runs of each command (default 5)")
    parser.add_argument(
        "--targets-out", metavar="FILE", help="append the target as a JSON line (bench/targets.py prints it)"
    )
    args = parser.parse_args()
    started = subprocess.run([*LOCAL, "status"], capture_output=True, check=False).returncode != 0
    if started:
        subprocess.run([*LOCAL, "up"], check=True)
    try:
        env = cluster_env()
        nodes = kubectl(
            env, "get", "nodes", "-l", "type=real", "-o", "jsonpath={.items[*].metadata.name}"
        ).split()
        if len(nodes) < 2:
            raise SystemExit("bench: why --nodes needs several real nodes (LOCALCLUSTER_REAL_NODES >= 2)")
        kubectl(env, "create", "namespace", NAMESPACE)
        try:
            kubectl(env, "apply", "-f", "-", stdin=web(nodes))
            kubectl(
                env,
                "wait",
                "-n",
                NAMESPACE,
                "--for=condition=Ready",
                "pod",
                "-l",
                "app=web",
                "--timeout=120s",
            )
            wait = [INSPECT, "wait", "web", "-n", NAMESPACE, "--timeout", "60s"]
            subprocess.run(wait, env=env, check=True, capture_output=True)
            single = [INSPECT, "why", "web", "-n", NAMESPACE]
            across = [*single, "--nodes", "all"]
            measure(single, env)  # warm-up: the probe image is on every node already; caches
            runs: dict[str, list[Run]] = {"single": [], "across": []}
            t0 = time.monotonic()
            for _ in range(args.repeat):
                runs["single"].append(measure(single, env))
                runs["across"].append(measure(across, env))
            print(
                f"why on {len(nodes)} real nodes, {args.repeat} interleaved runs each "
                f"({time.monotonic() - t0:.0f}s), medians [min - max]:"
            )
            for name, label in (("single", "why web (one probe pod)"), ("across", "why web --nodes all")):
                walls = [r.wall_s for r in runs[name]]
                cpu = statistics.median(r.cpu_s for r in runs[name])
                rss = statistics.median(r.peak_rss_mb for r in runs[name])
                print(
                    f"  {label:28} wall {statistics.median(walls):5.2f}s [{min(walls):.2f} - {max(walls):.2f}]"
                    f"   cpu {cpu:.2f}s   peak RSS {rss:.0f} MB"
                )
            pairs = [a.wall_s / s.wall_s for a, s in zip(runs["across"], runs["single"], strict=True)]
            ratio = statistics.median(pairs)
            verdict = "met" if ratio <= TARGET else f"missed by {ratio / TARGET - 1:.0%}"
            print(
                f"  ratio --nodes all / single (median of pairs): {ratio:.2f}x   target <= {TARGET}x: {verdict}"
            )
            label = f"`why --nodes all` <= {TARGET}x one node's `why` ({len(nodes)} real nodes)"
            save_targets(args.targets_out, "real nodes", [Target(label, TARGET, "x", ratio)])
        finally:
            kubectl(env, "delete", "namespace", NAMESPACE, "--wait=false")
    finally:
        if started:
            subprocess.run([*LOCAL, "down"], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
