"""`why SERVICE`: the Kubernetes "Debug Services" checklist as a chain of steps, judged in order.

Why it exists: the API tells whether a Service *should* work; a user asks why it does not. The
chain follows the checklist (the Service exists, selects pods, they are ready, the slices match,
the name resolves from the client, the pods answer on their targetPort, the ClusterIP answers, the
node ports answer, a backend reaches itself through the Service) and stops at the first broken link:
later steps are shown as skipped. The pods are probed before the ClusterIP (as the checklist asks
"are the pods working?" before "is kube-proxy working?"): a ClusterIP fails whenever its endpoints
do, so only a ClusterIP that fails while every endpoint connects points at kube-proxy.

Everything here is pure: the report of the Service, the client's description and the probe's
results in, steps and a one-sentence verdict out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from inspector.diagnosis.endpoints import Endpoint
from inspector.diagnosis.probes import Check, Outcome, ProbeLog, Result, host_port
from inspector.diagnosis.reach import Reachability
from inspector.diagnosis.report import ServiceReport
from inspector.errors import BadInput
from inspector.model.findings import Finding, Severity, finding
from inspector.model.names import validate_name
from inspector.model.snapshot import Node, Pod, ServiceType

MAX_PROBED_ENDPOINTS = 16


class StepStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # an earlier step failed, or the probe could not run
    NOT_APPLICABLE = "n/a"  # nothing to check for this Service or client


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    title: str
    status: StepStatus
    evidence: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    duration: float = 0.0  # seconds; the active steps share the probe's run


STEPS: dict[str, str] = {
    "service-exists": "Service exists",
    "selector-selects-pods": "selector selects pods",
    "pods-ready": "pods are ready",
    "endpoints-match": "EndpointSlices match the pods",
    "dns-resolves": "the name resolves from the client",
    "endpoints-connect": "each endpoint accepts connections",
    "service-ip-connects": "the ClusterIP accepts connections",
    "nodeports-connect": "the node ports accept connections",
    "hairpin": "a backend reaches itself through the Service",
}
PASSIVE = ("service-exists", "selector-selects-pods", "pods-ready", "endpoints-match")
ACTIVE = tuple(s for s in STEPS if s not in PASSIVE)


# --------------------------------------------------------------------------- what the user asked


@dataclass(frozen=True, slots=True)
class NamedService:
    """The Service as the client writes its name: `web`, `web.ns`, `web.ns.svc[.domain][.]`."""

    name: str  # as written, resolved as is by the client
    service: str
    namespace: str
    qualified: bool  # the name says its namespace


def parse_target(raw: str, namespace: str) -> NamedService:
    """The Service a name stands for; the namespace in the name wins over -n only when they agree."""
    text = raw.strip()
    labels = text.rstrip(".").split(".") if text else [""]
    service = validate_name(labels[0], "Service name")
    if len(labels) == 1:
        return NamedService(text, service, validate_name(namespace, "namespace"), False)
    named_ns = validate_name(labels[1], "namespace")
    if len(labels) > 2 and labels[2] != "svc":
        raise BadInput(
            f"invalid Service name {raw!r}: write NAME, NAME.NAMESPACE or NAME.NAMESPACE.svc[.DOMAIN]"
        )
    for label in labels[3:]:
        validate_name(label, "DNS label")
    return NamedService(text, service, named_ns, True)


@dataclass(frozen=True, slots=True)
class Vantage:
    """Where the active checks run from: a probe pod in a namespace, or an ephemeral container in a pod."""

    namespace: str
    pod: Pod | None = None  # --from-pod
    node: str | None = None  # where the probe ran (known once it did)
    pinned: bool = False  # the probe was put on `node` on purpose (why --nodes): say which node

    @property
    def describe(self) -> str:
        if self.pod is not None:
            return f"pod {self.pod.namespace}/{self.pod.name}"
        if self.pinned and self.node:
            return f"a pod on node {self.node} in namespace {self.namespace}"
        return f"a pod in namespace {self.namespace}"


# --------------------------------------------------------------------------- the probe's checks


@dataclass(frozen=True, slots=True)
class Plan:
    checks: tuple[Check, ...]
    endpoints: Mapping[str, Endpoint]  # check id -> endpoint
    service_ports: Mapping[str, tuple[str, int]]  # check id -> (address, port)
    node_ports: Mapping[str, tuple[str, str, int]]  # check id -> (node, address, nodePort)
    notes: tuple[str, ...] = ()

    @property
    def needed(self) -> bool:
        return bool(self.checks)


def probe_plan(sr: ServiceReport, target: NamedService, nodes: tuple[Node, ...]) -> Plan:
    """The connections and the lookup the probe makes for this Service: every ready TCP endpoint,
    every TCP port on the ClusterIP, every node port on each real node (kwok nodes have no network)."""
    svc = sr.service
    checks: list[Check] = []
    notes: list[str] = []
    if svc.type is not ServiceType.EXTERNAL_NAME:
        checks.append(Check("dns", "dns", target.name))
    tcp = [e for e in sr.actual if e.ready and e.protocol == "TCP" and e.port is not None]
    endpoints = {f"ep-{i}": e for i, e in enumerate(tcp[:MAX_PROBED_ENDPOINTS])}
    if len(tcp) > MAX_PROBED_ENDPOINTS:
        notes.append(f"probed the first {MAX_PROBED_ENDPOINTS} of {len(tcp)} ready endpoints")
    checks += [Check(i, "tcp", e.address) for i, e in endpoints.items()]
    ports = [p for p in svc.ports if p.protocol == "TCP"]
    if len(ports) < len(svc.ports):
        notes.append("UDP and SCTP ports are not probed (no connection to tell refused from silent)")
    service_ports: dict[str, tuple[str, int]] = {}
    if svc.type is not ServiceType.EXTERNAL_NAME and not svc.headless and svc.cluster_ip:
        for i, p in enumerate(ports):
            service_ports[f"svc-{i}"] = (svc.cluster_ip, p.port)
    # a Service just created may not be programmed by kube-proxy yet: its addresses get a second try
    checks += [Check(i, "tcp", host_port(a, p), again=True) for i, (a, p) in service_ports.items()]
    node_ports: dict[str, tuple[str, str, int]] = {}
    if svc.type.opens_node_ports:
        real = [n for n in nodes if not n.simulated and n.ready and n.internal_ips]
        if len(real) < len(nodes):
            notes.append(
                f"{len(nodes) - len(real)} simulated or not-ready node(s) left out of the node-port checks"
            )
        i = 0
        for p in ports:
            for n in real:
                if p.node_port:
                    node_ports[f"np-{i}"] = (n.name, n.internal_ips[0], p.node_port)
                    i += 1
    checks += [Check(i, "tcp", host_port(a, p), again=True) for i, (_, a, p) in node_ports.items()]
    return Plan(tuple(checks), endpoints, service_ports, node_ports, tuple(notes))


# --------------------------------------------------------------------------- the chain, judged


@dataclass(frozen=True, slots=True)
class ProbeSite:
    """Where the probe ran: its own pod (`kind` "pod"), or an ephemeral container (`kind`
    "ephemeral-container", named `container`) in the client's pod, which stays in that pod's spec."""

    kind: str
    pod: str  # namespace/name
    node: str | None
    image: str
    container: str | None = None  # the ephemeral container's name
    kept: bool = False  # a probe pod left in place (--keep)


@dataclass(frozen=True, slots=True)
class Verdict:
    target: NamedService
    client: Vantage
    steps: tuple[Step, ...]
    sentence: str
    notes: tuple[str, ...] = ()
    probe: ProbeSite | None = None  # where and how the probe ran; None when it did not
    # the NetworkPolicies isolating the Service's ready endpoints, judged for the client (ingress
    # side: the policies of the Service's namespace); None when none is there
    policies: Reachability | None = None

    @property
    def ok(self) -> bool:
        return not any(s.status is StepStatus.FAILED for s in self.steps)

    @property
    def broken(self) -> Step | None:
        return next((s for s in self.steps if s.status is StepStatus.FAILED), None)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for s in self.steps for f in s.findings)


def _step(name: str, status: StepStatus, evidence: list[str], findings: list[Finding] | None = None) -> Step:
    return Step(name, STEPS[name], status, tuple(evidence), tuple(findings or ()))


def _passive(sr: ServiceReport | None, target: NamedService) -> list[Step]:
    if sr is None:
        return [
            _step(
                "service-exists",
                StepStatus.FAILED,
                [f'service "{target.service}" not found in namespace "{target.namespace}"'],
            )
        ]
    svc = sr.service
    steps = [
        _step(
            "service-exists",
            StepStatus.PASSED,
            [
                f"{svc.type.value} {svc.key}, cluster IP {svc.cluster_ip or '-'}, ports "
                + (", ".join(p.label for p in svc.ports) or "none")
            ],
        )
    ]
    by_code: dict[str, list[Finding]] = {}
    for f in sr.findings:
        by_code.setdefault(f.code, []).append(f)
    exp = sr.expectation
    if not svc.selects_pods:
        why = (
            "ExternalName: no pods, DNS answers a CNAME"
            if svc.type is ServiceType.EXTERNAL_NAME
            else ("no selector: its endpoints are managed by hand")
        )
        steps.append(_step("selector-selects-pods", StepStatus.NOT_APPLICABLE, [why]))
        steps.append(_step("pods-ready", StepStatus.NOT_APPLICABLE, [why]))
    else:
        empty = by_code.get("selector-matches-no-pods", []) + by_code.get(
            "selector-matches-scaled-to-zero", []
        )
        if empty:
            steps.append(_step("selector-selects-pods", StepStatus.FAILED, [f.message for f in empty], empty))
        else:
            steps.append(
                _step(
                    "selector-selects-pods",
                    StepStatus.PASSED,
                    [f"{len(exp.selected)} pod(s) selected: " + ", ".join(p.name for p in exp.selected[:8])],
                )
            )
        unready = by_code.get("pod-not-ready", [])
        if empty:
            steps.append(_step("pods-ready", StepStatus.SKIPPED, []))
        elif not exp.ready_pods and not svc.publish_not_ready_addresses:
            steps.append(_step("pods-ready", StepStatus.FAILED, [f.message for f in unready], unready))
        else:
            evidence = [f"{len(exp.ready_pods)} of {len(exp.selected)} selected pod(s) ready"]
            steps.append(
                _step("pods-ready", StepStatus.PASSED, evidence + [f.message for f in unready], unready)
            )
    broken = [
        f
        for f in sr.findings
        if f.severity is Severity.ERROR
        and f.code
        in ("endpoints-missing", "target-port-unresolved", "selectorless-no-endpoints", "nodeport-missing")
    ]
    others = [
        f
        for f in sr.findings
        if f.code in ("endpoints-unexpected", "endpoint-conditions-differ", "target-port-not-declared")
    ]
    if svc.type is ServiceType.EXTERNAL_NAME:
        steps.append(_step("endpoints-match", StepStatus.NOT_APPLICABLE, ["ExternalName: no endpoints"]))
    elif broken:
        steps.append(
            _step("endpoints-match", StepStatus.FAILED, [f.message for f in broken + others], broken)
        )
    else:
        ready = sum(1 for e in sr.actual if e.ready)
        steps.append(
            _step(
                "endpoints-match",
                StepStatus.PASSED,
                [f"{ready} ready endpoint(s) in the EndpointSlices, as the pods say"]
                + [f.message for f in others],
                others,
            )
        )
    return steps


def passive_steps(sr: ServiceReport | None, target: NamedService) -> list[Step]:
    """The steps the API alone answers; the chain's later steps are skipped after a failure."""
    return _after_failure(_passive(sr, target))


def _after_failure(steps: list[Step]) -> list[Step]:
    out: list[Step] = []
    failed = False
    for s in steps:
        if failed and s.status is not StepStatus.NOT_APPLICABLE:
            out.append(Step(s.name, s.title, StepStatus.SKIPPED, ("an earlier step failed",), (), s.duration))
            continue
        failed = failed or s.status is StepStatus.FAILED
        out.append(s)
    return out


def _outcome(r: Result) -> str:
    return r.outcome.value + (f": {r.detail}" if r.detail and r.outcome not in (Outcome.REFUSED,) else "")


def expected_addresses(sr: ServiceReport) -> tuple[str, ...]:
    """What the name should resolve to, as the API says: the cluster IP(s), or the ready endpoints' IPs
    of a headless Service (IPv4, as `getent hosts` answers)."""
    svc = sr.service
    if svc.headless:
        return tuple(sorted({e.ip for e in sr.actual if e.ready and ":" not in e.ip}))
    return tuple(ip for ip in svc.cluster_ips if ":" not in ip)


def _dns_step(sr: ServiceReport, target: NamedService, client: Vantage, log: ProbeLog) -> Step:
    svc = sr.service
    if svc.type is ServiceType.EXTERNAL_NAME:
        return _step(
            "dns-resolves", StepStatus.NOT_APPLICABLE, [f"ExternalName: a CNAME to {svc.external_name}"]
        )
    r = log.results["dns"]
    expected = expected_addresses(sr)
    evidence = [f"{target.name} from {client.describe}: {_outcome(r)}"]
    if log.resolv_conf:
        evidence.append(f"the client's resolver: {log.resolv_conf}")
    tcp = log.results.get("dns-tcp")
    if tcp is not None:
        evidence.append(f"its nameserver over TCP (port 53): {_outcome(tcp)}")
    if r.outcome is Outcome.RESOLVED and set(r.addresses) == set(expected):
        return _step("dns-resolves", StepStatus.PASSED, evidence)
    hint = ""
    if r.outcome is not Outcome.RESOLVED and not target.qualified and client.namespace != svc.namespace:
        hint = (
            f": a short name resolves only in its own namespace; from namespace {client.namespace} "
            f"write {svc.name}.{svc.namespace}"
        )
    elif r.outcome is not Outcome.RESOLVED:
        hint = ": check the cluster DNS (CoreDNS) and the client's resolv.conf"
    got = ", ".join(r.addresses) if r.outcome is Outcome.RESOLVED else f"nothing ({r.outcome.value})"
    found = finding(
        "dns-from-pod-differs",
        name=target.name,
        client=client.describe,
        got=got,
        expected=", ".join(expected) or "no address",
        hint=hint,
    )
    return _step("dns-resolves", StepStatus.FAILED, evidence, [found])


def _endpoints_step(plan: Plan, client: Vantage, log: ProbeLog) -> Step:
    if not plan.endpoints:
        return _step("endpoints-connect", StepStatus.NOT_APPLICABLE, ["no ready TCP endpoint to connect to"])
    evidence, findings = [], []
    for ident, e in plan.endpoints.items():
        r = log.results[ident]
        evidence.append(f"{e.address} ({e.pod or 'no pod'}): {_outcome(r)}")
        if r.outcome is Outcome.REFUSED:
            findings.append(
                finding(
                    "endpoint-refused",
                    endpoint=e.address,
                    pod=e.pod or "-",
                    client=client.describe,
                    port=e.port,
                )
            )
        elif not r.outcome.ok:
            findings.append(
                finding(
                    "endpoint-timeout",
                    endpoint=e.address,
                    pod=e.pod or "-",
                    client=client.describe,
                    outcome=_outcome(r),
                )
            )
    return _step(
        "endpoints-connect", StepStatus.FAILED if findings else StepStatus.PASSED, evidence, findings
    )


def _selected(sr: ServiceReport, client: Vantage) -> bool:
    pod = client.pod
    return pod is not None and any(
        p.namespace == pod.namespace and p.name == pod.name for p in sr.expectation.selected
    )


def _service_ip_step(sr: ServiceReport, plan: Plan, client: Vantage, log: ProbeLog) -> tuple[Step, Step]:
    """The ClusterIP step, and the hairpin step (the same connections, when the client is a backend)."""
    svc = sr.service
    if not plan.service_ports:
        why = "headless: no ClusterIP" if svc.headless else "no ClusterIP"
        return (
            _step("service-ip-connects", StepStatus.NOT_APPLICABLE, [why]),
            _step("hairpin", StepStatus.NOT_APPLICABLE, [why]),
        )
    backend = _selected(sr, client)
    evidence, findings = [], []
    node = client.node or "?"
    for ident, (address, port) in plan.service_ports.items():
        r = log.results[ident]
        evidence.append(f"{host_port(address, port)}: {_outcome(r)}")
        if r.outcome.ok:
            continue
        if backend and client.pod is not None:
            findings.append(
                finding(
                    "hairpin-failed",
                    pod=client.pod.name,
                    address=host_port(address, port),
                    outcome=_outcome(r),
                )
            )
        else:
            findings.append(
                finding(
                    "service-ip-unreachable",
                    address=address,
                    port=port,
                    # the template names the node itself
                    client=f"a pod in namespace {client.namespace}" if client.pinned else client.describe,
                    node=node,
                    outcome=_outcome(r),
                )
            )
    if backend:
        status = StepStatus.FAILED if findings else StepStatus.PASSED
        return (
            _step(
                "service-ip-connects",
                StepStatus.NOT_APPLICABLE,
                ["judged as hairpin: the client is a backend"],
            ),
            _step(
                "hairpin", status, [f"from its backend {client.describe}: " + e for e in evidence], findings
            ),
        )
    hairpin = _step(
        "hairpin",
        StepStatus.NOT_APPLICABLE,
        ["the client is not a backend; run with --from-pod and a selected pod to check hairpin"],
    )
    return _step(
        "service-ip-connects", StepStatus.FAILED if findings else StepStatus.PASSED, evidence, findings
    ), hairpin


def _nodeports_step(sr: ServiceReport, plan: Plan, client: Vantage, log: ProbeLog) -> Step:
    if not sr.service.type.opens_node_ports:
        return _step(
            "nodeports-connect", StepStatus.NOT_APPLICABLE, [f"{sr.service.type.value}: no node ports"]
        )
    if not plan.node_ports:
        return _step(
            "nodeports-connect", StepStatus.NOT_APPLICABLE, ["no real, ready node with an address to try"]
        )
    evidence, findings = [], []
    for ident, (node, address, port) in plan.node_ports.items():
        r = log.results[ident]
        evidence.append(f"{host_port(address, port)} (node {node}): {_outcome(r)}")
        if not r.outcome.ok:
            findings.append(
                finding(
                    "nodeport-unreachable",
                    address=host_port(address, port),
                    node=node,
                    client=client.describe,
                    outcome=_outcome(r),
                    node_port=port,
                )
            )
    return _step(
        "nodeports-connect", StepStatus.FAILED if findings else StepStatus.PASSED, evidence, findings
    )


def active_steps(
    sr: ServiceReport, target: NamedService, client: Vantage, plan: Plan, log: ProbeLog
) -> list[Step]:
    service_ip, hairpin = _service_ip_step(sr, plan, client, log)
    return [
        _dns_step(sr, target, client, log),
        _endpoints_step(plan, client, log),
        service_ip,
        _nodeports_step(sr, plan, client, log),
        hairpin,
    ]


def skipped_active(reason: str) -> list[Step]:
    """The active steps, each skipped for one reason (no permission, the probe could not start)."""
    return [_step(name, StepStatus.SKIPPED, [reason]) for name in ACTIVE]


def chain(
    sr: ServiceReport | None,
    target: NamedService,
    client: Vantage,
    active: list[Step],
    duration: float = 0.0,
) -> list[Step]:
    """The whole chain in order: the passive steps, then the active ones, skipped after the first failure."""
    steps = _passive(sr, target) + [
        Step(s.name, s.title, s.status, s.evidence, s.findings, duration) for s in active
    ]
    return _after_failure(steps)


def sentence(steps: list[Step], target: NamedService, client: Vantage, sr: ServiceReport | None) -> str:
    """One sentence: the broken link and what to do about it; or that every link holds."""
    broken = next((s for s in steps if s.status is StepStatus.FAILED), None)
    where = f"{target.namespace}/{target.service}"
    if broken is None:
        skipped = [s for s in steps if s.status is StepStatus.SKIPPED]
        if skipped:
            return (
                f"{where}: every step the API can answer holds; {len(skipped)} active step(s) were skipped "
                f"({skipped[0].evidence[0] if skipped[0].evidence else 'see above'})"
            )
        return (
            f"{where} works: {target.name} resolves and connects from {client.describe}, as do its endpoints"
        )
    first = broken.findings[0].message if broken.findings else (broken.evidence[0] if broken.evidence else "")
    advice = {
        "service-exists": "create it, or check its name and namespace",
        "selector-selects-pods": "fix the Service's selector or the pods' labels",
        "pods-ready": "fix the pods (their logs, their readiness probe) before the Service can send them traffic",
        "endpoints-match": "make the pods declare the targetPort, or wait for the EndpointSlice controller",
        "dns-resolves": "use the name the hint gives, or check the cluster DNS",
        "endpoints-connect": "make the app listen on 0.0.0.0 at the targetPort, or point targetPort at the "
        "port it listens on",
        "service-ip-connects": f"check kube-proxy on node {client.node or '?'} (running, and its rules)",
        "nodeports-connect": "check kube-proxy on that node (running, nodePortAddresses) and the node's firewall",
        "hairpin": "enable hairpin mode on the node's bridge (kubelet hairpinMode, CNI hairpinMode)",
    }[broken.name]
    if any(f.code == "endpoint-refused" for f in broken.findings):
        advice += (
            " (a port-forward to the pod still connects when the app listens on 127.0.0.1 only: it reaches "
            "the pod's loopback, which no other pod can)"
        )
    return f'{where} is broken at "{broken.title}": {first}; {advice}'
