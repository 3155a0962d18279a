"""Benchmark: `kubectl-svc_inspect diff -A` on a large simulated cluster, in figures and ratios.

Why it exists: the README ("Performance") promises that on a cluster of thousands of Services
and tens of thousands of pods the inspector issues one paginated LIST per kind, does work linear in
objects, and runs `diff -A` no slower than `kubectl get services,endpointslices,pods -A -o json`.
Timed unit tests cannot check that (machines are noisy), so this script measures it on a real API
server and prints the figures and ratios for a human to read. It asserts no timing.

    make bench                                        # 2,000 Services, 20,000 pods, 20 namespaces
    make bench BENCH_ARGS=--keep                      # the same, the cluster left up for a rerun
    .venv/bin/python bench/bench_diff.py --small      # 200 Services, 2,000 pods: a quick run
    .venv/bin/python bench/bench_diff.py --keep       # leave the cluster up; a rerun reuses it

It runs its own local cluster (state in .cluster-bench/, every port moved by 1000), never the shared
one in .cluster/, and stops it at the end unless --keep is given. Pod and Service IPs are simulated
by kwok; nothing here sends traffic anywhere but the API server on 127.0.0.1.

How the cluster is filled: bare pods with `nodeName` set, created by this script over a few
threads, then Services selecting them. Deployments would be the natural choice, but the
kube-controller-manager's client is limited to 20 requests/s (--kube-api-qps), so its ReplicaSet
controller creates about 16 pods/s here: 20 minutes for 20,000 pods. Pods come first so each
Service's EndpointSlice is written once, complete. There are 200 pods per kwok node at most: the
controller-manager gives each node a /24 and kwok hands out pod IPs from it, wrapping into the next
node's range (duplicate IPs) past 255.

What it prints:
  population    how long the API server, kwok and the controllers took to reach the wanted state;
  end to end    every command of the table below, interleaved, medians of --repeat runs: wall time,
                CPU time and its own peak RSS, each as a ratio to `diff -A`. Each command is started
                by /usr/bin/time, never forked from this process: a child forked from the bench
                inherits its high-water mark through exec (a /bin/true child of a 500 MB bench
                reported 511.6 MB); a /bin/true started that way is shown first, as the proof.
                The rows: the transfer floor (bench/floors.py: the paginated LISTs of the three
                kinds, bodies dropped), the decoding floor (the same plus json.loads), `diff -A`,
                kubectl's list-only `get -o json`, popeye (built once from its Go module; its full
                scan only with --with-popeye-full: it peaked near 19 GB at 20,000 pods), `dns -A`,
                `diff` of one namespace, and the fixed cost: `diff` of an empty namespace, and
                `--version`;
  phases        the inspector in a fresh process: fetching (connect and read_snapshot),
                inspecting (inspect_snapshot), rendering (report_json and write_json), and the
                requests sent per kind against the pages one paginated LIST needs;
  linearity     inspect_snapshot on 10%, 50% and 100% of the namespaces (time per object should
                stay flat), then on all of them folded into fewer namespaces: the same objects, more
                pods and Services per namespace, which exposes work that grows as Services x pods;
  wait          `wait` on a new Service of a full namespace: from the EndpointSlice update that
                completes it to `wait` having returned;
  targets       issue 15's: `diff -A` <= 1.5x the transfer floor and <= 0.25x kubectl, peak RSS
                <= 150 MB, density <= 1.3x, `wait` within 200 ms; met, or missed by how much;
  DNS oracle    `dns -A`'s work through the Python API (inspect_dns against the bench cluster's
                CoreDNS, pinned by its INSPECTOR_DNS_SERVER): every expected record (A, SRV, PTR,
                headless endpoint names, pod records, dns-version) asked and judged, in names per
                second, beside the floor: a bare dnspython loop asking the same names at the same
                concurrency (UDP, TCP on truncation) and judging nothing. --dns-only runs just this
                section (2,000 Services with --services 2000 --pods 2000 give over 6,000 names).

    make bench BENCH_ARGS="--preset large --keep"   # 10,000 Services, 100,000 pods, 500 kwok nodes
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from inspector.diagnosis.report import inspect_snapshot
from inspector.kube.connection import connect
from inspector.kube.listing import PAGE_SIZE
from inspector.live.reading import read_snapshot
from inspector.model.snapshot import Snapshot
from inspector.output.documents import report_json, summary_json, write_json

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".cluster-bench"
# kwok-only: the benchmark needs many simulated pods, and the real node is the test cluster's
CLUSTER_ENV = {
    "LOCALCLUSTER_DIR": str(STATE),
    # BENCH_PORT_OFFSET: another work tree's bench cluster may hold offset 1000 on the same machine
    "LOCALCLUSTER_PORT_OFFSET": os.environ.get("BENCH_PORT_OFFSET", "1000"),
    "LOCALCLUSTER_REAL_NODE": "0",
}

BENCH_LABEL = "bench.inspector.test/object"  # on every object this script creates
NAMESPACE_PREFIX = "bench-"
LINEARITY_REPEAT = 5  # inspect_snapshot alone is quick: more runs cost little
PODS_PER_NODE = 200  # a node's /24 holds 254 pod IPs; kwok reuses none of them
NOT_READY = {"kwok.inspector.test/ready": "false"}  # cluster/kwok-stages.yaml: Running, never Ready

PRESETS = {
    "default": {"services": 2000, "pods": 20000, "namespaces": 20},
    "small": {"services": 200, "pods": 2000, "namespaces": 20},
    # toward the Kubernetes scalability envelope (150,000 pods): 1,000 kwok nodes of 100 pods
    "large": {"services": 10000, "pods": 100000, "namespaces": 100},
}
EMPTY_NAMESPACE = "bench-empty"  # no object of the plan: what any command costs before any object
POPEYE_VERSION = "v0.22.1"
POPEYE_MODULE = "github.com/derailed/popeye"
TOOLS = Path("~/.cache/kubectl-inspect/bin").expanduser()


def say(text: str = "") -> None:
    print(text, flush=True)


# ------------------------------------------------------------------------------------ the cluster


def localcluster(command: str) -> None:
    res = subprocess.run(
        [sys.executable, str(ROOT / "cluster" / "localcluster.py"), command],
        env={**os.environ, **CLUSTER_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode:
        raise SystemExit(f"bench: localcluster.py {command} failed:\n{res.stderr.strip()}")


def cluster_env() -> dict[str, str]:
    """KUBECONFIG, INSPECTOR_DNS_SERVER and LOCALCLUSTER_KUBECTL from the bench cluster's env file."""
    out = {}
    for line in (STATE / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        out[key] = value
    return out


def api_client(kubeconfig: str, threads: int) -> Any:
    cfg = k8s.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg, persist_config=False)
    host = urlsplit(cfg.host).hostname
    if host != "127.0.0.1":  # the bench cluster listens there; never talk to anything else
        raise SystemExit(f"bench: {kubeconfig} points at {host}, not 127.0.0.1")
    cfg.connection_pool_maxsize = threads
    return k8s.ApiClient(cfg)


# ------------------------------------------------------------------------------------ population


@dataclass(frozen=True)
class Plan:
    """What to create: Service i lives in namespace i % namespaces and selects its own pods."""

    services: int
    pods: int
    namespaces: int

    @property
    def nodes(self) -> int:
        return max(1, math.ceil(self.pods / PODS_PER_NODE))

    def namespace(self, i: int) -> str:
        return f"{NAMESPACE_PREFIX}{i % self.namespaces:02d}"

    def pods_of(self, i: int) -> int:
        return self.pods // self.services + (i < self.pods % self.services)

    # A few Services of each kind the inspector treats differently, at fixed strides.
    @staticmethod
    def broken(i: int) -> bool:
        """Asks for a label its pods lack: an error, with near-miss pods to compute."""
        return i % 50 == 7

    @staticmethod
    def headless(i: int) -> bool:
        return i % 10 == 3

    @staticmethod
    def node_port(i: int) -> bool:
        return i % 20 == 5

    @staticmethod
    def has_not_ready_pod(i: int) -> bool:
        return i % 25 == 11

    def expected_endpoints(self) -> tuple[int, int]:
        """(endpoints, ready ones) the EndpointSlices must list: one per pod of a working Service."""
        total = ready = 0
        for i in range(self.services):
            if not self.broken(i):
                total += self.pods_of(i)
                ready += self.pods_of(i) - self.has_not_ready_pod(i)
        return total, ready


def node_manifest(n: int) -> dict[str, Any]:
    name = f"bench-node-{n:03d}"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake"},
            "labels": {BENCH_LABEL: "true", "type": "kwok", "kubernetes.io/hostname": name},
        },
    }


def pod_manifests(plan: Plan) -> Iterable[dict[str, Any]]:
    k = 0  # pods are dealt to nodes in turn, so a Service's pods spread over nodes
    for i in range(plan.services):
        for j in range(plan.pods_of(i)):
            annotations = NOT_READY if j == 0 and plan.has_not_ready_pod(i) else {}
            yield {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"app-{i:05d}-{j:03d}",
                    "namespace": plan.namespace(i),
                    "labels": {BENCH_LABEL: "true", "app": f"app-{i:05d}", "tier": "backend"},
                    "annotations": annotations,
                },
                "spec": {
                    "nodeName": f"bench-node-{k % plan.nodes:03d}",
                    "containers": [
                        {
                            "name": "app",
                            "image": "registry.invalid/app:1",  # kwok runs no container
                            "ports": [
                                {"name": "http", "containerPort": 8080},
                                {"name": "metrics", "containerPort": 9090},
                            ],
                        }
                    ],
                },
            }
            k += 1


def service_manifests(plan: Plan) -> Iterable[dict[str, Any]]:
    for i in range(plan.services):
        selector = {"app": f"app-{i:05d}", "tier": "backend"}
        if plan.broken(i):
            selector["track"] = "canary"
        spec: dict[str, Any] = {
            "selector": selector,
            "ports": [
                {"name": "http", "port": 80, "targetPort": "http" if i % 4 == 1 else 8080},
                {"name": "metrics", "port": 9090},
            ],
        }
        if plan.headless(i):
            spec["clusterIP"] = "None"
        elif plan.node_port(i):
            spec["type"] = "NodePort"
        yield {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": f"app-{i:05d}",
                "namespace": plan.namespace(i),
                "labels": {BENCH_LABEL: "true"},
            },
            "spec": spec,
        }


def read_all(response: Any) -> bytes:
    """The body of a raw (urllib3) response; its connection goes back to the pool only once read."""
    try:
        return bytes(response.read())
    finally:
        response.release_conn()


def list_json(call: Callable[..., Any], **query: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(read_all(call(_preload_content=False, **query)))["items"]
    return items


def create_all(method: Callable[..., Any], bodies: Iterable[dict[str, Any]], threads: int) -> int:
    """Creates every object with the client's create method over `threads` connections; objects
    that exist already (409) are left as they are."""

    def one(body: dict[str, Any]) -> None:
        meta = body["metadata"]
        scope = [meta["namespace"]] if "namespace" in meta else []
        delay = 0.25
        for _ in range(8):
            try:
                read_all(method(*scope, body, _preload_content=False))
                return
            except ApiException as exc:
                if exc.status == 409:
                    return
                if exc.status not in (429, 500, 503, 504):
                    raise
            time.sleep(delay)
            delay *= 2
        raise SystemExit(f"bench: the API server kept refusing {body['kind']} {meta['name']}")

    bodies = list(bodies)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, bodies))
    return len(bodies)


def in_bench_namespace(obj: dict[str, Any]) -> bool:
    return str(obj["metadata"].get("namespace", "")).startswith(NAMESPACE_PREFIX)


def wait_until(what: str, progress: Callable[[], tuple[bool, str]], timeout: float = 1800) -> None:
    """Polls `progress` (done?, a status line) every few seconds, printing the line now and then."""
    deadline = time.monotonic() + timeout
    last_print = 0.0
    while True:
        done, status = progress()
        if done:
            return
        if time.monotonic() - last_print > 30:
            say(f"    waiting for {what}: {status}")
            last_print = time.monotonic()
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what} ({status})")
        time.sleep(3)


class Stopwatch:
    """Prints each population step with its duration, then the total."""

    def __init__(self) -> None:
        self.start = self.last = time.monotonic()

    def step(self, text: str, rate_of: int = 0) -> None:
        now = time.monotonic()
        took = now - self.last
        rate = f"  ({rate_of / took:,.0f}/s)" if rate_of and took > 0 else ""
        say(f"  {text:<52} {took:7.1f} s{rate}")
        self.last = now

    def total(self) -> None:
        say(f"  {'total':<52} {time.monotonic() - self.start:7.1f} s")


def populate(plan: Plan, api: Any, threads: int) -> None:
    core, discovery = k8s.CoreV1Api(api), k8s.DiscoveryV1Api(api)
    watch = Stopwatch()

    create_all(core.create_node, (node_manifest(n) for n in range(plan.nodes)), threads)

    def nodes_progress() -> tuple[bool, str]:
        nodes = list_json(core.list_node, label_selector=f"{BENCH_LABEL}=true")
        ready = sum(
            1
            for n in nodes
            if n["spec"].get("podCIDR")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
        )
        return ready >= plan.nodes, f"{ready}/{plan.nodes}"

    # kwok takes pod IPs from the node's podCIDR once it has one; before, from the whole cluster CIDR
    wait_until("kwok nodes Ready with a pod CIDR", nodes_progress)
    watch.step(f"{plan.nodes} kwok nodes Ready, each with a pod CIDR")

    namespaces = sorted({plan.namespace(i) for i in range(plan.services)})
    create_all(
        core.create_namespace,
        (
            {"kind": "Namespace", "metadata": {"name": ns, "labels": {BENCH_LABEL: "true"}}}
            for ns in namespaces
        ),
        threads,
    )
    created = create_all(core.create_namespaced_pod, pod_manifests(plan), threads)
    watch.step(f"{created:,} pods created ({threads} threads)", rate_of=created)

    def pods_progress() -> tuple[bool, str]:
        pending = list_json(
            core.list_pod_for_all_namespaces,
            label_selector=f"{BENCH_LABEL}=true",
            field_selector="status.phase!=Running",
        )
        return not pending, f"{len(pending):,} pods not Running yet"

    wait_until("pods Running", pods_progress)
    watch.step("pods Running with IPs (kwok)")

    created = create_all(core.create_namespaced_service, service_manifests(plan), threads)
    watch.step(f"{created:,} Services created", rate_of=created)

    want_total, want_ready = plan.expected_endpoints()

    def slices_progress() -> tuple[bool, str]:
        slices = [
            s for s in list_json(discovery.list_endpoint_slice_for_all_namespaces) if in_bench_namespace(s)
        ]
        endpoints = [e for s in slices for e in s.get("endpoints") or []]
        ready = sum(1 for e in endpoints if (e.get("conditions") or {}).get("ready"))
        services = len({s["metadata"]["labels"].get("kubernetes.io/service-name") for s in slices})
        done = services == plan.services and len(endpoints) == want_total and ready == want_ready
        return done, (
            f"{services:,}/{plan.services:,} Services with slices, "
            f"{len(endpoints):,}/{want_total:,} endpoints, {ready:,}/{want_ready:,} ready"
        )

    wait_until("EndpointSlices", slices_progress)
    watch.step("EndpointSlices complete (endpointslice controller)")

    # the deprecated Endpoints controller works beside it; let it finish before measuring anything
    def endpoints_progress() -> tuple[bool, str]:
        count = sum(1 for e in list_json(core.list_endpoints_for_all_namespaces) if in_bench_namespace(e))
        return count >= plan.services, f"{count:,}/{plan.services:,}"

    wait_until("v1 Endpoints", endpoints_progress)
    watch.step("v1 Endpoints complete (endpoints controller)")
    watch.total()


def already_populated(plan: Plan, api: Any) -> bool:
    """A cluster kept with --keep and filled for this same plan is reused as it is."""
    core = k8s.CoreV1Api(api)
    pods = list_json(core.list_pod_for_all_namespaces, label_selector=f"{BENCH_LABEL}=true")
    services = list_json(core.list_service_for_all_namespaces, label_selector=f"{BENCH_LABEL}=true")
    return len(pods) == plan.pods and len(services) == plan.services


# ------------------------------------------------------------------------------------ measuring


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float


TIME = "/usr/bin/time"  # GNU time: the command is forked by this small process, not by the bench


def measure(cmd: list[str], env: dict[str, str]) -> Run:
    """One run of `cmd` with stdout to /dev/null: its wall time, CPU time and its own peak RSS.

    The command is started by /usr/bin/time, a small C process, never forked from this one: a child
    forked from the bench inherits the bench's high-water mark through exec (Linux keeps the larger
    of the two in ru_maxrss), so a /bin/true child of a 500 MB bench reports 500 MB."""
    with tempfile.NamedTemporaryFile("r") as usage, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.run(
            [TIME, "-f", "%U %S %M", "-o", usage.name, *cmd],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            check=False,
        )
        wall = time.perf_counter() - start
        if proc.returncode:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip()[-2000:]
            raise SystemExit(f"bench: {' '.join(cmd)} exited {proc.returncode}:\n{tail}")
        user, system, max_kib = usage.read().split()[-3:]
    return Run(wall, float(user) + float(system), int(max_kib) / 1024)


def check_fresh_launcher() -> None:
    """Shows that a measured command does not inherit the bench's high-water mark: /bin/true, started
    the way every command is, beside the bench's own peak."""
    ballast = bytearray(300 * 2**20)  # the bench at its largest holds a snapshot; make sure it is big
    ballast[::4096] = b"x" * len(ballast[::4096])
    child = measure(["/bin/true"], dict(os.environ))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del ballast
    say(
        f"  peak RSS of /bin/true measured as every command is: {child.peak_rss_mb:.1f} MB (the bench: {own:.0f} MB)"
    )
    if child.peak_rss_mb > 50:
        raise SystemExit("bench: the measured command inherited the bench's memory; figures would be wrong")


def high_water_mb() -> float:
    """This process's own peak RSS (VmHWM of its memory map, which exec starts afresh; ru_maxrss would
    carry the spawning bench's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def phases(kubeconfig: str) -> dict[str, Any]:
    """The inspector's pipeline as `diff -A -o json` runs it, phase by phase (in a fresh process)."""
    gc.disable()  # as the CLI does while a command runs
    requests: Counter[str] = Counter()
    out: dict[str, Any] = {"rss_start": rss_mb()}
    t0 = time.perf_counter()
    cluster = connect(kubeconfig)
    cluster.on_request = lambda path: requests.update([path])
    t1 = time.perf_counter()
    snapshot = read_snapshot(cluster, None)
    t2 = time.perf_counter()
    out["rss_fetched"] = rss_mb()
    report = inspect_snapshot(snapshot)
    t3 = time.perf_counter()
    out["rss_inspected"] = rss_mb()
    written: list[int] = []  # rendered as the CLI writes it, piece by piece; only the size kept
    write_json(report_json(report, lazy=True), lambda piece: written.append(len(piece.encode())))
    t4 = time.perf_counter()
    out["rss_rendered"] = rss_mb()
    out |= {
        "connect": t1 - t0,
        "fetch": t2 - t1,
        "inspect": t3 - t2,
        "render": t4 - t3,
        "peak_rss": high_water_mb(),
        "json_mb": sum(written) / 2**20,
        "requests": dict(requests),
        "objects": {
            "services": len(snapshot.services),
            "endpointslices": len(snapshot.slices),
            "pods": len(snapshot.pods),
            "nodes": len(snapshot.nodes),
            **Counter(f"{w.kind.lower()}s" for w in snapshot.workloads),
        },
        "summary": summary_json(report),
        "pod_ips": (len({p.ip for p in snapshot.pods if p.ip}), sum(1 for p in snapshot.pods if p.ip)),
    }
    return out


def timed_inspect(snapshot: Snapshot, repeat: int) -> dict[str, Any]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        inspect_snapshot(snapshot)
        times.append(time.perf_counter() - start)
    return {
        "namespaces": len({s.namespace for s in snapshot.services}),
        "services": len(snapshot.services),
        "slices": len(snapshot.slices),
        "pods": len(snapshot.pods),
        "min": min(times),
    }


def linearity(kubeconfig: str, fractions: tuple[float, ...], folds: tuple[int, ...], repeat: int) -> Any:
    """inspect_snapshot on the bench namespaces' objects: (1) on the first fraction of the namespaces
    (size grows, density stays); (2) on all of them folded into fewer namespaces (size stays, pods
    and Services per namespace grow): work per namespace that is Services x pods shows there."""
    full = read_snapshot(connect(kubeconfig), None)
    namespaces = sorted({s.namespace for s in full.services if s.namespace.startswith(NAMESPACE_PREFIX)})

    def bench_only(keep: set[str]) -> Snapshot:
        return replace(
            full,
            services=tuple(s for s in full.services if s.namespace in keep),
            slices=tuple(s for s in full.slices if s.namespace in keep),
            pods=tuple(p for p in full.pods if p.namespace in keep),
            workloads=(),
        )

    by_share = [
        {
            "fraction": f,
            **timed_inspect(bench_only(set(namespaces[: max(1, round(len(namespaces) * f))])), repeat),
        }
        for f in fractions
    ]
    everything = bench_only(set(namespaces))
    by_density = []
    for into in folds:
        # object names are unique across the bench namespaces, so folding them keeps every selector apart
        rename = {ns: f"{NAMESPACE_PREFIX}fold-{i % into:02d}" for i, ns in enumerate(namespaces)}
        folded = replace(
            everything,
            services=tuple(replace(s, namespace=rename[s.namespace]) for s in everything.services),
            slices=tuple(replace(s, namespace=rename[s.namespace]) for s in everything.slices),
            pods=tuple(replace(p, namespace=rename[p.namespace]) for p in everything.pods),
        )
        by_density.append(timed_inspect(folded, repeat))
    return by_share, by_density


def dns_oracle(kubeconfig: str, server: str, repeat: int) -> dict[str, Any]:
    """The oracle over every Service of the cluster, and the floor: the same names asked by a bare
    dnspython loop at the same concurrency (in a fresh process)."""
    import asyncio

    import dns.asyncquery
    import dns.message

    from inspector.dns import querying
    from inspector.live.asking import DNSOptions, inspect_dns
    from inspector.model.findings import Severity

    cluster = connect(kubeconfig)
    report = inspect_snapshot(read_snapshot(cluster, None))
    options = DNSOptions.from_cli(server, None)
    oracle_runs, floor_runs = [], []
    questions: list[tuple[str, str]] = []
    errors = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        found = inspect_dns(cluster, report, options)
        oracle_runs.append(time.perf_counter() - t0)
        questions = list(dict.fromkeys((c.record.qname, c.record.qtype) for c in found.checks))
        errors = sum(1 for c in found.checks for f in c.findings if f.severity is Severity.ERROR)
    host, _, port = server.rpartition(":")

    async def floor() -> None:
        bound = asyncio.Semaphore(querying.CONCURRENCY)

        async def one(qname: str, qtype: str) -> None:
            async with bound:
                await dns.asyncquery.udp_with_fallback(
                    dns.message.make_query(qname, qtype), host, timeout=options.timeout, port=int(port)
                )

        await asyncio.gather(*(one(q, t) for q, t in questions))

    for _ in range(repeat):
        t0 = time.perf_counter()
        asyncio.run(floor())
        floor_runs.append(time.perf_counter() - t0)
    return {
        "names": len(questions),
        "by_type": dict(Counter(t for _, t in questions)),
        "oracle": oracle_runs,
        "floor": floor_runs,
        "errors": errors,
        "concurrency": querying.CONCURRENCY,
    }


def print_dns(r: dict[str, Any]) -> None:
    names = r["names"]
    oracle, floor = statistics.median(r["oracle"]), statistics.median(r["floor"])
    types = ", ".join(f"{t} {n:,}" for t, n in sorted(r["by_type"].items()))
    say(f"\nDNS oracle ({names:,} names: {types}; {r['concurrency']} queries in flight)")
    say(
        f"  oracle (inspect_dns)  min {min(r['oracle']):.2f} s  median {oracle:.2f} s  {names / oracle:,.0f} names/s"
    )
    say(
        f"  floor (bare dnspython) min {min(r['floor']):.2f} s  median {floor:.2f} s  {names / floor:,.0f} names/s"
    )
    say(
        f"  oracle / floor: {oracle / floor:.2f}x the time ({r['errors']} error finding(s) among the records)"
    )


def in_fresh_process(fn: Callable[..., Any], *args: Any) -> Any:
    """Runs fn in a newly spawned interpreter, so its memory and timings start clean."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def ensure_empty_namespace(api: Any) -> None:
    create_all(
        k8s.CoreV1Api(api).create_namespace,
        [{"kind": "Namespace", "metadata": {"name": EMPTY_NAMESPACE, "labels": {BENCH_LABEL: "true"}}}],
        1,
    )


def popeye_binary() -> Path | None:
    """popeye, built once from its Go module and cached: `go install ...@v0.22.1` fails (the module
    proxy refuses that version's listing), `go mod download` of the exact version then `go build`
    in its folder works."""
    binary = TOOLS / f"popeye-{POPEYE_VERSION}" / "popeye"
    if binary.is_file():
        return binary
    say(f"  building popeye {POPEYE_VERSION} from its Go module (once; cached in {binary.parent})")
    try:
        info = subprocess.run(
            ["go", "mod", "download", "-json", f"{POPEYE_MODULE}@{POPEYE_VERSION}"],
            capture_output=True,
            text=True,
            check=True,
            cwd=tempfile.gettempdir(),
        )
        folder = json.loads(info.stdout)["Dir"]
        binary.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["go", "build", "-o", str(binary), "."],
            capture_output=True,
            text=True,
            check=True,
            cwd=folder,
            env={**os.environ, "GOFLAGS": "-mod=mod"},
        )
    except (OSError, subprocess.CalledProcessError, KeyError, ValueError) as exc:
        say(f"  popeye could not be built: {str(getattr(exc, 'stderr', '') or exc).strip()[-300:]}")
        return None
    return binary


def wait_reaction(
    api: Any, env: dict[str, str], exe: str, kubeconfig: str, namespace: str, repeat: int
) -> list[float]:
    """`wait` on a new Service of a full namespace: from the EndpointSlice update that completes it
    (as a watch of this process sees it) to `wait` having returned. `wait -vv` logs its requests, so
    the pod is created only once its watches are open."""
    from kubernetes import watch as k8s_watch

    core, discovery = k8s.CoreV1Api(api), k8s.DiscoveryV1Api(api)
    reactions = []
    for run in range(repeat):
        name = f"wait-probe-{run}-{os.getpid()}"
        labels = {BENCH_LABEL: "true", "app": name}
        core.create_namespaced_service(
            namespace,
            {
                "metadata": {"name": name, "labels": {BENCH_LABEL: "true"}},
                "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
            },
        )
        completed: list[float] = []
        stopper = k8s_watch.Watch()

        def follow_slices(
            stopper: Any = stopper, name: str = name, completed: list[float] = completed
        ) -> None:
            for event in stopper.stream(
                discovery.list_namespaced_endpoint_slice,
                namespace,
                label_selector=f"kubernetes.io/service-name={name}",
                timeout_seconds=120,
            ):
                endpoints = event["object"].endpoints or []
                if any(e.conditions and e.conditions.ready for e in endpoints):
                    completed.append(time.perf_counter())
                    return

        watcher = threading.Thread(target=follow_slices, daemon=True)
        watcher.start()
        proc = subprocess.Popen(
            [exe, "wait", name, "-n", namespace, "--timeout", "120s", "-vv", f"--kubeconfig={kubeconfig}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stderr is not None
        watches = 0
        for line in proc.stderr:
            watches += "watch=true" in line
            if watches >= 3:  # services, endpointslices and pods are followed
                break
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
        core.create_namespaced_pod(
            namespace,
            {
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    "nodeName": "bench-node-000",
                    "containers": [
                        {"name": "app", "image": "registry.invalid/app:1", "ports": [{"containerPort": 8080}]}
                    ],
                },
            },
        )
        proc.wait(timeout=150)
        returned = time.perf_counter()
        watcher.join(timeout=30)
        stopper.stop()
        if proc.returncode == 0 and completed:
            reactions.append(returned - completed[0])
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
        core.delete_namespaced_service(name, namespace)
    return reactions


def print_wait(reactions: list[float], plan: Plan) -> None:
    here = plan.pods // plan.namespaces
    say(
        f"\n`wait` on a new Service in {plan.namespace(0)} ({here:,} pods there, {plan.pods:,} in the cluster)"
    )
    if not reactions:
        say("  no run completed")
        return
    say(
        "  from the EndpointSlice update that completes it to `wait` returning: "
        + ", ".join(f"{r * 1000:.0f} ms" for r in reactions)
        + f" (median {statistics.median(reactions) * 1000:.0f} ms)"
    )


def density_ratio(by_density: list[dict[str, Any]]) -> float:
    def us(r: dict[str, Any]) -> float:
        return float(r["min"]) / (r["services"] + r["slices"] + r["pods"])

    return us(by_density[-1]) / us(by_density[0])


# ------------------------------------------------------------------------------------ reporting


def fmt_runs(runs: list[float], unit: str, digits: int = 2) -> str:
    return f"{min(runs):8.{digits}f} {unit} {statistics.median(runs):8.{digits}f} {unit}"


@dataclass(frozen=True, eq=False)  # each command its own row, keyed by identity
class Contender:
    label: str
    cmd: list[str]
    role: str = ""  # "reference": diff -A, the row every ratio divides by


def print_end_to_end(runs: dict[Contender, list[Run]], repeat: int) -> dict[str, float]:
    """The table of the issue: every command's medians and its ratio to `diff -A`. Returns the
    medians of wall time by role, for the targets."""
    say(
        f"\nEnd to end: {repeat} runs each, interleaved, after one warm-up run each; stdout to /dev/null; "
        "each command started by /usr/bin/time (its own peak RSS, nothing inherited)"
    )
    say(f"  {'command':<66} {'wall':>8} {'CPU':>8} {'peak RSS':>9} {'vs diff -A':>11}")
    reference = next(c for c in runs if c.role == "reference")
    base = statistics.median(r.wall_s for r in runs[reference])
    out = {}
    for contender, got in runs.items():
        wall = statistics.median(r.wall_s for r in got)
        cpu = statistics.median(r.cpu_s for r in got)
        rss = statistics.median(r.peak_rss_mb for r in got)
        out[contender.role or contender.label] = wall
        out[f"{contender.role}-rss"] = rss
        say(f"  {contender.label:<66} {wall:6.2f} s {cpu:6.2f} s {rss:6.0f} MB {wall / base:10.2f}x")
    return out


def print_targets(walls: dict[str, float], density: float, reaction: list[float]) -> None:
    diff, rss = walls["reference"], walls["reference-rss"]
    rows = [
        ("`diff -A` <= 1.5x the transfer floor", diff / walls["transfer"], 1.5, "x"),
        ("`diff -A` <= 0.25x kubectl list-only", diff / walls["kubectl"], 0.25, "x"),
        ("peak RSS of `diff -A` <= 150 MB", rss, 150, " MB"),
        ("density: µs/object, 1 namespace against 20 <= 1.3x", density, 1.3, "x"),
    ]
    if reaction:
        rows.append(
            (
                "`wait` reacts within 200 ms of the completing update",
                statistics.median(reaction) * 1000,
                200,
                " ms",
            )
        )
    say("\nTargets (issue 15)")
    for label, value, bound, unit in rows:
        verdict = "met" if value <= bound else f"MISSED by {value / bound:.2f}x"
        say(f"  {label:<58} {value:8.2f}{unit:<3} {verdict}")


def print_phases(results: list[dict[str, Any]], cli_median: float, broken: int) -> None:
    say(f"\nInspector phases in-process ({len(results)} runs, each in a fresh process)")
    say(f"  {'phase':<46} {'min':>10} {'median':>10} {'RSS after (median)':>20}")
    rows = (
        ("connect (kubeconfig, client)", "connect", None),
        ("fetching (read_snapshot(client, None))", "fetch", "rss_fetched"),
        ("inspecting (inspect_snapshot)", "inspect", "rss_inspected"),
        ("rendering (report_json + write_json)", "render", "rss_rendered"),
    )
    for label, key, rss_key in rows:
        times = [r[key] for r in results]
        rss = f"{statistics.median(r[rss_key] for r in results):17.0f} MB" if rss_key else ""
        say(f"  {label:<46} {fmt_runs(times, 's')} {rss:>20}")
    total = statistics.median(r["connect"] + r["fetch"] + r["inspect"] + r["render"] for r in results)
    say(f"  {'sum of the phases (median)':<46} {'':>10} {total:8.2f} s")
    say(
        f"  the CLI's median wall time beyond the phases (interpreter, imports, writing): "
        f"{cli_median - total:.2f} s"
    )
    say(
        f"  peak RSS {statistics.median(r['peak_rss'] for r in results):.0f} MB (median; the interpreter "
        f"and imports alone: {statistics.median(r['rss_start'] for r in results):.0f} MB); "
        f"report JSON {results[0]['json_mb']:.1f} MB"
    )
    first = results[0]
    say(f"\n  Requests of one fetch, per path (PAGE_SIZE = {PAGE_SIZE})")
    say(f"  {'path':<46} {'objects':>9} {'requests':>9} {'pages needed':>13}")
    for path, count in sorted(first["requests"].items()):
        plural = path.rsplit("/", 1)[-1]
        objects = first["objects"].get(plural, 0)
        needed = max(1, math.ceil(objects / PAGE_SIZE))
        say(f"  {path:<46} {objects:>9,} {count:>9} {needed:>13}")
    say(f"  {'total':<46} {'':>9} {sum(first['requests'].values()):>9}")
    if first["requests"].get("/api/v1/services", 0) > math.ceil(first["objects"]["services"] / PAGE_SIZE):
        say("  (the one more for services: with -A, fetching first asks for one Service to learn whether")
        say("  it may list across namespaces; a 403 makes it read namespace by namespace)")
    distinct, with_ip = first["pod_ips"]
    s = first["summary"]
    say(
        f"  report: {s['services']:,} Services, {s['errors']} error(s), {s['warnings']} warning(s), "
        f"{s['infos']} info(s) (the plan has {broken} Services selecting no pod); "
        f"pods with an IP {with_ip:,}, distinct pod IPs {distinct:,}"
    )


def print_linearity(by_share: list[dict[str, Any]], by_density: list[dict[str, Any]]) -> None:
    def objects(r: dict[str, Any]) -> int:
        return int(r["services"] + r["slices"] + r["pods"])

    header = (
        f"{'namespaces':>11} {'services':>9} {'slices':>8} {'pods':>8} {'objects':>9} "
        f"{'time':>9} {'us/object':>10} {'ratio':>8}"
    )

    def row(r: dict[str, Any], base: dict[str, Any]) -> str:
        us, base_us = (x["min"] / objects(x) * 1e6 for x in (r, base))
        return (
            f"{r['namespaces']:>11} {r['services']:>9,} {r['slices']:>8,} {r['pods']:>8,} {objects(r):>9,} "
            f"{r['min']:>7.3f} s {us:>10.1f} {us / base_us:>7.2f}x"
        )

    say(
        f"\nLinearity of inspect_snapshot (min of {LINEARITY_REPEAT} runs; ratio: time per object against "
        "the 100% row)"
    )
    say(f"  {'share':>6} {header}")
    for r in by_share:
        say(f"  {r['fraction']:>6.0%} {row(r, by_share[-1])}")
    say("  and in density: all of them folded into fewer namespaces (ratio: against the unfolded row)")
    say(f"  {'pods/ns':>7} {header}")
    for r in by_density:
        say(f"  {r['pods'] // r['namespaces']:>7,} {row(r, by_density[0])}")


# ------------------------------------------------------------------------------------ main


def parse_args(argv: list[str]) -> tuple[Plan, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick run: 200 Services, 2,000 pods")
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="default",
        help="large: 10,000 Services, 100,000 pods (500 kwok nodes)",
    )
    parser.add_argument(
        "--with-popeye-full",
        action="store_true",
        help="also popeye's full scan (it peaked near 19 GB at 20,000 pods)",
    )
    parser.add_argument("--services", type=int, help="Services (default 2,000; --small 200)")
    parser.add_argument("--pods", type=int, help="pods, shared out among the Services (default 20,000)")
    parser.add_argument("--namespaces", type=int, help="namespaces (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (default 3)")
    parser.add_argument("--threads", type=int, default=8, help="connections creating objects (default 8)")
    parser.add_argument("--keep", action="store_true", help="leave the bench cluster up at the end")
    parser.add_argument("--dns-only", action="store_true", help="measure only the DNS oracle")
    args = parser.parse_args(argv)
    preset = PRESETS["small" if args.small else args.preset]
    plan = Plan(
        services=args.services or preset["services"],
        pods=args.pods or preset["pods"],
        namespaces=args.namespaces or preset["namespaces"],
    )
    if plan.pods < plan.services or plan.nodes > 1000:
        parser.error("need at least one pod per Service, and at most 200,000 pods (1,000 kwok nodes)")
    return plan, args


def main(argv: list[str]) -> int:
    plan, args = parse_args(argv)
    started = time.monotonic()
    say(
        f"kubectl svc-inspect benchmark: {plan.services:,} Services, {plan.pods:,} pods in "
        f"{plan.namespaces} namespaces on {plan.nodes} kwok nodes (cluster state in {STATE.name}/)"
    )
    try:
        localcluster("up")
        env = {**os.environ, **cluster_env()}
        kubeconfig = env["KUBECONFIG"]
        api = api_client(kubeconfig, args.threads)
        say(f"  bench cluster up in {time.monotonic() - started:.1f} s; API {api.configuration.host}")

        say("\nPopulation")
        if already_populated(plan, api):
            say("  reusing the objects of a kept bench cluster (--keep)")
        else:
            populate(plan, api, args.threads)

        if args.dns_only:
            print_dns(in_fresh_process(dns_oracle, kubeconfig, env["INSPECTOR_DNS_SERVER"], args.repeat))
            return 0
        check_fresh_launcher()
        exe = str(Path(sys.executable).parent / "kubectl-svc_inspect")
        kubectl = [env["LOCALCLUSTER_KUBECTL"], f"--kubeconfig={kubeconfig}"]
        floors = [sys.executable, str(ROOT / "bench" / "floors.py")]
        inspector = [exe, "-o", "json", "--exit-zero", f"--kubeconfig={kubeconfig}"]
        ensure_empty_namespace(api)
        contenders = [
            Contender(
                "raw paginated LIST of the 3 kinds, bodies dropped (transfer floor)",
                [*floors, "transfer", kubeconfig],
                "transfer",
            ),
            Contender(
                "the same plus json.loads of every page (decoding floor)",
                [*floors, "json", kubeconfig],
                "json",
            ),
            Contender(
                "kubectl svc-inspect diff -A -o json", [exe, "diff", *inspector[1:], "-A"], "reference"
            ),
            Contender(
                "kubectl get services,endpointslices,pods -A -o json",
                [*kubectl, "get", "services,endpointslices,pods", "-A", "-o", "json"],
                "kubectl",
            ),
        ]
        popeye = popeye_binary()
        if popeye:
            popeye_cmd = [str(popeye), f"--kubeconfig={kubeconfig}", "-A", "-o", "json", "--force-exit-zero"]
            contenders.append(
                Contender(
                    f"popeye -A -s svc -o json ({POPEYE_VERSION})", [*popeye_cmd, "-s", "svc"], "popeye"
                )
            )
            if args.with_popeye_full:
                contenders.append(Contender("popeye -A -o json (full scan)", popeye_cmd, "popeye-full"))
        else:
            say("  popeye left out: it could not be built (see above)")
        contenders += [
            Contender("kubectl svc-inspect dns -A -o json", [exe, "dns", *inspector[1:], "-A"], "dns"),
            Contender(
                f"kubectl svc-inspect diff -n {plan.namespace(0)} -o json (1/{plan.namespaces} of the objects)",
                [exe, "diff", *inspector[1:], "-n", plan.namespace(0)],
                "one-namespace",
            ),
            Contender(
                f"kubectl svc-inspect diff -n {EMPTY_NAMESPACE} -o json (fixed cost: an empty namespace)",
                [exe, "diff", *inspector[1:], "-n", EMPTY_NAMESPACE],
                "fixed",
            ),
            Contender(
                "kubectl svc-inspect --version (interpreter and CLI start-up)", [exe, "--version"], "startup"
            ),
        ]
        for c in contenders:  # warm-up: the API server's caches, the page cache
            measure(c.cmd, env)
        runs: dict[Contender, list[Run]] = {c: [] for c in contenders}
        phase_runs = []
        for _ in range(args.repeat):
            for c in contenders:
                runs[c].append(measure(c.cmd, env))
            phase_runs.append(in_fresh_process(phases, kubeconfig))
        walls = print_end_to_end(runs, args.repeat)
        print_phases(
            phase_runs,
            walls["reference"],
            broken=sum(plan.broken(i) for i in range(plan.services)),
        )
        folds = tuple(dict.fromkeys((plan.namespaces, max(1, plan.namespaces // 4), 1)))
        by_share, by_density = in_fresh_process(
            linearity, kubeconfig, (0.1, 0.5, 1.0), folds, LINEARITY_REPEAT
        )
        print_linearity(by_share, by_density)
        print_dns(in_fresh_process(dns_oracle, kubeconfig, env["INSPECTOR_DNS_SERVER"], args.repeat))
        reaction = wait_reaction(api, env, exe, kubeconfig, plan.namespace(0), args.repeat)
        print_wait(reaction, plan)
        print_targets(walls, density_ratio(by_density), reaction)
    finally:
        if args.keep:
            say(f"\nbench cluster left up (--keep): source {STATE / 'env'}")
        else:
            localcluster("down")
    say(f"\nbench finished in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
