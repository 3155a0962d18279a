"""Benchmark: `kubectl-svc_inspect serve -A` under churn, in figures: its memory and CPU per update.

Why it exists: serve runs for weeks; the README promises it holds steady memory while pods churn and
that an update costs the Services it touches, not the cluster. Only a long run on a real API server
can show that, so this script fills a cluster (bench/populating.py's plan: 2,000 Services and
20,000 pods by default), starts serve, then relabels pods at a steady rate for several minutes (each
relabel changes the pod as serve sees it, so its Service is judged again) and prints, every
interval, serve's resident memory and the CPU it used per update. It asserts nothing.

    .venv/bin/python bench/bench_serve.py                       # 20,000 pods, 5 minutes at 50 updates/s
    .venv/bin/python bench/bench_serve.py --small --minutes 2   # 2,000 pods
    .venv/bin/python bench/bench_serve.py --kubeconfig .cluster/kubeconfig --small   # a cluster already up

Without --kubeconfig it runs its own kwok-only cluster as bench_diff.py does (.cluster-bench/, ports
moved by $BENCH_PORT_OFFSET, default 1000), stopped at the end unless --keep is given.

What it prints: the population; serve's start (time to /readyz 200, RSS then); one row per interval
(updates sent in it and in all, serve's RSS, its CPU seconds, CPU milliseconds per update, how long
ago the report last changed: the relabels leave every report as it was, so this grows while serve
judges them); and at the end the RSS growth from the first churn interval to the
last, and how serve stopped on SIGTERM (exit status, seconds).
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench_diff import api_client, cluster_env, localcluster
from kubernetes import client as k8s
from populating import PRESETS, Plan, already_populated, populate
from reporting import say

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def metric(port: int, name: str) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


class Churn:
    """Relabels the plan's pods round-robin at `rate` per second over `threads` connections: the
    label bench.inspector.test/churn takes the next number each time (no selector reads it, so the
    Services stay as they were; serve still judges again the Service of each pod)."""

    def __init__(self, api: Any, plan: Plan, rate: float, threads: int) -> None:
        self.core = k8s.CoreV1Api(api)
        self.pods = [
            (plan.namespace(i), f"app-{i:05d}-{j:03d}")
            for i in range(plan.services)
            for j in range(plan.pods_of(i))
        ]
        self.rate, self.threads = rate, threads
        self.sent = 0
        self.failed = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        turn = itertools.count()
        start = time.monotonic()

        def one(n: int) -> None:
            namespace, name = self.pods[n % len(self.pods)]
            body = {"metadata": {"labels": {"bench.inspector.test/churn": str(n)}}}
            try:
                self.core.patch_namespaced_pod(name, namespace, body, _preload_content=False).release_conn()
                with self._lock:
                    self.sent += 1
            except Exception:  # a refused update is counted, the churn goes on
                with self._lock:
                    self.failed += 1

        with ThreadPoolExecutor(self.threads) as pool:
            while not self._stop.is_set():
                n = next(turn)
                due = start + n / self.rate
                delay = due - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                pool.submit(one, n)

    def stop(self) -> None:
        self._stop.set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="200 Services, 2,000 pods")
    parser.add_argument("--minutes", type=float, default=5.0, help="how long the churn lasts (default 5)")
    parser.add_argument("--rate", type=float, default=50.0, help="pod updates per second (default 50)")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds per printed row (default 30)")
    parser.add_argument("--threads", type=int, default=8, help="connections creating and updating objects")
    parser.add_argument(
        "--kubeconfig", help="a cluster that is up already (kwok): no bench cluster of our own"
    )
    parser.add_argument("--keep", action="store_true", help="leave the bench cluster up at the end")
    args = parser.parse_args(argv)
    preset = PRESETS["small" if args.small else "default"]
    plan = Plan(services=preset["services"], pods=preset["pods"], namespaces=preset["namespaces"])

    say(
        f"serve under churn: {plan.services:,} Services, {plan.pods:,} pods in {plan.namespaces} namespaces; "
        f"{args.rate:g} pod updates/s for {args.minutes:g} min"
    )
    own = args.kubeconfig is None
    if own:
        localcluster("up")
    try:
        kubeconfig = args.kubeconfig or cluster_env()["KUBECONFIG"]
        api = api_client(kubeconfig, args.threads)
        say("\nPopulation")
        if already_populated(plan, api):
            say("  reusing the objects already there")
        else:
            populate(plan, api, args.threads)
        return run_serve(plan, api, kubeconfig, args)
    finally:
        if own and not args.keep:
            localcluster("down")


def run_serve(plan: Plan, api: Any, kubeconfig: str, args: argparse.Namespace) -> int:
    port = free_port()
    exe = str(Path(sys.executable).parent / "kubectl-svc_inspect")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [exe, "serve", "-A", "--listen", f"127.0.0.1:{port}", f"--kubeconfig={kubeconfig}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not ready(port):
            if proc.poll() is not None:
                raise SystemExit(f"bench: serve ended: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
        say("\nserve -A")
        say(
            f"  ready (first list judged) after {time.monotonic() - t0:.1f} s; RSS {rss_mib(proc.pid):.0f} MiB"
        )

        churn = Churn(api, plan, args.rate, args.threads)
        worker = threading.Thread(target=churn.run, name="churn")
        say(
            f"\n  {'time':>6} {'updates':>8} {'in all':>8} {'RSS MiB':>8} {'CPU s':>7} {'CPU ms/update':>14} "
            f"{'last change':>12}"
        )
        worker.start()
        end = time.monotonic() + args.minutes * 60
        rows: list[float] = []
        sent_before, cpu_before, started = 0, cpu_s(proc.pid), time.monotonic()
        try:
            while time.monotonic() < end:
                time.sleep(min(args.interval, max(end - time.monotonic(), 0.1)))
                sent, cpu, rss = churn.sent, cpu_s(proc.pid), rss_mib(proc.pid)
                last = metric(port, "svc_inspect_last_change_timestamp_seconds") or 0.0
                updates = sent - sent_before
                per = (cpu - cpu_before) * 1000 / updates if updates else float("nan")
                say(
                    f"  {time.monotonic() - started:5.0f}s {updates:8,} {sent:8,} {rss:8.0f} {cpu:7.1f} "
                    f"{per:14.2f} {time.time() - last:10.1f}s"
                )
                rows.append(rss)
                sent_before, cpu_before = sent, cpu
        finally:
            churn.stop()
            worker.join()
        if churn.failed:
            say(f"  ({churn.failed:,} updates refused by the API server)")
        if rows:
            say(f"\n  RSS from the first interval to the last: {rows[0]:.0f} -> {rows[-1]:.0f} MiB")
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        last_line = err.strip().splitlines()[-1]
        say(f"  SIGTERM: exit {proc.returncode} after {time.monotonic() - stopping:.1f} s ({last_line})")
        return 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
