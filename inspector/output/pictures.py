"""Pictures: a report as a Graphviz graph, Service -> port -> EndpointSlice -> pod -> node.

Why it exists: "which pods does it reach, through which slices, on which nodes, and which are
missing" is what people would rather look at than read. The graph is written in DOT from the report
alone (what is drawn is what `diff` says): missing endpoints are red dashed edges from the port to
the pod that should be behind it, unexpected ones orange, near-miss pods grey with the labels they
lack on their edge, not-ready pods hollow. Node names are stable (`service/NS/NAME`, `port/...`,
`slice/NS/NAME`, `pod/NS/NAME`, `node/NAME`, `address/IP`), so that tools can find them in the SVG.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable

from inspector.diagnosis.endpoints import Endpoint
from inspector.diagnosis.report import Report, ServiceReport
from inspector.errors import BadInput, InspectorError
from inspector.model.snapshot import Pod, Service, ServicePort

MISSING = 'color="red", fontcolor="red", style="dashed", penwidth=2'
UNEXPECTED = 'color="orange", fontcolor="darkorange", penwidth=2'
NEAR_MISS = 'color="grey55", fontcolor="grey40", style="dotted"'
DOT_MISSING = "-o svg needs Graphviz's `dot` on PATH (https://graphviz.org/download/); -o dot needs nothing"


def quoted(text: str) -> str:
    """A DOT string: double quotes, with its quotes and backslashes escaped; line breaks as \\n."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class _Graph:
    def __init__(self) -> None:
        self.nodes: dict[str, str] = {}  # name -> attributes, in the order first met
        self.edges: dict[tuple[str, str, str], str] = {}  # (tail, head, label) -> attributes

    def node(self, name: str, attributes: str) -> str:
        self.nodes.setdefault(name, attributes)
        return name

    def edge(self, tail: str, head: str, attributes: str = "", label: str = "") -> None:
        self.edges.setdefault((tail, head, label), attributes)

    def text(self) -> str:
        lines = [
            'digraph "services" {',
            '  rankdir="LR";',
            '  node [fontname="Helvetica", fontsize=10];',
            '  edge [fontname="Helvetica", fontsize=9];',
        ]
        lines += [f"  {quoted(n)} [{a}];" for n, a in self.nodes.items()]
        for (tail, head, label), attributes in self.edges.items():
            attrs = ", ".join(x for x in (f"label={quoted(label)}" if label else "", attributes) if x)
            lines.append(f"  {quoted(tail)} -> {quoted(head)}" + (f" [{attrs}]" if attrs else "") + ";")
        lines.append("}")
        return "\n".join(lines)


def _port_name(svc: Service, port: ServicePort) -> str:
    return f"port/{svc.namespace}/{svc.name}/{port.name or port.port}/{port.protocol}"


def _port_of(svc: Service, e: Endpoint) -> ServicePort | None:
    return next(
        (p for p in svc.ports if (p.name or None) == (e.port_name or None) and p.protocol == e.protocol),
        None,
    )


def _pod_node(g: _Graph, pod: Pod) -> str:
    filled = pod.ready and not pod.terminating
    state = "ready" if filled else ("terminating" if pod.terminating else "not ready")
    style = 'style="filled", fillcolor="palegreen"' if filled else 'style="solid", color="darkgreen"'
    label = f"pod {pod.name}\n{pod.ip or '<no IP>'} ({state})"
    name = g.node(f"pod/{pod.namespace}/{pod.name}", f"shape=box, {style}, label={quoted(label)}")
    if pod.node:
        node = g.node(f"node/{pod.node}", f"shape=box3d, label={quoted('node ' + pod.node)}")
        g.edge(name, node, 'color="grey40"')
    return name


def _target(g: _Graph, e: Endpoint, svc: Service, pods: dict[tuple[str, str], Pod]) -> str:
    """The pod behind an endpoint, or its bare address when no pod of the snapshot explains it."""
    pod = pods.get((svc.namespace, e.pod)) if e.pod else None
    if pod is not None:
        return _pod_node(g, pod)
    label = f"address {e.ip}" + (f"\n(pod {e.pod} not found)" if e.pod else "")
    return g.node(f"address/{e.ip}", f'shape=box, color="orange", label={quoted(label)}')


def _service(g: _Graph, sr: ServiceReport, pods: dict[tuple[str, str], Pod]) -> None:
    svc = sr.service
    ip = "headless" if svc.headless else (svc.cluster_ip or svc.external_name or "")
    label = f"service {svc.namespace}/{svc.name}\n{svc.type.value} {ip}".rstrip()
    colour = {"ok": "lightblue", "warn": "gold", "error": "salmon"}[sr.status.value]
    head = g.node(
        f"service/{svc.namespace}/{svc.name}",
        f'shape=box, style="rounded,filled", fillcolor="{colour}", label={quoted(label)}',
    )
    for sp in svc.ports:
        label = f"port {sp.name}\n{sp.label}" if sp.name else f"port {sp.label}"
        g.node(_port_name(svc, sp), f"shape=ellipse, label={quoted(label)}")
        g.edge(head, _port_name(svc, sp))
    unexpected = {e.key for e in sr.facts.unexpected}
    for e in sr.actual:
        port = _port_of(svc, e)
        tail = head if port is None else _port_name(svc, port)
        if e.slice:
            slice_name = g.node(
                f"slice/{svc.namespace}/{e.slice}", f"shape=folder, label={quoted('slice ' + e.slice)}"
            )
            g.edge(tail, slice_name)
            tail = slice_name
        if e.key in unexpected and svc.selector:
            g.edge(tail, _target(g, e, svc, pods), UNEXPECTED, f"unexpected {e.address}")
        else:
            g.edge(tail, _target(g, e, svc, pods), "" if e.ready else 'style="dashed"', e.address)
    for e in sr.facts.missing:
        port = _port_of(svc, e)
        tail = head if port is None else _port_name(svc, port)
        g.edge(tail, _target(g, e, svc, pods), MISSING, f"missing {e.address}")
    for miss in sr.facts.near_misses:
        pod = miss.pod
        label = f"near miss {pod.name}\n{pod.ip or '<no IP>'}"
        name = g.node(
            f"pod/{pod.namespace}/{pod.name}",
            f'shape=box, style="filled", fillcolor="grey90", color="grey55", fontcolor="grey40", '
            f"label={quoted(label)}",
        )
        g.edge(head, name, NEAR_MISS, miss.describe())


def dot_graph(report: Report, services: Iterable[ServiceReport] | None = None) -> str:
    """The report's Services (or the given ones) as one DOT graph."""
    pods = {(p.namespace, p.name): p for p in report.snapshot.pods}
    g = _Graph()
    for sr in report.services if services is None else services:
        _service(g, sr, pods)
    return g.text()


def check_renderer() -> None:
    """Bad input, before any request, when `dot` is not on PATH."""
    if shutil.which("dot") is None:
        raise BadInput(DOT_MISSING)


def render(dot: str, fmt: str = "svg") -> str:
    """The graph rendered by Graphviz's `dot` (SVG by default)."""
    path = shutil.which("dot")
    if path is None:
        raise BadInput(DOT_MISSING)
    done = subprocess.run([path, f"-T{fmt}"], input=dot, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InspectorError(
            f"Graphviz's dot failed: {done.stderr.strip().splitlines()[0] if done.stderr else '?'}"
        )
    return done.stdout
