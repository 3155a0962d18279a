"""Benchmark: `kubectl-svc_inspect serve -A` under churn, in figures and a verdict against issue 24's
targets: its memory over time, its CPU per change, and how long a change takes to reach /metrics.

Why it exists: serve runs for weeks; the README promises that its memory stays flat while pods churn,
that a change costs the Services it touches and not the cluster, and that /metrics follows the
cluster within a second. Only a long run on a real API server can show that, so this script fills a
cluster (bench/populating.py's plan: 2,000 Services and 20,000 pods by default), starts serve, and
then, for several minutes, moves pods in and out of their Services at a steady rate. Each move is a
pod change (its `tier` label: the Service stops or starts selecting it, so the Service's expected
endpoints change at once) and, a moment later, an EndpointSlice change (the endpointslice controller
takes the pod's endpoint out or puts it back): hundreds of changes a minute of both kinds, the way a
rollout makes them. It asserts nothing.

    make bench-serve                                            # 20,000 pods, 5 minutes, 300 moves/min
    .venv/bin/python bench/bench_serve.py --small --minutes 2   # 2,000 pods
    .venv/bin/python bench/bench_serve.py --kubeconfig .cluster-bench/kubeconfig   # a cluster already up

Without --kubeconfig it runs the kwok-only bench cluster bench_diff.py runs (.cluster-bench/, ports
moved by $BENCH_PORT_OFFSET, default 1000), reusing its objects when a kept one (--keep) holds the
same plan, and stops it at the end unless --keep is given. Pods and IPs are kwok's: nothing here
sends traffic anywhere but the API server and serve, both on 127.0.0.1.

How each figure is taken:
  RSS       serve's VmRSS at the end of each interval; flat means the rows after the warm-up stay
            within 10% of their smallest (the target).
  CPU       serve's utime+stime from /proc. First two idle spells (no churn), without and with the
            scraper below: the CPU serve spends per second on its own (watches, liveness) and per
            scrape. CPU per change is what the churn adds beyond those, over the pod and
            EndpointSlice events serve received (the bench's own watches count them: the moves'
            events and the controller's, nothing else).
  delay     a scraper reads /metrics every --scrape-every seconds, one scrape after the other. A pod
            move counts from the API server's answer to the PATCH until the beginning of the first
            scrape, begun after it, whose `svc_inspect_endpoints{state="expected"}` of the Service
            differs from the one before it; an EndpointSlice change counts from the bench's own watch
            seeing it until the beginning of the first scrape whose `state="actual"` equals what
            that slice holds (serve answers a scrape from the report it published last, taken as the
            scrape begins). So each delay is a bound from above, by up to one scrape period (the
            interval, or a scrape's own time when longer: both printed). Target: p99 <= 1 s. A
            change not seen within --give-up seconds counts as a miss, at that many seconds.

What it prints: the population; serve's start (time to /readyz 200, RSS then); the idle spell; one
row per interval (moves, events serve received, RSS, CPU, CPU per change, the delays' median and
p99); the totals with a verdict per target; and how serve stopped on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench_diff import cluster_env, localcluster
from kubernetes import client as k8s
from populating import (
    BENCH_LABEL,
    PRESETS,
    Fill,
    Plan,
    already_populated,
    api_client,
    in_bench_namespace,
    list_json,
    populate,
    read_all,
    wait_until,
)
from reporting import Target, save_targets, say

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DETACHED = "idle"  # a moved pod's `tier`: its Service's selector (tier=backend) no longer picks it
ENDPOINTS_LINE = re.compile(
    r'^svc_inspect_endpoints\{namespace="([^"]*)",service="([^"]*)",state="([^"]*)"\} (\S+)$'
)
RSS_FLAT = 0.10  # the target: within 10% after the warm-up
DELAY_P99_S = 1.0  # the target: p99 of change -> /metrics


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def quantile(values: list[float], q: float) -> float:
    """The q-quantile by the nearest rank (p99 of 300 delays: the 297th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# ------------------------------------------------------------------------------------ probes


@dataclass
class Probe:
    """One change awaited on /metrics: the Service's series `state` must move off `old` (a pod
    move) or reach `want` (an EndpointSlice change)."""

    kind: str  # "pod" or "slice"
    series: tuple[str, str, str]  # namespace, service, state
    since: float  # when the change is known to be made (monotonic)
    old: float | None = None
    want: float | None = None

    def seen_in(self, value: float | None) -> bool:
        if value is None:
            return False
        return value != self.old if self.want is None else value == self.want


@dataclass
class Delays:
    """The delays measured, by kind, each with when it was measured; the changes never seen."""

    got: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: {"pod": [], "slice": []})
    missed: Counter[str] = field(default_factory=Counter)

    def between(self, kind: str, start: float, end: float) -> list[float]:
        return [d for at, d in self.got[kind] if start <= at < end]


class Scraper:
    """Reads /metrics every `every` seconds, keeps the endpoint series of the last scrape, and settles
    the probes waiting for them."""

    def __init__(self, port: int, every: float, give_up: float) -> None:
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.every, self.give_up = every, give_up
        self.values: dict[tuple[str, str, str], float] = {}
        self.durations: list[float] = []
        self.delays = Delays()
        self.failures = 0
        self._pending: list[Probe] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def expect(self, probe: Probe) -> None:
        """Awaits `probe`; a slice change supersedes one of the same Service still awaited (the
        controller wrote twice before a scrape: only the last can show)."""
        with self._lock:
            if probe.kind == "slice":
                self._pending = [p for p in self._pending if p.kind != "slice" or p.series != probe.series]
            self._pending.append(probe)

    def last(self, series: tuple[str, str, str]) -> float | None:
        with self._lock:
            return self.values.get(series)

    def run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=30) as resp:
                    body = resp.read().decode()
            except OSError:
                self.failures += 1
                self._stop.wait(self.every)
                continue
            done = time.monotonic()
            values = {}
            for line in body.splitlines():
                if line.startswith("svc_inspect_endpoints{") and (m := ENDPOINTS_LINE.match(line)):
                    values[(m[1], m[2], m[3])] = float(m[4])
            with self._lock:
                self.values = values
                self.durations.append(done - began)
                waiting = []
                for p in self._pending:
                    if p.since <= began and p.seen_in(values.get(p.series)):
                        # serve answers from the report it published last, taken as the scrape
                        # begins: the change was on /metrics by then (within one scrape period)
                        self.delays.got[p.kind].append((done, began - p.since))
                    elif done - p.since > self.give_up:
                        self.delays.missed[p.kind] += 1
                    else:
                        waiting.append(p)
                self._pending = waiting
            self._stop.wait(max(0.0, self.every - (time.monotonic() - began)))

    def stop(self) -> int:
        """Stops scraping; the number of changes still awaited (not counted as missed)."""
        self._stop.set()
        with self._lock:
            return len(self._pending)


# ------------------------------------------------------------------------------------ watches


class Counting:
    """The bench's own watch of one kind across all namespaces, from now on: it counts the events
    (what serve receives of that kind too) and, for EndpointSlices, hands each change to `on_slice`
    at the moment it is seen. `lister` is the client library's list method of the kind."""

    def __init__(self, lister: Any) -> None:
        self.lister = lister
        self.on_slice: Any = None
        self.count = 0
        self._stop = threading.Event()

    def run(self) -> None:
        version = json.loads(read_all(self.lister(limit=1, _preload_content=False)))["metadata"][
            "resourceVersion"
        ]
        while not self._stop.is_set():
            try:
                response = self.lister(
                    watch=True, resource_version=version, timeout_seconds=60, _preload_content=False
                )
                for line in _lines(response):
                    if self._stop.is_set():
                        return
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    version = (obj.get("metadata") or {}).get("resourceVersion") or version
                    if event.get("type") not in ("ADDED", "MODIFIED", "DELETED"):
                        continue
                    self.count += 1
                    if self.on_slice is not None:
                        self.on_slice(obj, time.monotonic())
            except Exception:  # a watch the server ended, or our stop: go on from the last version
                if self._stop.wait(0.5):
                    return

    def stop(self) -> None:
        """Ends the watch once the API server next sends an event or ends the request (within 60 s;
        the thread is a daemon). Its response is not closed from here: that waits for the reading
        thread's lock for as long as the server is quiet, and hung a run."""
        self._stop.set()


def _lines(response: Any) -> Iterator[bytes]:
    buffer = b""
    for chunk in response.stream(64 * 1024):
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        yield from (line for line in lines if line.strip())


def slice_actual(obj: dict[str, Any]) -> float:
    """The `actual` endpoints serve reports for a Service with this one slice: every (address, port)."""
    ports = len(obj.get("ports") or []) or 1
    return float(sum(len(e.get("addresses") or []) for e in obj.get("endpoints") or []) * ports)


@dataclass(frozen=True)
class Baseline:
    """What serve spends without churn: CPU per second on its own (watches, liveness), and CPU per
    scrape of /metrics (a quiet spell without the scraper, then one with it)."""

    idle_rate: float
    per_scrape: float
    scrape_s: float  # how long a scrape takes to answer, median

    @classmethod
    def taken(cls, pid: int, seconds: float, scraper: Scraper, threads: list[threading.Thread]) -> Baseline:
        start, cpu = time.monotonic(), cpu_s(pid)
        time.sleep(seconds)
        idle_rate = (cpu_s(pid) - cpu) / (time.monotonic() - start)
        threads.append(threading.Thread(target=scraper.run, name="scrape", daemon=True))
        threads[-1].start()
        time.sleep(3)  # the first scrapes
        start, cpu, scrapes = time.monotonic(), cpu_s(pid), len(scraper.durations)
        time.sleep(seconds)
        spent = cpu_s(pid) - cpu - idle_rate * (time.monotonic() - start)
        per_scrape = max(0.0, spent) / max(1, len(scraper.durations) - scrapes)
        return cls(idle_rate, per_scrape, statistics.median(scraper.durations or [float("nan")]))

    def beyond(self, cpu: float, seconds: float, scrapes: int) -> float:
        """The CPU of a spell beyond serve's own idle rate and the scrapes of it."""
        return cpu - self.idle_rate * seconds - self.per_scrape * scrapes


# ------------------------------------------------------------------------------------ churn


class Churn:
    """Moves pods out of their Service and back, `per_minute` moves a minute over `threads`
    connections: Service after Service (those that select pods), its last pod (always a ready one)
    taking `tier: idle` or `tier: backend` in turn."""

    def __init__(self, api: Any, plan: Plan, per_minute: float, threads: int, scraper: Scraper) -> None:
        self.core = k8s.CoreV1Api(api)
        self.targets = [
            (plan.namespace(i), f"app-{i:05d}", f"app-{i:05d}-{plan.pods_of(i) - 1:03d}")
            for i in range(plan.services)
            if not plan.broken(i)
        ]
        self.per_minute, self.threads, self.scraper = per_minute, threads, scraper
        self.detached: set[str] = set()
        self.sent = 0
        self.failed = 0
        self.patch_s: list[float] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def move(self, n: int) -> None:
        namespace, service, pod = self.targets[n % len(self.targets)]
        series = (namespace, service, "expected")
        old = self.scraper.last(series)
        detach = pod not in self.detached
        body = {"metadata": {"labels": {"tier": DETACHED if detach else "backend"}}}
        sent = time.monotonic()
        try:
            read_all(self.core.patch_namespaced_pod(pod, namespace, body, _preload_content=False))
        except Exception:  # a refused update is counted, the churn goes on
            with self._lock:
                self.failed += 1
            return
        acked = time.monotonic()
        with self._lock:
            self.sent += 1
            self.patch_s.append(acked - sent)
            (self.detached.add if detach else self.detached.discard)(pod)
        if old is not None:
            self.scraper.expect(Probe("pod", series, acked, old=old))

    def run(self) -> None:
        start = time.monotonic()
        gap = 60.0 / self.per_minute
        with ThreadPoolExecutor(self.threads) as pool:
            for n in range(len(self.targets) * 1000):
                delay = start + n * gap - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                if self._stop.is_set():
                    break
                pool.submit(self.move, n)

    def stop(self) -> None:
        self._stop.set()


def restore(api: Any) -> int:
    """Puts back every pod a run left moved out (interrupted, or its last moves): the plan's state."""
    core = k8s.CoreV1Api(api)
    moved = list_json(core.list_pod_for_all_namespaces, label_selector=f"{BENCH_LABEL}=true,tier={DETACHED}")
    for pod in moved:
        meta = pod["metadata"]
        body = {"metadata": {"labels": {"tier": "backend"}}}
        read_all(core.patch_namespaced_pod(meta["name"], meta["namespace"], body, _preload_content=False))
    return len(moved)


def slices_complete(api: Any, plan: Plan) -> tuple[bool, str]:
    """Whether the EndpointSlices list every endpoint of the plan again (a restore's aftermath)."""
    slices = list_json(k8s.DiscoveryV1Api(api).list_endpoint_slice_for_all_namespaces)
    endpoints = sum(len(s.get("endpoints") or []) for s in slices if in_bench_namespace(s))
    want = plan.expected_endpoints()[0]
    return endpoints == want, f"{endpoints:,}/{want:,} endpoints"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------ the run


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="200 Services, 2,000 pods")
    parser.add_argument("--minutes", type=float, default=5.0, help="how long the churn lasts (default 5)")
    parser.add_argument("--rate", type=float, default=300.0, help="pod moves per minute (default 300)")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds per printed row (default 30)")
    parser.add_argument(
        "--warmup", type=float, default=60.0, help="seconds of churn before RSS must stay flat (default 60)"
    )
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of the idle spell (default 30)")
    parser.add_argument(
        "--scrape-every", type=float, default=0.2, help="seconds between scrapes of /metrics (default 0.2)"
    )
    parser.add_argument(
        "--give-up", type=float, default=30.0, help="a change not on /metrics by then is a miss (default 30)"
    )
    parser.add_argument("--threads", type=int, default=4, help="connections of the churn and the fill")
    parser.add_argument("--clients", type=int, default=4, help="API clients filling side by side (default 4)")
    parser.add_argument(
        "--kubeconfig", help="a cluster that is up already (kwok): no bench cluster of our own"
    )
    parser.add_argument("--keep", action="store_true", help="leave the bench cluster up at the end")
    parser.add_argument(
        "--targets-out",
        metavar="FILE",
        help="append the targets as JSON lines (bench/targets.py prints them)",
    )
    args = parser.parse_args(argv)
    preset = PRESETS["small" if args.small else "default"]
    plan = Plan(services=preset["services"], pods=preset["pods"], namespaces=preset["namespaces"])

    say(
        f"serve under churn: {plan.services:,} Services, {plan.pods:,} pods in {plan.namespaces} namespaces; "
        f"{args.rate:g} pod moves/min for {args.minutes:g} min (load average {load()})"
    )
    own = args.kubeconfig is None
    if own:
        localcluster("up")
    try:
        kubeconfig = args.kubeconfig or cluster_env()["KUBECONFIG"]
        api = api_client(kubeconfig, args.threads + 4)
        say("\nPopulation")
        if already_populated(plan, api):
            say("  reusing the objects already there")
        else:
            populate(plan, api, kubeconfig, Fill(args.clients, args.threads))
        if moved := restore(api):
            say(f"  {moved} pod(s) a previous run left moved out were put back")
            wait_until("their endpoints back in the EndpointSlices", lambda: slices_complete(api, plan), 300)
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
    core, discovery = k8s.CoreV1Api(api), k8s.DiscoveryV1Api(api)
    watches = {
        "pods": Counting(core.list_pod_for_all_namespaces),
        "endpointslices": Counting(discovery.list_endpoint_slice_for_all_namespaces),
        "nodes": Counting(core.list_node),
    }
    scraper = Scraper(port, args.scrape_every, args.give_up)
    threads: list[threading.Thread] = []
    churn: Churn | None = None
    try:
        while not ready(port):
            if proc.poll() is not None:
                raise SystemExit(f"bench: serve ended: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
        say("\nserve -A")
        say(
            f"  ready (first list judged) after {time.monotonic() - t0:.1f} s; RSS {rss_mib(proc.pid):.0f} MiB "
            f"(load average {load()})"
        )

        def on_slice(obj: dict[str, Any], seen: float) -> None:
            meta = obj.get("metadata") or {}
            service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
            if service and str(meta.get("namespace", "")).startswith("bench-") and churn is not None:
                series = (str(meta["namespace"]), str(service), "actual")
                scraper.expect(Probe("slice", series, seen, want=slice_actual(obj)))

        watches["endpointslices"].on_slice = on_slice
        for name, w in watches.items():
            threads.append(threading.Thread(target=w.run, name=f"watch-{name}", daemon=True))
            threads[-1].start()
        time.sleep(5)  # the watches open
        base = Baseline.taken(proc.pid, args.idle, scraper, threads)
        say(
            f"  idle for {args.idle:g} s: {base.idle_rate * 1000:.0f} ms of CPU per second (watches, liveness); "
            f"then /metrics read every {args.scrape_every:g} s: a scrape costs serve {base.per_scrape * 1000:.0f} ms "
            f"of CPU and takes {base.scrape_s * 1000:.0f} ms to answer (medians); RSS {rss_mib(proc.pid):.0f} MiB"
        )

        churn = Churn(api, plan, args.rate, args.threads, scraper)
        worker = threading.Thread(target=churn.run, name="churn", daemon=True)
        say(
            f"\n  {'time':>5} {'moves':>6} {'pod ev':>7} {'slice ev':>8} {'RSS MiB':>8} {'CPU s':>7} "
            f"{'ms/change':>9} {'pod delay med/p99':>18} {'slice delay med/p99':>20}  load"
        )
        counts = {k: w.count for k, w in watches.items()}
        started = time.monotonic()
        cpu_started = cpu_s(proc.pid)
        worker.start()
        end = started + args.minutes * 60
        rows: list[tuple[float, float]] = []  # (seconds into the churn, RSS)
        moves_before, cpu_before, row_start = 0, cpu_started, started
        before = dict(counts)
        scrapes_before = scrapes_started = len(scraper.durations)
        try:
            while time.monotonic() < end:
                time.sleep(min(args.interval, max(end - time.monotonic(), 0.1)))
                now = time.monotonic()
                cpu, rss = cpu_s(proc.pid), rss_mib(proc.pid)
                got = {k: w.count for k, w in watches.items()}
                changes = sum(got[k] - before[k] for k in ("pods", "endpointslices"))
                scrapes = len(scraper.durations)
                net = base.beyond(cpu - cpu_before, now - row_start, scrapes - scrapes_before)
                per = net * 1000 / changes if changes else float("nan")
                say(
                    f"  {now - started:4.0f}s {churn.sent - moves_before:6,} {got['pods'] - before['pods']:7,} "
                    f"{got['endpointslices'] - before['endpointslices']:8,} {rss:8.0f} {cpu:7.1f} {per:9.2f} "
                    f"{_delays(scraper.delays.between('pod', row_start, now)):>18} "
                    f"{_delays(scraper.delays.between('slice', row_start, now)):>20}  {load()}"
                )
                rows.append((now - started, rss))
                moves_before, cpu_before, row_start, before = churn.sent, cpu, now, got
                scrapes_before = scrapes
        finally:
            churn.stop()
            worker.join()
        churn_s = time.monotonic() - started
        cpu_churn = cpu_s(proc.pid) - cpu_started
        net_churn = base.beyond(cpu_churn, churn_s, len(scraper.durations) - scrapes_started)
        events = {k: w.count - counts[k] for k, w in watches.items()}
        time.sleep(min(args.give_up, 5.0))  # the last moves reach /metrics
        left = scraper.stop()
        for w in watches.values():
            w.stop()
        summary(args, plan, churn, scraper, rows, events, cpu_churn, net_churn, churn_s, left)
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        last_line = (err.strip().splitlines() or ["(nothing on stderr)"])[-1]
        say(f"\n  SIGTERM: exit {proc.returncode} after {time.monotonic() - stopping:.1f} s ({last_line})")
        if moved := restore(api):
            say(f"  {moved} pod(s) moved out by the last moves were put back")
        return 0
    finally:
        if churn is not None:
            churn.stop()
        scraper.stop()
        for w in watches.values():
            w.stop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _delays(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values) * 1000:.0f}/{quantile(values, 0.99) * 1000:.0f} ms"


def summary(
    args: argparse.Namespace,
    plan: Plan,
    churn: Churn,
    scraper: Scraper,
    rows: list[tuple[float, float]],
    events: dict[str, int],
    cpu_churn: float,
    net: float,
    churn_s: float,
    left: int,
) -> None:
    changes = events["pods"] + events["endpointslices"]
    say(
        f"\n  {churn.sent:,} pod moves in {churn_s:.0f} s ({churn.sent * 60 / churn_s:.0f}/min; "
        f"{churn.failed} refused; PATCH answered in {statistics.median(churn.patch_s or [0]) * 1000:.0f} ms, "
        f"median); serve received {events['pods']:,} pod and {events['endpointslices']:,} EndpointSlice "
        f"events ({changes * 60 / churn_s:.0f}/min) and {events['nodes']:,} node events"
    )
    say(
        f"  CPU: {cpu_churn:.1f} s during the churn, {net:.1f} s beyond the idle rate and the scrapes: "
        f"{net * 1000 / max(1, changes):.2f} ms per pod or EndpointSlice event "
        f"({net * 1000 / max(1, churn.sent):.2f} ms per pod move, its slice change included)"
    )
    after = [rss for at, rss in rows if at >= args.warmup]
    growth = (max(after) / min(after) - 1) if after else None
    if rows:
        say(
            f"  RSS: {rows[0][1]:.0f} MiB after the first interval, {rows[-1][1]:.0f} MiB after the last; "
            + (
                f"after the warm-up ({args.warmup:g} s) {min(after):.0f}-{max(after):.0f} MiB "
                f"({growth * 100:.1f}% over its smallest)"
                if growth is not None
                else "no row after the warm-up"
            )
        )
    delays = {k: [d for _, d in v] for k, v in scraper.delays.got.items()}
    scrape = statistics.median(scraper.durations) if scraper.durations else float("nan")
    say(
        f"  delay from a change to /metrics (read every {args.scrape_every:g} s, a scrape "
        f"{scrape * 1000:.0f} ms median; {len(scraper.durations):,} scrapes, {scraper.failures} failed):"
    )
    for kind, label in (
        ("pod", "pod moves (expected endpoints)"),
        ("slice", "EndpointSlice changes (actual)"),
    ):
        got = delays[kind]
        if got:
            say(
                f"    {label:<32} {len(got):6,} seen: median {statistics.median(got) * 1000:.0f} ms, "
                f"p99 {quantile(got, 0.99) * 1000:.0f} ms, max {max(got) * 1000:.0f} ms; "
                f"{scraper.delays.missed[kind]} not seen within {args.give_up:g} s"
            )
        else:
            say(f"    {label:<32} none seen; {scraper.delays.missed[kind]} missed")
    if left:
        say(f"    ({left} change(s) still awaited when the scraper stopped: left out)")
    both = delays["pod"] + delays["slice"]
    missed = sum(scraper.delays.missed.values())
    # a miss counts as the give-up time: the p99 cannot hide it
    p99 = quantile(both + [args.give_up] * missed, 0.99) if both or missed else None
    say(f"\nTargets (issue 24, item 3; {plan.pods:,} pods, load average {load()})")
    targets = [
        Target(f"RSS flat within 10% after {args.warmup:g} s of churn", RSS_FLAT * 100, "%", None)
        if growth is None
        else Target(
            f"RSS flat within 10% after {args.warmup:g} s of churn", RSS_FLAT * 100, "%", growth * 100
        ),
        Target("change -> /metrics, p99 of pod and EndpointSlice changes", DELAY_P99_S * 1000, " ms", None)
        if p99 is None
        else Target(
            "change -> /metrics, p99 of pod and EndpointSlice changes", DELAY_P99_S * 1000, " ms", p99 * 1000
        ),
    ]
    for t in targets:
        figure = f"{t.value:8.1f}{t.unit:<3}" if t.value is not None else f"{'-':>8}{'':<3}"
        verdict = t.verdict() if t.value is not None else "not measured: no row or no change seen"
        say(f"  {t.label:<62} {figure} {verdict}")
    save_targets(
        args.targets_out,
        f"{plan.pods:,} pods, serve",
        [t if t.value is not None else replace(t, why_not="no row or no change seen") for t in targets],
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
