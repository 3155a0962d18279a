"""Node views: per node, the endpoints that node's kube-proxy sends a Service's traffic to.

Why it exists: the detail view of `services NAME` answers "does it work from every node?" from the
API alone, with the node model (diagnosis.nodetraffic) deciding and this module only laying it out.
The table appears where the answer depends on the node: a traffic policy Local, topology, or nodes
that simply disagree; for any other Service every node uses every endpoint and a table would only
repeat that. Simulated (kwok) nodes run no kube-proxy and are left out.
"""

from __future__ import annotations

from typing import Any

from inspector.diagnosis.nodetraffic import NodeTraffic, ProxyAction, ProxyDecision, node_traffic
from inspector.diagnosis.report import ServiceReport

MAX_ENDPOINTS = 4


def verdict_text(verdict: ProxyDecision | None) -> str:
    if verdict is None:
        return "-"
    if verdict.action is ProxyAction.DROP:
        return "DROPPED (no local endpoint)"
    if verdict.action is ProxyAction.REJECT:
        return "REJECTED (no endpoint)"
    shown = ", ".join(verdict.addresses[:MAX_ENDPOINTS])
    more = len(verdict.addresses) - MAX_ENDPOINTS
    return shown + (f" and {more} more" if more > 0 else "")


def _depends_on_node(sr: ServiceReport, traffic: tuple[NodeTraffic, ...]) -> bool:
    svc = sr.service
    if svc.internal_traffic_policy == "Local" or svc.external_traffic_policy == "Local" or svc.asked_topology:
        return True
    answers = {tuple((p.cluster_ip, p.external) for p in nt.ports) for nt in traffic}
    return len(answers) > 1


def traffic_rows(traffic: tuple[NodeTraffic, ...]) -> tuple[list[list[str]], list[str]]:
    """NODE, ZONE, [PORT,] CLUSTER-IP (from a pod on the node), [EXTERNAL (from outside, through the
    node's node port or the load balancer)], TOPOLOGY."""
    several_ports = any(len(nt.ports) > 1 for nt in traffic)
    dual_stack = len({p.family for nt in traffic for p in nt.ports}) > 1
    external = any(p.external is not None for nt in traffic for p in nt.ports)
    headers = ["NODE", "ZONE", *(["PORT"] if several_ports else []), "FROM-A-POD-THERE"]
    headers += [*(["FROM-OUTSIDE"] if external else []), "TOPOLOGY"]
    rows = []
    for nt in traffic:
        for p in nt.ports:
            label = (p.port.name or str(p.port.port)) + (f" ({p.family})" if dual_stack else "")
            row = [nt.node, nt.zone or "<none>", *([label] if several_ports else [])]
            row.append(verdict_text(p.cluster_ip))
            if external:
                row.append(verdict_text(p.external))
            row.append(p.topology.value or "-")
            rows.append(row)
    return rows, headers


def traffic_per_node(sr: ServiceReport) -> tuple[str, list[list[str]], list[str]] | None:
    """(title, rows, headers) of the detail view's per-node section, or None where every node does
    the same."""
    nodes = [n for n in sr.facts.nodes if not n.simulated]
    traffic = node_traffic(sr.service, sr.facts.slices, nodes)
    if not traffic or not _depends_on_node(sr, traffic):
        return None
    rows, headers = traffic_rows(traffic)
    title = "Traffic per node (the endpoints each node's kube-proxy uses)"
    if sr.service.session_affinity == "ClientIP":
        title += "; sessionAffinity ClientIP keeps a client on one of them"
    return title, rows, headers


def _decision_json(d: ProxyDecision | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"action": d.action.value, "endpoints": list(d.targets), "snat": d.snat, "reason": d.reason}


def traffic_json(sr: ServiceReport) -> list[dict[str, Any]] | None:
    """The per-node section as JSON (`trafficPerNode`), for the Services whose traffic depends on the
    node by their own spec (a traffic policy Local, topology asked for); None for the others, so that a
    report of thousands of Services pays nothing for it."""
    svc = sr.service
    if not (
        svc.internal_traffic_policy == "Local" or svc.external_traffic_policy == "Local" or svc.asked_topology
    ):
        return None
    nodes = [n for n in sr.facts.nodes if not n.simulated]
    return [
        {
            "node": nt.node,
            "zone": nt.zone,
            "ports": [
                {
                    "port": p.port.name or p.port.port,
                    "family": p.family,
                    "topology": p.topology.value or None,
                    "fromAPodThere": _decision_json(p.cluster_ip),
                    "fromOutside": _decision_json(p.external),
                }
                for p in nt.ports
            ],
        }
        for nt in node_traffic(svc, sr.facts.slices, nodes)
    ]
