"""Benchmark: an offline what-if run (`diff --offline -f DIR`) on a directory of 2,000 Services and
their Deployments, as CI would run it on a big repository of manifests.

Why it exists: issue 23 asks for the figure. It writes one YAML file per application (a Deployment
of `--replicas` pods and its Service) in 20 namespace folders, then runs the installed CLI on the
directory with -R in a process of its own (started by /usr/bin/time, so its peak RSS is its own),
a few times, and prints the medians: wall, CPU, peak RSS, objects and pods judged. No cluster, no
assertion.

    .venv/bin/python bench/bench_whatif.py [--services 2000] [--replicas 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CLI = str(Path(sys.executable).with_name("kubectl-svc_inspect"))
APP = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: app-{i}, namespace: {ns}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: app-{i}}}}}
  template:
    metadata: {{labels: {{app: app-{i}, tier: web}}}}
    spec:
      containers:
      - name: web
        image: registry.example/web:1
        ports: [{{name: http, containerPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: app-{i}, namespace: {ns}}}
spec:
  selector: {{app: app-{i}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


def write_tree(root: Path, services: int, replicas: int) -> None:
    for i in range(services):
        ns = f"bench-{i % 20:02d}"
        folder = root / ns
        folder.mkdir(exist_ok=True)
        (folder / f"app-{i}.yaml").write_text(APP.format(i=i, ns=ns, replicas=replicas))


def measure(root: Path) -> tuple[float, float, float, dict[str, int]]:
    """One run: wall s, CPU s, peak RSS MB, and the report's summary."""
    with tempfile.NamedTemporaryFile("r") as timing:
        res = subprocess.run(
            [
                "/usr/bin/time",
                "-f",
                "%e %U %S %M",
                "-o",
                timing.name,
                CLI,
                "diff",
                "--offline",
                "-R",
                "-f",
                str(root),
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        wall, user, system, rss_kb = timing.read().split()[-4:]
    if res.returncode not in (0, 1):
        raise SystemExit(f"diff --offline failed ({res.returncode}): {res.stderr.strip()}")
    summary = json.loads(res.stdout)["summary"]
    return float(wall), float(user) + float(system), int(rss_kb) / 1024, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-whatif-") as tmp:
        root = Path(tmp)
        write_tree(root, args.services, args.replicas)
        files = sum(1 for _ in root.rglob("*.yaml"))
        size = sum(f.stat().st_size for f in root.rglob("*.yaml")) / 1e6
        measure(root)  # a warm-up: the page cache, the interpreter's own files
        runs = [measure(root) for _ in range(args.runs)]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    rss = statistics.median(r[2] for r in runs)
    summary = runs[0][3]
    pods = args.services * args.replicas
    print(
        f"what-if offline: diff --offline -R -f DIR -o json on {files} files ({size:.1f} MB), "
        f"{args.services} Services and Deployments, {pods} planned pods; medians of {args.runs}"
    )
    print(
        f"  wall {wall:.2f} s   CPU {cpu:.2f} s   peak RSS {rss:.0f} MB   "
        f"({summary['services']} services judged, {summary['errors']} errors)"
    )
    print(f"  per Service and its Deployment: {wall / args.services * 1000:.2f} ms wall")


if __name__ == "__main__":
    main()
