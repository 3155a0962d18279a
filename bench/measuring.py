"""Measuring: every figure of the benchmark, taken on the populated bench cluster.

Why it exists: the figures must be the commands' own, not the bench's. Each command runs in a
process of its own started by /usr/bin/time (a child forked from the bench would inherit its peak
RSS); the inspector's phases, the linearity runs and the DNS oracle run in freshly spawned
interpreters, so their memory and timings start clean. Functions here return figures; reporting.py
prints them. They measure, they assert no timing.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import resource
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from populating import BENCH_LABEL, EMPTY_NAMESPACE, NAMESPACE_PREFIX
from reporting import say

from inspector.diagnosis.report import inspect_snapshot
from inspector.kube.connection import connect
from inspector.live.reading import read_snapshot
from inspector.model.snapshot import Snapshot
from inspector.output.documents import report_json, summary_json, write_json

LINEARITY_REPEAT = 5  # inspect_snapshot alone is quick: more runs cost little
POPEYE_VERSION = "v0.22.1"
POPEYE_MODULE = "github.com/derailed/popeye"
TOOLS = Path("~/.cache/kubectl-inspect/bin").expanduser()


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


def memory_at_share(kubeconfig: str, fraction: float) -> dict[str, Any]:
    """`diff -A -o json`'s pipeline (read, inspect, render) on the first `fraction` of the bench
    namespaces, in a fresh process: its peak RSS, to see how memory grows with the objects. Each
    namespace is listed on its own (one paginated LIST per kind) and read as `diff` reads it (the
    pages decoded straight into the snapshot's types), into one snapshot."""
    from inspector.kube.listing import list_objects
    from inspector.kube.resources import NAMESPACES, PODS, SERVICES
    from inspector.live.reading import _add_slices, _straight
    from inspector.model.building import SnapshotBuilder

    gc.disable()  # as the CLI does while a command runs
    cluster = connect(kubeconfig)
    names = sorted(
        n["metadata"]["name"]
        for n in list_objects(cluster, NAMESPACES)
        if n["metadata"]["name"].startswith(NAMESPACE_PREFIX) and n["metadata"]["name"] != EMPTY_NAMESPACE
    )
    chosen = names[: max(1, round(len(names) * fraction))]
    builder = SnapshotBuilder()
    for ns in chosen:
        builder.add_built(_straight(cluster, SERVICES, ns))
        _add_slices(cluster, ns, builder)
        builder.add_built(_straight(cluster, PODS, ns))
    snapshot = builder.build()
    report = inspect_snapshot(snapshot)
    write_json(report_json(report, lazy=True), lambda piece: None)
    return {
        "fraction": fraction,
        "namespaces": len(chosen),
        "pods": len(snapshot.pods),
        "objects": len(snapshot.services) + len(snapshot.slices) + len(snapshot.pods),
        "peak_rss": high_water_mb(),
    }


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
    dnspython loop at the same concurrency, with the oracle's timeout and retries (in a fresh
    process). A query that times out is counted, never raised: at 100,000 pods one lost UDP packet
    (an unhandled dns.exception.Timeout) ended the whole bench before `wait` and the targets."""
    import asyncio

    from inspector.dns import querying
    from inspector.live.asking import DNSOptions, inspect_dns
    from inspector.model.findings import Severity

    cluster = connect(kubeconfig)
    report = inspect_snapshot(read_snapshot(cluster, None))
    options = DNSOptions.from_cli(server, None)
    oracle_runs, floor_runs = [], []
    questions: list[tuple[str, str]] = []
    errors = 0
    oracle_unanswered: list[int] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        found = inspect_dns(cluster, report, options)
        oracle_runs.append(time.perf_counter() - t0)
        questions = list(dict.fromkeys((c.record.qname, c.record.qtype) for c in found.checks))
        errors = sum(1 for c in found.checks for f in c.findings if f.severity is Severity.ERROR)
        oracle_unanswered.append(sum(1 for c in found.checks if c.failure is not None))
    host, _, port = server.rpartition(":")
    tries = options.retries + 1

    floor_losses = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        floor_losses.append(
            asyncio.run(floor_pass(questions, host, int(port), options.timeout, tries, querying.CONCURRENCY))
        )
        floor_runs.append(time.perf_counter() - t0)
    return {
        "names": len(questions),
        "by_type": dict(Counter(t for _, t in questions)),
        "oracle": oracle_runs,
        "floor": floor_runs,
        "errors": errors,
        "concurrency": querying.CONCURRENCY,
        "tries": tries,
        "timeout": options.timeout,
        "oracle_unanswered": oracle_unanswered,
        "floor_timeouts": [t for t, _, _ in floor_losses],
        "floor_unanswered": [u for _, u, _ in floor_losses],
        "floor_failed": [f for _, _, f in floor_losses],
    }


async def floor_pass(
    questions: list[tuple[str, str]], host: str, port: int, timeout: float, tries: int, concurrency: int
) -> tuple[int, int, int]:
    """The DNS floor, one pass: every name asked by a bare dnspython loop, `concurrency` in flight,
    each up to `tries` times. Returns (timed-out tries, names left without an answer, names whose
    query failed otherwise): a lost packet is counted, never raised."""
    import asyncio

    import dns.asyncquery
    import dns.exception
    import dns.message

    bound = asyncio.Semaphore(concurrency)
    timeouts = unanswered = failed = 0

    async def one(qname: str, qtype: str) -> None:
        nonlocal timeouts, unanswered, failed
        async with bound:
            for _ in range(tries):
                try:
                    await dns.asyncquery.udp_with_fallback(
                        dns.message.make_query(qname, qtype), host, timeout=timeout, port=port
                    )
                    return
                except dns.exception.Timeout:
                    timeouts += 1
                except (OSError, EOFError, dns.exception.DNSException):
                    failed += 1
                    return
            unanswered += 1

    await asyncio.gather(*(one(q, t) for q, t in questions))
    return timeouts, unanswered, failed


def memory_profile(kubeconfig: str, top: int = 10) -> dict[str, Any]:
    """Where `diff -A`'s memory is, for a target it misses: the pipeline (read, inspect) under
    tracemalloc in a fresh process, the live allocations once the report is built grouped by the
    line that made them, and the live objects counted by type. tracemalloc slows the run and adds
    its own bookkeeping: the sizes are Python's allocations, not the RSS."""
    import sys
    import tracemalloc

    gc.disable()
    tracemalloc.start(1)
    snapshot = read_snapshot(connect(kubeconfig), None)
    after_read = tracemalloc.get_traced_memory()[0]
    report = inspect_snapshot(snapshot)
    types = Counter(type(o).__name__ for o in gc.get_objects())  # before the snapshot's own tuples
    traced = tracemalloc.take_snapshot().filter_traces((tracemalloc.Filter(False, tracemalloc.__file__),))
    after_inspect = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    root = str(Path(__file__).resolve().parent.parent) + "/"
    sites = [
        {
            "site": str(st.traceback[0]).replace(root, "").replace(sys.prefix + "/", ""),
            "mb": st.size / 2**20,
            "blocks": st.count,
        }
        for st in traced.statistics("lineno")[:top]
    ]
    return {
        "read_mb": after_read / 2**20,
        "inspected_mb": after_inspect / 2**20,
        "sites": sites,
        "types": types.most_common(top),
        "objects": len(snapshot.services) + len(snapshot.slices) + len(snapshot.pods),
        "services": len(report.services),
        "peak_rss": high_water_mb(),
    }


def import_profile(cmd: list[str], env: dict[str, str], runs: int = 5, top: int = 12) -> dict[str, Any]:
    """Where the fixed cost is: the command run with `-X importtime` (PYTHONPROFILEIMPORTTIME) `runs`
    times; each module's own import time, the least of the runs, summed by top-level package."""
    best: dict[str, int] = {}
    for _ in range(runs):
        done = subprocess.run(
            cmd, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True, text=True, check=False
        )
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
            best[name] = min(best.get(name, 1 << 62), int(self_us))
    by_package: Counter[str] = Counter()
    for name, us in best.items():
        by_package[name.split(".")[0]] += us
    return {
        "modules": len(best),
        "total_ms": sum(best.values()) / 1000,
        "packages": [(pkg, us / 1000) for pkg, us in by_package.most_common(top)],
        "modules_top": [(name, us / 1000) for name, us in Counter(best).most_common(top)],
    }


def in_fresh_process(fn: Callable[..., Any], *args: Any) -> Any:
    """Runs fn in a newly spawned interpreter, so its memory and timings start clean."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


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


def density_ratio(by_density: list[dict[str, Any]]) -> float:
    def us(r: dict[str, Any]) -> float:
        return float(r["min"]) / (r["services"] + r["slices"] + r["pods"])

    return us(by_density[-1]) / us(by_density[0])
