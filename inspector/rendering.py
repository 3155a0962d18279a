"""Rendering: reports as kubectl-like tables (via tabulate), detail views, JSON and YAML.

Why it exists: the decisions are made in `inspecting`; this module only lays them out. The JSON of
`diff` is the contract of DESIGN.md (stable camelCase keys); tables fit 120 columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import tabulate as tabulate_module
import yaml
from tabulate import tabulate

from inspector.endpoints import Endpoint
from inspector.findings import Finding
from inspector.inspecting import Report, ServiceReport
from inspector.selectors import format_selector
from inspector.snapshot import Pod, Service

SELECTOR_WIDTH = 26
LABELS_WIDTH = 30
SERVICES_WIDTH = 26
# labels the control plane adds to every pod; they only crowd the table (wide and JSON keep them)
CONTROLLER_LABELS = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "pod-template-generation",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
    }
)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """kubectl's layout: columns two spaces apart, no padding beyond that (tabulate pads headers by
    MIN_PADDING, which only its "pretty" format turns off)."""
    if not rows:
        return ""
    padding, tabulate_module.MIN_PADDING = tabulate_module.MIN_PADDING, 0
    try:
        return tabulate(rows, headers=list(headers), tablefmt="plain", disable_numparse=True)
    finally:
        tabulate_module.MIN_PADDING = padding


def dump(data: Any, output: str) -> str:
    if output == "yaml":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n")
    return json.dumps(data, indent=2, ensure_ascii=False)


# ------------------------------------------------------------------------- JSON shapes


def service_json(sr: ServiceReport) -> dict[str, Any]:
    svc = sr.service
    return {
        "namespace": svc.namespace,
        "name": svc.name,
        "type": svc.type,
        "headless": svc.headless,
        "clusterIP": svc.cluster_ip,
        "selector": dict(svc.selector) if svc.selector else None,
        "ports": [
            {
                "name": p.name,
                "port": p.port,
                "protocol": p.protocol,
                "targetPort": p.target,
                "nodePort": p.node_port,
            }
            for p in svc.ports
        ],
        "externalName": svc.external_name,
        "status": sr.status,
        "pods": {"selected": len(sr.expectation.selected), "ready": len(sr.expectation.ready_pods)},
        "expected": [e.as_json() for e in sr.expected],
        "actual": [e.as_json(actual=True) for e in sr.actual],
        "missing": [e.as_json() for e in sr.facts.missing],
        "unexpected": [e.as_json(actual=True) for e in sr.facts.unexpected],
        "findings": [f.as_json() for f in sr.findings],
    }


def report_json(report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {
        "services": [service_json(s) for s in report.services],
        "summary": report.summary(),
    }
    if report.cluster_findings:
        out["findings"] = [f.as_json() for f in report.cluster_findings]
    if report.notes:
        out["notes"] = list(report.notes)
    return out


# ------------------------------------------------------------------------- services


def _ports(svc: Service) -> str:
    return ",".join(p.label for p in svc.ports) or "<none>"


def _cluster_ip(svc: Service) -> str:
    if svc.type == "ExternalName":
        return "<none>"
    return "None (headless)" if svc.headless else (svc.cluster_ip or "<none>")


def _endpoint_count(sr: ServiceReport) -> str:
    if sr.service.type == "ExternalName":
        return "-"
    ready = sum(1 for e in sr.actual if e.ready)
    return f"{ready}/{len(sr.expected)}" if sr.service.selector else f"{ready} (manual)"


def across_namespaces(report: Report) -> bool:
    """Whether tables need a NAMESPACE column: as kubectl, only when more than one namespace is read."""
    namespaces = report.snapshot.namespaces
    return namespaces is None or len(namespaces) > 1


def _without_namespace(rows: list[list[str]], headers: list[str]) -> tuple[list[list[str]], list[str]]:
    return [r[1:] for r in rows], headers[1:]


def services_table(report: Report, wide: bool = False) -> str:
    headers = ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "PORTS", "SELECTOR", "PODS", "ENDPOINTS", "STATUS"]
    if wide:
        headers += ["EXTERNAL", "FINDINGS"]
    rows = []
    for sr in report.services:
        svc, exp = sr.service, sr.expectation
        pods = (
            f"{len(exp.ready_pods)}/{len(exp.selected)}"
            if svc.selector and svc.type != "ExternalName"
            else "-"
        )
        row = [
            svc.namespace,
            svc.name,
            svc.type,
            _cluster_ip(svc),
            _ports(svc),
            _clip(format_selector(svc.selector) or "<none>", SELECTOR_WIDTH),
            pods,
            _endpoint_count(sr),
            sr.status,
        ]
        if wide:
            external = (
                svc.external_name
                or ",".join(svc.load_balancer_ingress)
                or ("<pending>" if svc.type == "LoadBalancer" else "")
            )
            row += [external, ",".join(sorted({f.code for f in sr.findings}))]
        rows.append(row)
    if not across_namespaces(report):
        rows, headers = _without_namespace(rows, headers)
    return table(rows, headers)


def _section(title: str, body: str) -> str:
    return f"{title}:\n" + (
        "\n".join("  " + line for line in body.splitlines()) if body.strip() else "  <none>"
    )


def service_detail(sr: ServiceReport) -> str:
    svc, exp = sr.service, sr.expectation
    head = [
        f"Service:     {svc.namespace}/{svc.name}",
        f"Type:        {svc.type}" + (" (headless)" if svc.headless else ""),
        f"Cluster IP:  {_cluster_ip(svc)}",
    ]
    if svc.external_name:
        head.append(f"External:    {svc.external_name} (DNS CNAME)")
    if svc.type == "LoadBalancer":
        head.append(f"Ingress:     {', '.join(svc.load_balancer_ingress) or '<pending>'}")
    head += [
        f"Ports:       {_ports(svc)}",
        f"Selector:    {format_selector(svc.selector) or '<none>'}",
        f"Status:      {sr.status}",
    ]
    parts = ["\n".join(head)]
    if svc.type != "ExternalName":
        pod_rows = [[p.name, p.ip or "<none>", _ready(p), p.node or "<none>"] for p in exp.selected]
        parts.append(
            _section(
                f"Selected pods ({len(exp.selected)}, {len(exp.ready_pods)} ready)",
                table(pod_rows, ["POD", "IP", "READY", "NODE"]),
            )
        )
        if sr.facts.near_misses:
            rows = [[m.pod.name, m.describe()] for m in sr.facts.near_misses]
            parts.append(_section("Near-miss pods (labels they lack)", table(rows, ["POD", "DIFFERENCE"])))
        if exp.resolutions:
            rows = [
                [
                    r.pod.name,
                    f"{r.service_port.port}/{r.service_port.protocol}",
                    str(r.service_port.target),
                    (f"{r.container_port} ({r.container})" if r.container else str(r.container_port))
                    if r.resolved
                    else "UNRESOLVED",
                    "yes" if r.declared else "no",
                ]
                for r in exp.resolutions
            ]
            parts.append(
                _section(
                    "Port mapping per pod (port -> targetPort -> containerPort)",
                    table(rows, ["POD", "PORT", "TARGET-PORT", "CONTAINER-PORT", "DECLARED"]),
                )
            )
        if sr.node_ports:
            rows = [
                [n.node, n.ip or "<none>", f"{n.node_port}/{n.protocol}", str(n.port)] for n in sr.node_ports
            ]
            parts.append(
                _section("Node ports (every node)", table(rows, ["NODE", "NODE-IP", "NODE-PORT", "PORT"]))
            )
        parts.append(_section("Endpoints, expected vs actual", endpoints_rows_text([sr], with_service=False)))
    parts.append(_section("Findings", findings_text(sr.findings)))
    return "\n\n".join(parts)


def _ready(p: Pod) -> str:
    if p.terminating:
        return "terminating"
    return "true" if p.ready else "false"


def findings_text(findings: Iterable[Finding]) -> str:
    return "\n".join(f"{f.severity.value.upper():7} {f.code}: {f.message}" for f in findings)


# ------------------------------------------------------------------------- endpoints


def _conditions(e: Endpoint) -> str:
    flags = [
        name
        for name, on in (("ready", e.ready), ("serving", e.serving), ("terminating", e.terminating))
        if on
    ]
    return ",".join(flags) or "not-ready"


def endpoint_rows(sr: ServiceReport) -> list[tuple[str, Endpoint | None, Endpoint | None]]:
    """(state, expected, actual) for every endpoint key of the Service, expected ones first."""
    actual = {e.key: e for e in sr.actual}
    rows: list[tuple[str, Endpoint | None, Endpoint | None]] = []
    for e in sr.expected:
        a = actual.pop(e.key, None)
        state = "missing" if a is None else ("ok" if a.ready == e.ready else "conditions-differ")
        rows.append((state, e, a))
    manual = not sr.service.selector
    rows += [("manual" if manual else "unexpected", None, a) for a in actual.values()]
    return rows


def endpoints_rows_text(
    reports: Iterable[ServiceReport], with_service: bool = True, with_namespace: bool = True
) -> str:
    headers = (["SERVICE"] if with_service else []) + [
        "ADDRESS",
        "PORT-NAME",
        "EXPECTED",
        "ACTUAL",
        "POD",
        "NODE",
        "STATE",
    ]
    rows = []
    for sr in reports:
        for state, e, a in endpoint_rows(sr):
            ep = e or a
            assert ep is not None
            row = [
                ep.address,
                ep.port_name or "-",
                "ready" if e and e.ready else ("not-ready" if e else "-"),
                _conditions(a) if a else "-",
                ep.pod or "-",
                ep.node or "-",
                state,
            ]
            name = sr.service.key if with_namespace else sr.service.name
            rows.append(([name] if with_service else []) + row)
    return table(rows, headers)


def endpoints_json(report: Report) -> dict[str, Any]:
    return {
        "services": [
            {
                "namespace": sr.service.namespace,
                "name": sr.service.name,
                "endpoints": [
                    {
                        "state": state,
                        "expected": e.as_json() if e else None,
                        "actual": a.as_json(actual=True) if a else None,
                    }
                    for state, e, a in endpoint_rows(sr)
                ],
            }
            for sr in report.services
        ]
    }


# ------------------------------------------------------------------------- pods


def pods_with_services(report: Report, pods: Iterable[Pod]) -> list[tuple[Pod, list[str]]]:
    selecting: dict[tuple[str, str], list[str]] = {}
    for sr in report.services:
        for p in sr.expectation.selected:
            selecting.setdefault((p.namespace, p.name), []).append(sr.service.name)
    return [(p, selecting.get((p.namespace, p.name), [])) for p in pods]


def pods_table(rows: list[tuple[Pod, list[str]]], wide: bool = False, with_namespace: bool = True) -> str:
    headers = ["NAMESPACE", "NAME", "IP", "READY", "NODE", "LABELS", "SERVICES"]
    out: list[list[str]] = []
    for p, services in rows:
        shown = p.labels if wide else {k: v for k, v in p.labels.items() if k not in CONTROLLER_LABELS}
        labels = format_selector(shown) or "<none>"
        selecting = ",".join(services) or "<none>"
        out.append(
            [
                p.namespace,
                p.name,
                p.ip or "<none>",
                _ready(p),
                p.node or "<none>",
                labels if wide else _clip(labels, LABELS_WIDTH),
                selecting if wide else _clip(selecting, SERVICES_WIDTH),
            ]
        )
    if not with_namespace:
        out, headers = _without_namespace(out, headers)
    return table(out, headers)


def pods_json(rows: list[tuple[Pod, list[str]]]) -> dict[str, Any]:
    return {
        "pods": [
            {
                "namespace": p.namespace,
                "name": p.name,
                "ip": p.ip,
                "ready": p.ready,
                "terminating": p.terminating,
                "phase": p.phase,
                "node": p.node,
                "labels": dict(p.labels),
                "services": services,
            }
            for p, services in rows
        ]
    }


# ------------------------------------------------------------------------- diff


def diff_text(report: Report) -> str:
    return report.explain()


def notes_text(report: Report) -> str:
    return "\n".join(f"note: {n}" for n in report.notes)
