"""Population: filling the bench cluster with the plan's nodes, namespaces, pods and Services.

Why it exists: every figure of the benchmark is read on a cluster in a known state, so filling it is
one job, apart from measuring it (measuring.py) and printing the figures (reporting.py). The plan
says what to create and how it is named; the other two jobs find the objects by those names.

How the cluster is filled: bare pods with `nodeName` set, created by this module with several API
clients side by side (processes, a few connections each: `--clients`, `--threads`), then Services
selecting them (2,000 and 20,000 of them: 28 and 114 pods/s here with 1 and 4 clients; then kwok
marking them Running, ~90/s, bounds the fill). Deployments would be the natural choice, but the
kube-controller-manager's client was limited to 20 requests/s (--kube-api-qps; 200 in the
kwok-only cluster now, for the EndpointSlices of 10,000 Services), so its ReplicaSet controller
created about 16 pods/s here: 20 minutes for 20,000 pods. Pods come first so each
Service's EndpointSlice is written once, complete. There are 200 pods per kwok node at most: the
controller-manager gives each node a /24 and kwok hands out pod IPs from it, wrapping into the next
node's range (duplicate IPs) past 255.

A smaller plan with as many Services per namespace and pods per Service is a prefix of a larger one
(the same namespaces, Services, pods and nodes, by name): Services fill namespaces in order, pods
fill nodes in blocks of NODE_BLOCK nodes. So `make bench` measures at 20,000 pods, then fills the same
cluster on to 100,000 (the objects already there are not created again) and measures again.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from reporting import say

BENCH_LABEL = "bench.inspector.test/object"  # on every object the bench creates
NAMESPACE_PREFIX = "bench-"
PODS_PER_NODE = 200  # a node's /24 holds 254 pod IPs; kwok reuses none of them
NODE_BLOCK = 10  # consecutive pods are dealt in turn over a block of nodes: a Service's spread out
NOT_READY = {"kwok.inspector.test/ready": "false"}  # cluster/kwok-stages.yaml: Running, never Ready

PRESETS = {
    "default": {"services": 2000, "pods": 20000, "namespaces": 20},
    "small": {"services": 200, "pods": 2000, "namespaces": 20},
    # toward the Kubernetes scalability envelope (150,000 pods): 1,000 kwok nodes of 100 pods
    "large": {"services": 10000, "pods": 100000, "namespaces": 100},
}
EMPTY_NAMESPACE = "bench-empty"  # no object of the plan: what any command costs before any object


@dataclass(frozen=True)
class Plan:
    """What to create: Services fill the namespaces in order (Service i lives in namespace
    i // per_namespace), each selecting its own pods; pod k (counted over the Services in order)
    runs on a node of block k // (NODE_BLOCK * PODS_PER_NODE), dealt in turn within it."""

    services: int
    pods: int
    namespaces: int

    @property
    def nodes(self) -> int:
        return max(1, math.ceil(self.pods / PODS_PER_NODE))

    @property
    def per_namespace(self) -> int:
        return math.ceil(self.services / self.namespaces)

    def namespace(self, i: int) -> str:
        return f"{NAMESPACE_PREFIX}{i // self.per_namespace:02d}"

    def node_of(self, k: int) -> str:
        block = k // (NODE_BLOCK * PODS_PER_NODE)
        width = min(NODE_BLOCK, self.nodes - block * NODE_BLOCK)  # the last block may be narrower
        return f"bench-node-{block * NODE_BLOCK + k % width:03d}"

    def prefix_of(self, larger: Plan) -> bool:
        """Whether this plan's objects are the first ones of `larger`, by name and content."""
        return (
            self.per_namespace == larger.per_namespace
            and self.pods * larger.services == larger.pods * self.services
            and self.pods % self.services == 0
            and self.services <= larger.services
            and self.pods % (NODE_BLOCK * PODS_PER_NODE) == 0
        )

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
    k = 0
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
                    "nodeName": plan.node_of(k),
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


def api_client(kubeconfig: str, threads: int) -> Any:
    """The client library's ApiClient for the bench cluster, `threads` connections in its pool."""
    cfg = k8s.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg, persist_config=False)
    host = urlsplit(cfg.host).hostname
    if host != "127.0.0.1":  # the bench cluster listens there; never talk to anything else
        raise SystemExit(f"bench: {kubeconfig} points at {host}, not 127.0.0.1")
    cfg.connection_pool_maxsize = threads
    return k8s.ApiClient(cfg)


@dataclass(frozen=True)
class Fill:
    """How the cluster is filled: API clients side by side (processes), connections of each."""

    clients: int = 4
    threads: int = 8


CREATE = {  # kind -> the CoreV1Api method that creates it
    "Node": "create_node",
    "Namespace": "create_namespace",
    "Pod": "create_namespaced_pod",
    "Service": "create_namespaced_service",
}


def create_some(kubeconfig: str, bodies: list[dict[str, Any]], threads: int) -> int:
    """Creates every object over `threads` connections of one API client (one process); objects
    that exist already (409) are left as they are."""
    core = k8s.CoreV1Api(api_client(kubeconfig, threads))

    def one(body: dict[str, Any]) -> None:
        meta = body["metadata"]
        method = getattr(core, CREATE[body["kind"]])
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

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, bodies))
    return len(bodies)


def create_all(kubeconfig: str, bodies: Iterable[dict[str, Any]], fill: Fill) -> int:
    """Creates every object with `fill.clients` API clients side by side, each in a process of its
    own (the client library serialises under one interpreter lock: one process of 8 threads created
    about 30 pods/s here), each over `fill.threads` connections."""
    work = list(bodies)
    if fill.clients <= 1 or len(work) < 100:
        return create_some(kubeconfig, work, fill.threads)
    shares = [work[i :: fill.clients] for i in range(fill.clients)]
    with ProcessPoolExecutor(fill.clients, mp_context=multiprocessing.get_context("spawn")) as pool:
        return sum(pool.map(create_some, [kubeconfig] * fill.clients, shares, [fill.threads] * fill.clients))


def in_bench_namespace(obj: dict[str, Any]) -> bool:
    return str(obj["metadata"].get("namespace", "")).startswith(NAMESPACE_PREFIX)


def wait_until(
    what: str, progress: Callable[[], tuple[bool, str]], timeout: float = 1800, every: float = 3
) -> None:
    """Polls `progress` (done?, a status line) every `every` seconds, printing the line now and then."""
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
        time.sleep(every)


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


def populate(plan: Plan, api: Any, kubeconfig: str, fill: Fill) -> None:
    core, discovery = k8s.CoreV1Api(api), k8s.DiscoveryV1Api(api)
    watch = Stopwatch()

    # a kept cluster (filled part-way, or for a smaller plan that is a prefix of this one) is
    # filled on: only the objects it lacks are created
    def names(call: Callable[..., Any]) -> set[str]:
        return {o["metadata"]["name"] for o in list_json(call, label_selector=f"{BENCH_LABEL}=true")}

    have = names(core.list_node)
    create_all(
        kubeconfig,
        (m for n in range(plan.nodes) if (m := node_manifest(n))["metadata"]["name"] not in have),
        fill,
    )

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
        kubeconfig,
        (
            {"kind": "Namespace", "metadata": {"name": ns, "labels": {BENCH_LABEL: "true"}}}
            for ns in namespaces
        ),
        fill,
    )
    have = names(core.list_pod_for_all_namespaces)
    if len(have) < plan.pods:
        created = create_all(
            kubeconfig, (m for m in pod_manifests(plan) if m["metadata"]["name"] not in have), fill
        )
        watch.step(
            f"{created:,} pods created ({fill.clients} clients x {fill.threads} threads)", rate_of=created
        )

    def pods_progress() -> tuple[bool, str]:
        pending = list_json(
            core.list_pod_for_all_namespaces,
            label_selector=f"{BENCH_LABEL}=true",
            field_selector="status.phase!=Running",
        )
        return not pending, f"{len(pending):,} pods not Running yet"

    # kwok marks 30-100 pods a second Running here, depending on the load: the waits follow the
    # plan's size, and their polls (a list of every pod not Running yet, of every slice) are spaced
    # out to leave the API server to kwok and the controllers
    timeout, every = max(1800, plan.pods / 20), max(3, plan.pods / 10000)
    wait_until("pods Running", pods_progress, timeout, every)
    watch.step("pods Running with IPs (kwok)")

    have = names(core.list_service_for_all_namespaces)
    if len(have) < plan.services:
        created = create_all(
            kubeconfig, (m for m in service_manifests(plan) if m["metadata"]["name"] not in have), fill
        )
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

    wait_until("EndpointSlices", slices_progress, timeout, every)
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


def ensure_empty_namespace(kubeconfig: str) -> None:
    create_some(
        kubeconfig,
        [{"kind": "Namespace", "metadata": {"name": EMPTY_NAMESPACE, "labels": {BENCH_LABEL: "true"}}}],
        1,
    )
