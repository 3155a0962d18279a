"""Tables: reports as kubectl lays them out, and the detail view of one Service.

Why it exists: the decisions are made in the diagnosis; this module only lays them out as kubectl's
printers do (columns three spaces apart, no other padding, headers left out on request), drawn by
tabulate in a format of its own (`KUBECTL`); tables fit 120 columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from tabulate import DataRow, TableFormat, tabulate

from inspector.diagnosis.endpoints import Endpoint
from inspector.diagnosis.report import Report, ServiceReport
from inspector.model.selectors import format_selector
from inspector.model.snapshot import Pod, Service, ServiceType
from inspector.output.nodeviews import traffic_per_node
from inspector.output.text import clip, findings_text

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


GAP = "   "  # kubectl's printers (a tabwriter with padding 3) put three spaces between columns

# kubectl's layout as tabulate's own format: no rules, no padding inside a cell, columns GAP apart
# (tabulate strips each row's trailing blanks itself)
KUBECTL = TableFormat(
    lineabove=None,
    linebelowheader=None,
    linebetweenrows=None,
    linebelow=None,
    headerrow=DataRow("", GAP, ""),
    datarow=DataRow("", GAP, ""),
    padding=0,
    with_header_hide=None,
)


def table(rows: Sequence[Sequence[str]], headers: Sequence[str], no_headers: bool = False) -> str:
    """kubectl's layout: left-aligned columns three spaces apart, no padding beyond that, no trailing
    blanks; without the header line when `no_headers` (columns still as wide as the headers would
    make them, as kubectl's `--no-headers` does not either); empty when there are no rows.

    The header goes to tabulate as the first row of data: as headers, tabulate would widen every
    column by two (its minimum padding for headers)."""
    if not rows:
        return ""
    text = tabulate(
        [list(headers), *rows],
        tablefmt=KUBECTL,
        disable_numparse=True,  # "80" and "1/3" are text, left-aligned like every cell
        stralign="left",
    )
    return text.split("\n", 1)[1] if no_headers else text


# ------------------------------------------------------------------------- services


def _ports(svc: Service) -> str:
    return ",".join(p.label for p in svc.ports) or "<none>"


def _cluster_ip(svc: Service) -> str:
    if svc.type is ServiceType.EXTERNAL_NAME:
        return "<none>"
    unallocated = "<pending>" if svc.source else "<none>"  # a what-if run's new Service: allocated on apply
    return "None (headless)" if svc.headless else (svc.cluster_ip or unallocated)


def _endpoint_count(sr: ServiceReport) -> str:
    if sr.service.type is ServiceType.EXTERNAL_NAME:
        return "-"
    if planned(sr):  # what the controller will write once the files are applied: not read yet
        return f"-/{len(sr.expected)}" if sr.service.selector else "- (manual)"
    ready = sum(1 for e in sr.actual if e.ready)
    return f"{ready}/{len(sr.expected)}" if sr.service.selector else f"{ready} (manual)"


def planned(sr: ServiceReport) -> bool:
    """A Service a what-if run's files touch (every Service, offline)."""
    return sr.facts.planned


def source(sr: ServiceReport) -> str:
    """Where a what-if run's Service and its pods come from: a file, or the cluster."""
    svc_from = sr.service.source or "cluster"
    pods = sorted({p.source for p in sr.expectation.selected if p.source})
    return svc_from + (f" (pods: {', '.join(pods)})" if pods and pods != [svc_from] else "")


def across_namespaces(report: Report) -> bool:
    """Whether tables need a NAMESPACE column: as kubectl, only when more than one namespace is read."""
    namespaces = report.snapshot.namespaces
    return namespaces is None or len(namespaces) > 1


def _without_namespace(rows: list[list[str]], headers: list[str]) -> tuple[list[list[str]], list[str]]:
    return [r[1:] for r in rows], headers[1:]


def services_table(report: Report, wide: bool = False, no_headers: bool = False) -> str:
    rows, headers = services_rows(report, wide)
    if not across_namespaces(report):
        rows, headers = _without_namespace(rows, headers)
    return table(rows, headers, no_headers)


def services_rows(report: Report, wide: bool = False) -> tuple[list[list[str]], list[str]]:
    """The rows of `services_table` and its headers, NAMESPACE first."""
    headers = ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "PORTS", "SELECTOR", "PODS", "ENDPOINTS", "STATUS"]
    what_if = report.snapshot.what_if is not None
    if what_if:
        headers.append("SOURCE")
    if wide:
        headers += ["EXTERNAL", "FINDINGS"]
    rows = []
    for sr in report.services:
        svc, exp = sr.service, sr.expectation
        pods = f"{len(exp.ready_pods)}/{len(exp.selected)}" if svc.selects_pods else "-"
        row = [
            svc.namespace,
            svc.name,
            svc.type.value,
            _cluster_ip(svc),
            _ports(svc),
            clip(format_selector(svc.selector) or "<none>", SELECTOR_WIDTH),
            pods,
            _endpoint_count(sr),
            sr.status.value,
        ]
        if what_if:
            row.append(source(sr))
        if wide:
            external = (
                svc.external_name
                or ",".join(svc.load_balancer_ingress)
                or ("<pending>" if svc.type is ServiceType.LOAD_BALANCER else "")
            )
            row += [external, ",".join(sorted({f.code for f in sr.findings}))]
        rows.append(row)
    return rows, headers


def service_names(reports: Iterable[ServiceReport]) -> str:
    """`-o name`: one `service/<name>` a line, as `kubectl get services -o name`."""
    return "\n".join(f"service/{sr.service.name}" for sr in reports)


def _section(title: str, body: str) -> str:
    return f"{title}:\n" + (
        "\n".join("  " + line for line in body.splitlines()) if body.strip() else "  <none>"
    )


def service_detail(sr: ServiceReport, sections: Sequence[tuple[str, str]] = ()) -> str:
    """The detail view; `sections` (title, body) come before the findings."""
    svc, exp = sr.service, sr.expectation
    head = [
        f"Service:     {svc.namespace}/{svc.name}",
        f"Type:        {svc.type.value}" + (" (headless)" if svc.headless else ""),
        f"Cluster IP:  {_cluster_ip(svc)}",
    ]
    if svc.external_name:
        head.append(f"External:    {svc.external_name} (DNS CNAME)")
    if svc.type is ServiceType.LOAD_BALANCER:
        head.append(f"Ingress:     {', '.join(svc.load_balancer_ingress) or '<pending>'}")
    head += [
        f"Ports:       {_ports(svc)}",
        f"Selector:    {format_selector(svc.selector) or '<none>'}",
        f"Status:      {sr.status.value}",
    ]
    if planned(sr):
        head.append(f"Source:      {source(sr)} (what-if: only findings judged from manifests)")
    parts = ["\n".join(head)]
    if svc.type is not ServiceType.EXTERNAL_NAME:
        from_files = any(p.planned for p in exp.selected)
        pod_rows = [
            [p.name, p.ip or ("<pending>" if p.planned else "<none>"), _ready(p), p.node or "<none>"]
            + ([p.source or "cluster"] if from_files else [])
            for p in exp.selected
        ]
        parts.append(
            _section(
                f"Selected pods ({len(exp.selected)}, {len(exp.ready_pods)} ready)",
                table(pod_rows, ["POD", "IP", "READY", "NODE"] + (["SOURCE"] if from_files else [])),
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
        if (per_node := traffic_per_node(sr)) is not None:
            title, rows, headers = per_node
            parts.append(_section(title, table(rows, headers)))
        parts.append(_section("Endpoints, expected vs actual", endpoints_rows_text([sr], with_service=False)))
    parts += [_section(title, body) for title, body in sections]
    parts.append(_section("Findings", findings_text(sr.findings)))
    return "\n\n".join(parts)


def _ready(p: Pod) -> str:
    if p.terminating:
        return "terminating"
    return "true" if p.ready else "false"


# ------------------------------------------------------------------------- endpoints


def _conditions(e: Endpoint) -> str:
    flags = [
        name
        for name, on in (("ready", e.ready), ("serving", e.serving), ("terminating", e.terminating))
        if on
    ]
    return ",".join(flags) or "not-ready"


class RowState(StrEnum):
    """The STATE column of the endpoints table (and `state` in its JSON)."""

    OK = "ok"
    MISSING = "missing"
    UNEXPECTED = "unexpected"
    CONDITIONS_DIFFER = "conditions-differ"
    MANUAL = "manual"  # a selectorless Service's endpoints: nothing to expect them from


EndpointRow = tuple[RowState, Endpoint | None, Endpoint | None]


def _compared(expected: Endpoint, actual: Endpoint) -> RowState:
    return RowState.OK if actual.ready == expected.ready else RowState.CONDITIONS_DIFFER


def endpoint_rows(sr: ServiceReport) -> list[EndpointRow]:
    """(state, expected, actual) for every endpoint key of the Service, expected ones first."""
    actual = {e.key: e for e in sr.actual}
    rows: list[EndpointRow] = []
    for e in sr.expected:
        a = actual.pop(e.key, None)
        state = RowState.MISSING if a is None else _compared(e, a)
        rows.append((state, e, a))
    leftover = RowState.MANUAL if not sr.service.selector else RowState.UNEXPECTED
    rows += [(leftover, None, a) for a in actual.values()]
    return rows


def endpoints_rows_text(
    reports: Iterable[ServiceReport],
    with_service: bool = True,
    with_namespace: bool = True,
    no_headers: bool = False,
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
                state.value,
            ]
            name = sr.service.key if with_namespace else sr.service.name
            rows.append(([name] if with_service else []) + row)
    return table(rows, headers, no_headers)


def slice_names(reports: Iterable[ServiceReport]) -> str:
    """`-o name` of endpoints: each Service's EndpointSlices (or legacy Endpoints), as kubectl names them."""
    names = [
        f"endpoints/{s.name}" if s.legacy else f"endpointslice.discovery.k8s.io/{s.name}"
        for sr in reports
        for s in sr.facts.slices
    ]
    return "\n".join(dict.fromkeys(names))


# ------------------------------------------------------------------------- pods


def pods_table(
    rows: list[tuple[Pod, list[str]]],
    wide: bool = False,
    with_namespace: bool = True,
    no_headers: bool = False,
) -> str:
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
                labels if wide else clip(labels, LABELS_WIDTH),
                selecting if wide else clip(selecting, SERVICES_WIDTH),
            ]
        )
    if not with_namespace:
        out, headers = _without_namespace(out, headers)
    return table(out, headers, no_headers)
