"""`why SERVICE --nodes all|NODE,...`: the probe run from every node at once, and (opt-in) each node's
kube-proxy asked how it is.

Why it exists: `why` proves a Service from one node; a Service can fail from another (its kube-proxy
stale, a traffic policy Local, the node cut off). One probe pod per node, pinned there with
`spec.nodeName` (no scheduler, so nothing else decides where it lands), all created at once and
polled together, then judged row by row (diagnosis.nodeverdicts) with the node model. Every probe pod
is deleted on every way out, Ctrl-C included, unless `keep`. The pods need what `why` already may do
(deploy/rbac-why.yaml); `--node-health` also reads each node's kube-proxy /healthz and, for
`externalTrafficPolicy: Local`, the Service's healthCheckNodePort through the API server's node proxy
(`nodes/proxy`: deploy/rbac-node-health.yaml).
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inspector.diagnosis.checklist import (
    Vantage,
    active_steps,
    parse_target,
    passive_steps,
    probe_plan,
)
from inspector.diagnosis.nodetraffic import ProxyAction, health_check, node_traffic
from inspector.diagnosis.nodeverdicts import (
    HealthCheckAnswer,
    NodeRow,
    NodeRun,
    NodesVerdict,
    ProxyHealth,
    RunState,
    choose_nodes,
    health_check_answer,
    later_health,
    model_findings,
    node_row,
    nodes_sentence,
    proxy_health,
    skip_reason,
    skipped_row,
)
from inspector.diagnosis.probes import (
    DEFAULT_IMAGE,
    PROBE_CONTAINER,
    PROBE_DEADLINE_S,
    parse_probe_log,
    probe_pod,
    probe_script,
)
from inspector.diagnosis.report import inspect_snapshot
from inspector.errors import BadInput, Forbidden, InspectorError, NotFound
from inspector.kube.connection import Client
from inspector.kube.nodeproxy import node_get
from inspector.kube.probing import create_pod, delete_pod
from inspector.live.reading import check_namespace, read_snapshot
from inspector.live.troubleshooting import (
    POLL_S,
    RBAC_HINT,
    START_TIMEOUT_S,
    Notify,
    ProbeFailed,
    ProbeInterrupted,
    not_started,
    probe_state,
    read_log,
    validate_arguments,
)
from inspector.model.building import JSON
from inspector.model.snapshot import Node

KUBE_PROXY_HEALTH_PORT = 10256  # kube-proxy's healthzBindAddress, 0.0.0.0:10256 by default
HEALTH_RBAC_HINT = "deploy/rbac-node-health.yaml"
# a kubelet takes a pod bound to its node within a second or two; one that has not even acknowledged it
# (no condition, no container status) by then is not talking to the API server
ACK_TIMEOUT_S = 30.0


@dataclass
class _Pending:
    node: Node
    name: str
    started: float
    running: bool = False


def _acknowledged(obj: JSON) -> bool:
    status = obj.get("status") or {}
    return bool(status.get("conditions") or status.get("containerStatuses"))


def _run_probes(
    client: Client,
    namespace: str,
    service: str,
    image: str,
    script: str,
    nodes: list[Node],
    keep: bool,
    say: Notify,
) -> dict[str, NodeRun | tuple[str, str]]:
    """One probe pod per node, created together, polled together, deleted together. Per node: the
    probe's log (pod, text) or a NodeRun that says why it did not run."""
    out: dict[str, NodeRun | tuple[str, str]] = {}
    pending: dict[str, _Pending] = {}
    try:  # from the first create on, every pod made is deleted on every way out, Ctrl-C included
        for node in nodes:
            manifest = probe_pod(namespace, service, image, script)
            manifest["spec"]["nodeName"] = node.name
            created = create_pod(client, namespace, manifest)
            name = str((created.get("metadata") or {}).get("name") or "")
            pending[node.name] = _Pending(node, name, time.monotonic())
        if pending:
            say(
                f"{len(pending)} probe pod(s) created in namespace {namespace}, one per node"
                + (" (kept: --keep)" if keep else "; they are deleted when why ends")
            )
        deadline = time.monotonic() + PROBE_DEADLINE_S + 15
        waiting = dict(pending)
        while waiting:
            for key, p in list(waiting.items()):
                where = f"{namespace}/{p.name}"
                try:
                    try:
                        obj = client.get_json(f"/api/v1/namespaces/{namespace}/pods/{p.name}")
                    except NotFound:
                        raise ProbeInterrupted(
                            f"the probe pod {where} was deleted by someone else before the probe ended"
                        ) from None
                    ended, running = probe_state(obj, namespace, p.name, PROBE_CONTAINER, image, False)
                    if ended:
                        out[key] = (where, read_log(client, namespace, p.name, PROBE_CONTAINER))
                        del waiting[key]
                        continue
                    p.running = p.running or running
                    age = time.monotonic() - p.started
                    if not _acknowledged(obj) and age > ACK_TIMEOUT_S:
                        raise ProbeFailed(
                            f"the kubelet of node {key} did not take the probe pod within {ACK_TIMEOUT_S:g}s: "
                            "the node is not talking to the API server"
                        )
                    if not p.running and age > START_TIMEOUT_S:
                        raise ProbeFailed(
                            f"the probe did not start within {START_TIMEOUT_S:g}s ({not_started(obj)})"
                        )
                    if time.monotonic() > deadline:
                        raise ProbeFailed(f"the probe did not end within {PROBE_DEADLINE_S}s")
                except (ProbeFailed, ProbeInterrupted) as exc:
                    out[key] = NodeRun(key, p.node.zone, RunState.NOT_RUN, str(exc), pod=where)
                    del waiting[key]
            if waiting:
                time.sleep(POLL_S / 2)  # twice as often as one probe: the last pod to end is seen sooner
    finally:
        if not keep:
            with ThreadPoolExecutor(
                max_workers=max(1, min(8, len(pending))), thread_name_prefix="probe-delete"
            ) as pool:
                done = {key: pool.submit(delete_pod, client, namespace, p.name) for key, p in pending.items()}
            for key, fut in done.items():
                p = pending[key]
                try:
                    fut.result()
                except InspectorError as exc:  # the deadline still ends it; say so
                    say(
                        f"could not delete the probe pod {namespace}/{p.name} on node {key} ({exc}): "
                        f"it ends within {PROBE_DEADLINE_S}s"
                    )
    return out


def _last_change(client: Client, namespace: str, service: str) -> datetime | None:
    """When the Service or one of its EndpointSlices last changed: the newest of their creation and
    managedFields times (the API's record of each write)."""
    objs: list[Any] = [client.get_json(f"/api/v1/namespaces/{namespace}/services/{service}")]
    slices = client.get_json(
        f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices",
        [("labelSelector", f"kubernetes.io/service-name={service}")],
    )
    objs += slices.get("items") or []
    times: list[datetime] = []
    for obj in objs:
        meta = obj.get("metadata") or {}
        stamps = [meta.get("creationTimestamp")] + [m.get("time") for m in meta.get("managedFields") or []]
        for t in stamps:
            if isinstance(t, str) and t:
                times.append(datetime.fromisoformat(t.replace("Z", "+00:00")))
    return max(times, default=None)


def _ask_proxy(client: Client, node: Node) -> ProxyHealth:
    answer = node_get(client, node.name, KUBE_PROXY_HEALTH_PORT, "/healthz")
    return proxy_health(node.name, answer.reached, answer.status, answer.body, answer.error)


def _ask_health_check(client: Client, node: Node, port: int, expected: int) -> HealthCheckAnswer:
    answer = node_get(client, node.name, port, "/")
    return health_check_answer(node.name, answer.reached, answer.status, answer.body, expected, answer.error)


def why_across_nodes(
    client: Client,
    service: str,
    namespace: str | None = None,
    *,
    nodes: str = "all",
    from_namespace: str | None = None,
    image: str = DEFAULT_IMAGE,
    keep: bool = False,
    node_health: bool = False,
    notify: Notify | None = None,
) -> NodesVerdict:
    """The Service probed from each node `nodes` names (`all`, or NAME,NAME,...), in parallel."""
    say = notify or (lambda _: None)
    validate_arguments(service, namespace, from_namespace, None, image)
    if not nodes.strip() or nodes.strip() == ",":
        raise BadInput("--nodes wants all, or node names separated by commas")
    target = parse_target(service, namespace or client.namespace)
    client_ns = from_namespace or target.namespace
    snapshot = read_snapshot(client, target.namespace)
    if not snapshot.nodes:
        raise BadInput("--nodes: no node can be listed (the nodes list permission of deploy/rbac.yaml)")
    chosen, unknown = choose_nodes(snapshot.nodes, nodes)
    if unknown:
        raise BadInput(
            f"--nodes: no node named {', '.join(unknown)} (the cluster has {len(snapshot.nodes)} nodes)"
        )
    report = inspect_snapshot(snapshot, lambda s: s.name == target.service)
    sr = report.service(target.namespace, target.service)
    if client_ns != target.namespace:
        check_namespace(client, client_ns)
    notes = list(snapshot.notes)
    passive = tuple(passive_steps(sr, target))
    if sr is None or any(s.status.value == "failed" for s in passive):
        skipped = tuple(
            skipped_row(NodeRun(n.name, n.zone, RunState.SKIPPED, "an earlier step failed"))
            for n in (chosen if sr is not None else [])
        )
        sentence = nodes_sentence(target, passive, skipped)
        return NodesVerdict(target, client_ns, passive, skipped, sentence, tuple(notes), image=image)
    plan = probe_plan(sr, target, snapshot.nodes)
    notes += plan.notes
    runnable = [n for n in chosen if skip_reason(n) is None]
    traffic = {
        t.node: t for t in node_traffic(sr.service, sr.facts.slices, [n for n in chosen if not n.simulated])
    }
    external_drops = frozenset(
        name
        for name, t in traffic.items()
        if any(p.external is not None and p.external.action is ProxyAction.DROP for p in t.ports)
    )
    svc = sr.service
    hc_port = svc.health_check_node_port if svc.external_traffic_policy == "Local" else None
    pool = ThreadPoolExecutor(max_workers=max(1, min(8, 2 * len(runnable))), thread_name_prefix="node-health")
    healths: dict[str, Future[ProxyHealth]] = {}
    checks: dict[str, Future[HealthCheckAnswer]] = {}
    changed: datetime | None = None
    try:
        if node_health:
            changed = _last_change(client, target.namespace, target.service)
            for n in runnable:
                healths[n.name] = pool.submit(_ask_proxy, client, n)
                if hc_port:
                    expected = health_check(svc, sr.facts.slices, n.name).status()
                    checks[n.name] = pool.submit(_ask_health_check, client, n, hc_port, expected)
        try:
            runs = _run_probes(
                client, client_ns, target.service, image, probe_script(plan.checks), runnable, keep, say
            )
        except Forbidden as exc:
            reason = (
                f"no permission to create a probe pod in namespace {client_ns} (grant {RBAC_HINT}): {exc}"
            )
            runs = {n.name: NodeRun(n.name, n.zone, RunState.SKIPPED, reason) for n in runnable}
        health_of: dict[str, ProxyHealth] = {}
        check_of: dict[str, HealthCheckAnswer] = {}
        # read again once the probes have ended: a kube-proxy that stopped during the run is named
        # (its rules stay in place, so the probes' traffic alone may not show it)
        afters = {n.name: pool.submit(_ask_proxy, client, n) for n in runnable if n.name in healths}
        try:
            for name, fut in healths.items():
                health = later_health(fut.result(), afters[name].result())
                if health is not None:
                    health_of[name] = health
        except Forbidden as exc:
            notes.append(
                f"kube-proxy health not read: no permission nodes/proxy (grant {HEALTH_RBAC_HINT}): {exc}"
            )
            health_of.clear()
        for name, hc in checks.items():
            try:
                check_of[name] = hc.result()
            except Forbidden:
                break
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    rows: list[NodeRow] = []
    for n in chosen:
        skip = skip_reason(n)
        got = runs.get(n.name)
        if skip is not None or got is None:
            run = NodeRun(n.name, n.zone, RunState.SKIPPED, skip or "not probed")
        elif isinstance(got, NodeRun):
            run = got
        else:
            pod, text = got
            log = parse_probe_log(text, plan.checks)
            if not log.complete:
                notes.append(f"the probe on node {n.name} did not print all its results (ended early?)")
            vantage = Vantage(client_ns, None, n.name, pinned=True)
            run = NodeRun(
                n.name,
                n.zone,
                RunState.PROBED,
                steps=tuple(active_steps(sr, target, vantage, plan, log)),
                pod=pod,
            )
        rows.append(
            node_row(
                sr,
                run,
                traffic.get(n.name),
                health_of.get(n.name),
                changed,
                check_of.get(n.name),
                external_drops,
            )
        )
    return NodesVerdict(
        target,
        client_ns,
        passive,
        tuple(rows),
        nodes_sentence(target, passive, rows),
        tuple(notes),
        model_findings(sr),
        image,
        keep,
        node_health,
        hc_port,
    )
