"""`why --nodes`: the chain's active steps observed from every node, judged with the node model.

Why it exists: a Service that works from one node and not from another (a kube-proxy that stopped
syncing there, `internalTrafficPolicy: Local` with no endpoint on the node, a node cut off) looks
healthy to a single probe that happens to land on a good node. Here one probe ran on each node; this
module lays their results side by side (one row per node: DNS, endpoints, ClusterIP, node ports) and
says which nodes fail and why, by combining what was observed with what the node model
(diagnosis.nodetraffic) says that node's kube-proxy should do: a ClusterIP that times out from a node
whose policy drops its traffic is the policy; one that fails from a node while every endpoint
connects from there, and the model says it should forward, is that node's kube-proxy.

With `--node-health` the kube-proxy of each node is read too (its /healthz through the API server):
`kube-proxy-stale` when its last sync is older than the Service's last change, `kube-proxy-unhealthy`
when it answers 503 or nothing; for `externalTrafficPolicy: Local` each node's healthCheckNodePort
answer is set beside the model's.

Everything here is pure: nodes, the probes' steps and the health answers in, rows and a sentence out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from inspector.diagnosis.checklist import NamedService, Step, StepStatus
from inspector.diagnosis.nodetraffic import NodeTraffic, ProxyAction
from inspector.diagnosis.report import ServiceReport
from inspector.model.findings import Finding, finding
from inspector.model.snapshot import Node

# the active steps a row shows, and their column headers
COLUMNS = {
    "dns-resolves": "DNS",
    "endpoints-connect": "ENDPOINTS",
    "service-ip-connects": "CLUSTER-IP",
    "nodeports-connect": "NODE-PORTS",
}
# the passive findings that name nodes or zones: the node model's, shown with the per-node verdict
MODEL_CODES = (
    "internal-traffic-policy-local-no-endpoint",
    "local-policy-nodes-without-endpoints",
    "traffic-distribution-zone-without-endpoints",
    "topology-hints-missing",
    "session-affinity-behind-snat",
)
STALE_GRACE_S = 10.0  # kube-proxy syncs within a second of a change; allow for a busy node


class RunState(StrEnum):
    PROBED = "probed"
    SKIPPED = "skipped"  # no probe can run there (simulated, NotReady, tainted) or an earlier step failed
    NOT_RUN = "not-run"  # a probe was asked for and did not run: the node itself is the problem


@dataclass(frozen=True, slots=True)
class NodeRun:
    """One node's probe: its active steps as observed (each judged alone), or why there are none."""

    node: str
    zone: str | None
    state: RunState
    reason: str = ""  # why skipped, or why the probe did not run
    steps: tuple[Step, ...] = ()
    pod: str | None = None  # namespace/name of the probe pod


def skip_reason(node: Node) -> str | None:
    """Why no probe runs on this node, or None when one can."""
    if node.simulated:
        return "simulated (kwok) node: no kubelet runs pods there"
    if not node.ready:
        return "the node is NotReady"
    if node.taints:
        return f"tainted {', '.join(node.taints)}: pods that do not tolerate it do not run there"
    return None


def choose_nodes(nodes: Sequence[Node], asked: str) -> tuple[list[Node], list[str]]:
    """The nodes `--nodes` names (`all`, or NAME,NAME,...), and the names no node has."""
    names = [n.strip() for n in asked.split(",") if n.strip()]
    if names == ["all"]:
        return sorted(nodes, key=lambda n: n.name), []
    by_name = {n.name: n for n in nodes}
    return [by_name[n] for n in dict.fromkeys(names) if n in by_name], [n for n in names if n not in by_name]


# --------------------------------------------------------------------------- kube-proxy's health


@dataclass(frozen=True, slots=True)
class ProxyHealth:
    """What a node's kube-proxy answered on /healthz (pkg/proxy/healthcheck/proxy_health.go), or that
    it did not answer."""

    node: str
    reached: bool
    status: int = 0
    last_updated: datetime | None = None
    current_time: datetime | None = None
    node_eligible: bool | None = None
    error: str = ""
    stopped_during: bool = False  # it answered 200 when the run began, and no longer at its end


def later_health(before: ProxyHealth | None, after: ProxyHealth | None) -> ProxyHealth | None:
    """kube-proxy's health is read when the run begins and again once the probes have ended: the later
    reading is the node's, marked when a kube-proxy healthy at the start no longer is (it stopped or
    stalled during the run, while its rules, left in place, may still carry the probes' traffic)."""
    if after is None:
        return before
    if (
        before is not None
        and before.reached
        and before.status == 200
        and not (after.reached and after.status == 200)
    ):
        return replace(after, stopped_during=True)
    return after


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def proxy_health(node: str, reached: bool, status: int, body: bytes, error: str = "") -> ProxyHealth:
    """The answer as read: `{"lastUpdated": ..., "currentTime": ..., "nodeEligible": ...}`."""
    if not reached:
        return ProxyHealth(node, False, status, error=error)
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    eligible = data.get("nodeEligible")
    return ProxyHealth(
        node,
        True,
        status,
        _time(data.get("lastUpdated")),
        _time(data.get("currentTime")),
        eligible if isinstance(eligible, bool) else None,
        "" if data else f"an answer that is not kube-proxy's JSON ({body[:80]!r})",
    )


def _ago(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}min"


def judge_health(h: ProxyHealth, changed: datetime | None) -> Finding | None:
    """kube-proxy-stale when its last sync is older than the Service's last change (`changed`), by more
    than a sync could take; kube-proxy-unhealthy when it answers 503 or not at all."""
    if h.reached and h.last_updated is not None and changed is not None:
        now = h.current_time or h.last_updated
        if h.last_updated < changed and (now - changed).total_seconds() > STALE_GRACE_S:
            return finding(
                "kube-proxy-stale",
                node=h.node,
                last_updated=h.last_updated.isoformat(timespec="seconds"),
                behind=_ago((changed - h.last_updated).total_seconds()),
                changed=changed.isoformat(timespec="seconds"),
                extra={"httpStatus": h.status},
            )
    during = "; it answered 200 when why began, so it stopped during the run" if h.stopped_during else ""
    if not h.reached:
        return finding(
            "kube-proxy-unhealthy", node=h.node, reason=f"/healthz does not answer ({h.error}){during}"
        )
    if h.status != 200:
        since = ""
        if h.last_updated is not None and h.current_time is not None:
            since = f", its last sync {_ago((h.current_time - h.last_updated).total_seconds())} ago"
        return finding(
            "kube-proxy-unhealthy", node=h.node, reason=f"/healthz answers {h.status}{since}{during}"
        )
    return None


def health_text(h: ProxyHealth | None, judged: Finding | None) -> str:
    if h is None:
        return "-"
    if judged is not None and judged.code == "kube-proxy-stale":
        return "STALE"
    if not h.reached:
        return "NO ANSWER"
    if h.status != 200:
        return f"UNHEALTHY ({h.status})"
    return "ok"


@dataclass(frozen=True, slots=True)
class HealthCheckAnswer:
    """A node's answer on the Service's healthCheckNodePort (externalTrafficPolicy Local), beside the
    node model's expectation (200 with a ready local endpoint, 503 without)."""

    node: str
    reached: bool
    status: int
    expected: int
    local_endpoints: int | None = None
    error: str = ""

    @property
    def text(self) -> str:
        if not self.reached:
            return f"no answer ({self.error})"[:60]
        count = "" if self.local_endpoints is None else f" ({self.local_endpoints} local)"
        mark = "" if self.status == self.expected else f", model says {self.expected}"
        return f"{self.status}{count}{mark}"


def health_check_answer(
    node: str, reached: bool, status: int, body: bytes, expected: int, error: str = ""
) -> HealthCheckAnswer:
    """`{"service": {...}, "localEndpoints": N, "serviceProxyHealthy": ...}` as kube-proxy serves it."""
    count = None
    if reached:
        try:
            data = json.loads(body)
        except ValueError:
            data = {}
        value = data.get("localEndpoints") if isinstance(data, dict) else None
        count = value if isinstance(value, int) else None
    return HealthCheckAnswer(node, reached, status, expected, count, error)


# --------------------------------------------------------------------------- one row per node


@dataclass(frozen=True, slots=True)
class NodeRow:
    run: NodeRun
    cells: Mapping[str, str]  # COLUMNS header -> ok / FAILED / skipped / n/a
    ok: bool | None  # None: skipped
    cause: str = ""  # why this node fails, in words; "" when it does not
    kind: str = ""  # the cause's kind: not-run, dns, endpoints, local-policy, kube-proxy, nodeports, health
    findings: tuple[Finding, ...] = ()
    model: str = "-"  # where the node model sends the ClusterIP's traffic from a pod there
    health: ProxyHealth | None = None
    health_finding: Finding | None = None
    health_check: HealthCheckAnswer | None = None

    @property
    def node(self) -> str:
        return self.run.node


MARK = {
    StepStatus.PASSED: "ok",
    StepStatus.FAILED: "FAILED",
    StepStatus.SKIPPED: "skipped",
    StepStatus.NOT_APPLICABLE: "n/a",
}


def _on_node(f: Finding, node: str) -> Finding:
    """A finding observed from `node`'s probe: the client node is in its details (`node`, unless the
    finding already names another node there, such as a node port's: then `clientNode`)."""
    details = dict(f.details)
    details.setdefault("node", node)
    details["clientNode"] = node
    return replace(f, details=details)


def _model_text(traffic: NodeTraffic | None) -> tuple[str, bool]:
    """The model's ClusterIP destinations for a pod on the node, and whether it drops there."""
    if traffic is None or not traffic.ports:
        return "-", False
    decisions = [p.cluster_ip for p in traffic.ports if p.cluster_ip is not None]
    if any(d.action is ProxyAction.DROP for d in decisions):
        return "DROP (no local endpoint)", True
    if decisions and all(d.action is ProxyAction.REJECT for d in decisions):
        return "REJECT (no endpoint)", False
    addresses = sorted({a for d in decisions for a in d.addresses})
    shown = ", ".join(addresses[:3]) + (f" +{len(addresses) - 3}" if len(addresses) > 3 else "")
    return shown or "-", False


def skipped_row(run: NodeRun) -> NodeRow:
    return NodeRow(run, dict.fromkeys(COLUMNS.values(), "skipped"), None)


def node_row(
    sr: ServiceReport,
    run: NodeRun,
    traffic: NodeTraffic | None,
    health: ProxyHealth | None = None,
    changed: datetime | None = None,
    health_check: HealthCheckAnswer | None = None,
    external_drops: frozenset[str] = frozenset(),
) -> NodeRow:
    """The node's row: its cells, whether it works, and if not, the cause, judged with the model.
    `external_drops`: the nodes whose node ports the model says drop external traffic (a traffic
    policy Local and no endpoint there); traffic from a pod on another node reaches them as external
    traffic where it is masqueraded on the way (a CNI's ipMasq), so their failures are the policy's."""
    model, drops = _model_text(traffic)
    judged = judge_health(health, changed) if health is not None else None
    if run.state is RunState.SKIPPED:
        cells = dict.fromkeys(COLUMNS.values(), "skipped")
        return NodeRow(
            run, cells, None, model=model, health=health, health_finding=judged, health_check=health_check
        )
    if run.state is RunState.NOT_RUN:
        cells = dict.fromkeys(COLUMNS.values(), "FAILED")
        cause = f"the probe could not run there ({run.reason})"
        return NodeRow(run, cells, False, cause, "not-run", (), model, health, judged, health_check)
    steps = {s.name: s for s in run.steps}
    cells = {COLUMNS[n]: MARK[steps[n].status] if n in steps else "n/a" for n in COLUMNS}
    failed = {n: s for n, s in steps.items() if s.status is StepStatus.FAILED}
    findings: list[Finding] = []
    cause, kind = "", ""
    if "dns-resolves" in failed:
        kind = "dns"
        cause = "the name does not resolve from there: " + (failed["dns-resolves"].evidence or ("",))[0]
    elif "endpoints-connect" in failed:
        kind = "endpoints"
        bad = [e for e in failed["endpoints-connect"].evidence if not e.endswith(": connected")]
        cause = "endpoints do not connect from there (the pod network or a NetworkPolicy): " + "; ".join(
            bad[:3]
        )
    elif "service-ip-connects" in failed and drops:
        kind = "local-policy"
        cause = "internalTrafficPolicy Local and no endpoint on the node: its kube-proxy drops the traffic"
    elif "service-ip-connects" in failed:
        kind = "kube-proxy"
        cause = (
            "the ClusterIP fails from there while every endpoint connects: kube-proxy on the node has not "
            "programmed it"
        )
    elif "nodeports-connect" in failed:
        ports = failed["nodeports-connect"].findings
        if ports and all(f.details.get("node") in external_drops for f in ports):
            kind = "external-policy"
            cause = (
                "externalTrafficPolicy Local: the node ports of "
                + _names(sorted({str(f.details.get("node")) for f in ports}))
                + " drop what reaches them from there (no endpoint on those nodes)"
            )
        else:
            kind = "nodeports"
            bad = [e for e in failed["nodeports-connect"].evidence if not e.endswith(": connected")]
            cause = "node ports do not connect from there: " + "; ".join(bad[:3])
    for name, step in failed.items():
        for observed in step.findings:
            f = observed
            if name == "service-ip-connects" and drops:
                # the policy, not kube-proxy: the report's own finding says which nodes
                f = next((m for m in sr.findings if m.code == "internal-traffic-policy-local-no-endpoint"), f)
            elif kind == "external-policy" and name == "nodeports-connect":
                f = next((m for m in sr.findings if m.code == "local-policy-nodes-without-endpoints"), f)
            findings.append(_on_node(f, run.node))
    if judged is not None:
        findings.append(judged)
        if not kind:
            kind, cause = "health", judged.message
        elif kind == "kube-proxy":
            said = judged.message.split(": ", 1)[-1]
            stale = "its last sync is older than the Service"
            cause += f" ({said if judged.code == 'kube-proxy-unhealthy' else stale})"
    ok = not kind
    return NodeRow(
        run,
        cells,
        ok,
        cause,
        kind,
        tuple({(f.code, f.message): f for f in findings}.values()),
        model,
        health,
        judged,
        health_check,
    )


# --------------------------------------------------------------------------- the verdict


@dataclass(frozen=True, slots=True)
class NodesVerdict:
    target: NamedService
    namespace: str  # where the probe pods ran
    passive: tuple[Step, ...]
    rows: tuple[NodeRow, ...]
    sentence: str
    notes: tuple[str, ...] = ()
    model_findings: tuple[Finding, ...] = ()  # the report's node findings (which nodes, which zones)
    image: str = ""
    kept: bool = False
    health_asked: bool = False
    health_check_port: int | None = None

    @property
    def ok(self) -> bool:
        return not any(s.status is StepStatus.FAILED for s in self.passive) and not any(
            r.ok is False for r in self.rows
        )

    @property
    def findings(self) -> tuple[Finding, ...]:
        out = [f for s in self.passive for f in s.findings if s.status is StepStatus.FAILED]
        return tuple(out + [f for r in self.rows for f in r.findings])


def _names(nodes: Iterable[str]) -> str:
    names = list(nodes)
    return ("node " if len(names) == 1 else "nodes ") + ", ".join(names)


def _group(rows: Iterable[NodeRow], kind: str) -> list[NodeRow]:
    return [r for r in rows if r.kind == kind]


CAUSES = (
    "not-run",
    "dns",
    "endpoints",
    "local-policy",
    "kube-proxy",
    "external-policy",
    "nodeports",
    "health",
)


def _cause(kind: str, rows: Sequence[NodeRow], others_work: bool) -> str:
    """The words for one cause shared by `rows` (the failing nodes it explains)."""
    n = _names(r.node for r in rows)
    if kind == "not-run":
        return f"the probe could not run on {n} ({rows[0].run.reason}): the node may be cut off"
    if kind == "dns":
        return f"the name does not resolve from {n}: check CoreDNS and the resolver there"
    if kind == "endpoints":
        return f"the endpoints do not connect from {n} (the pod network or a NetworkPolicy)"
    if kind == "local-policy":
        return (
            f"internalTrafficPolicy Local: no endpoint on {n}, whose kube-proxy drops the traffic "
            "(as the node model predicts)"
        )
    if kind == "kube-proxy":
        health = [r.health_finding.message for r in rows if r.health_finding is not None]
        return (
            f"the ClusterIP fails {'only ' if others_work else ''}from {n} while every endpoint connects "
            f"from there: kube-proxy on {n} has not programmed it" + "".join("; " + h for h in health)
        )
    if kind == "external-policy":
        dropping = sorted(
            {
                n
                for r in rows
                for s in r.run.steps
                if s.name == "nodeports-connect"
                for f in s.findings
                if (n := str(f.details.get("node") or ""))
            }
        )
        checks = [r.health_check for r in rows if r.health_check is not None]
        said = ", ".join(f"{c.node} {c.status}" for c in checks if c.reached)
        return (
            f"externalTrafficPolicy Local: the node ports of {_names(dropping)} drop traffic that arrives from "
            f"outside or masqueraded from another node (no endpoint there), as the node model predicts"
            + (f"; healthCheckNodePort: {said}" if said else "")
        )
    if kind == "nodeports":
        return f"node ports fail from {n}: {rows[0].cause.split(': ', 1)[-1]}"
    return "; ".join(r.cause for r in rows)


def nodes_sentence(target: NamedService, passive: Sequence[Step], rows: Sequence[NodeRow]) -> str:
    """One sentence: which nodes fail and why (grouped by cause), or that every node probed works."""
    where = f"{target.namespace}/{target.service}"
    broken = next((s for s in passive if s.status is StepStatus.FAILED), None)
    if broken is not None:
        first = (
            broken.findings[0].message if broken.findings else (broken.evidence[0] if broken.evidence else "")
        )
        return f'{where} is broken at "{broken.title}" for every node: {first}; no probe was run'
    probed = [r for r in rows if r.ok is not None]
    skipped = [r for r in rows if r.ok is None]
    if not probed:
        return f"{where}: no node could run a probe ({skipped[0].run.reason if skipped else 'no node'})"
    good = [r.node for r in probed if r.ok]
    bad = [r for r in probed if not r.ok]
    if not bad:
        tail = f"; {len(skipped)} node(s) skipped" if skipped else ""
        return f"{where} works from every node probed ({', '.join(good)}){tail}"
    parts = [_cause(kind, group, bool(good)) for kind in CAUSES if (group := _group(bad, kind))]
    works = f"works from {_names(good)} but " if good else ""
    return f"{where} {works}fails from {_names(r.node for r in bad)}: " + "; ".join(parts)


def model_findings(sr: ServiceReport) -> tuple[Finding, ...]:
    return tuple(f for f in sr.findings if f.code in MODEL_CODES)
