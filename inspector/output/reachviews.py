"""How reachability and routes look: `reach`'s verdict table, and the sections of a Service's
detail view that list the policies isolating its pods and the routes leading to it."""

from __future__ import annotations

from typing import Any

from inspector.diagnosis.policyverdicts import PolicyVerdict
from inspector.diagnosis.reach import Reachability
from inspector.diagnosis.routes import BackendState
from inspector.output.tables import table


def policy_verdict_json(v: PolicyVerdict) -> dict[str, Any]:
    return {
        "allowed": v.allowed,
        "policies": [str(r) for r in v.selecting],
        "rule": None if v.admitted_by is None else str(v.admitted_by),
        "message": v.message,
    }


def reach_json(reach: Reachability) -> dict[str, Any]:
    return {
        "service": reach.service.key,
        "client": reach.client.describe(),
        "clientPolicies": [str(r) for r in reach.client_policies],
        "endpoints": [
            {
                "pod": e.endpoint.pod,
                "ip": e.endpoint.ip,
                "port": e.endpoint.port,
                "protocol": e.endpoint.protocol,
                "portName": e.endpoint.port_name,
                "allowed": e.allowed,
                "ingress": policy_verdict_json(e.ingress),
                "egress": policy_verdict_json(e.egress),
            }
            for e in reach.endpoints
        ],
        "dns": None if reach.dns is None else policy_verdict_json(reach.dns),
        "reachable": reach.reachable,
    }


def _refs(refs: tuple[Any, ...]) -> str:
    return ",".join(str(r) for r in refs) or "<none>"


def reach_text(reach: Reachability) -> str:
    svc = reach.service
    lines = [
        f"Service:  {svc.key} ({svc.type.value}{' ' + svc.cluster_ip if svc.cluster_ip else ''})",
        f"Client:   {reach.client.describe()}",
        f"Client's egress policies: {_refs(reach.client_policies)}",
        "",
    ]
    if not reach.endpoints:
        lines.append("No ready endpoint: nothing to reach (see `services` for why).")
    else:
        rows = [
            [
                e.endpoint.address,
                e.endpoint.pod or "<none>",
                f"{e.endpoint.port_name + ' ' if e.endpoint.port_name else ''}{e.endpoint.port}/{e.endpoint.protocol}",
                _refs(e.ingress.selecting),
                "allowed" if e.allowed else "DENIED",
            ]
            for e in reach.endpoints
        ]
        lines.append(table(rows, ["ENDPOINT", "POD", "PORT", "INGRESS-POLICIES", "VERDICT"]))
        lines += ["", "Why:"]
        for e in reach.endpoints:
            where = f"{e.endpoint.pod} {e.endpoint.port}/{e.endpoint.protocol}"
            lines.append(f"  {where} ingress: {e.ingress.message}")
            lines.append(f"  {where} egress:  {e.egress.message}")
    lines.append("")
    if reach.dns is None:
        lines.append("DNS:      not judged (no ready kube-system/kube-dns pod in the snapshot)")
    else:
        lines.append(f"DNS:      {reach.dns.message}")
    lines.append(f"Reachable: {'yes' if reach.reachable else 'no'}")
    return "\n".join(lines)


def policies_section(reach: Reachability) -> str:
    """The policies isolating each ready endpoint's pod, and the verdict for a pod of the Service's
    own namespace (without labels)."""
    rows = [
        [e.endpoint.address, e.endpoint.pod or "<none>", _refs(e.ingress.selecting), e.ingress.message]
        for e in reach.endpoints
    ]
    return table(rows, ["ENDPOINT", "POD", "INGRESS-POLICIES", "VERDICT-FROM-OWN-NAMESPACE"])


def policies_for_client(reach: Reachability) -> str:
    """The policies isolating each ready endpoint's pod, and the ingress verdict for the client."""
    rows = [
        [e.endpoint.address, e.endpoint.pod or "<none>", _refs(e.ingress.selecting), e.ingress.message]
        for e in reach.endpoints
    ]
    return table(rows, ["ENDPOINT", "POD", "INGRESS-POLICIES", "VERDICT"])


def detail_sections(
    routes: tuple[BackendState, ...] | list[BackendState], policies: Reachability | None
) -> list[tuple[str, str]]:
    """The sections (title, body) of a Service's detail view on how it is reached: the routes leading
    to it and the NetworkPolicies isolating its ready endpoints."""
    sections = []
    if routes:
        sections.append(("Routes leading here", routes_rows(routes, with_service=False)))
    if policies is not None:
        sections.append(
            (
                "NetworkPolicies on the ready endpoints (reach --from-namespace NS for another client)",
                policies_section(policies),
            )
        )
    return sections


def routes_rows(states: tuple[BackendState, ...] | list[BackendState], with_service: bool) -> str:
    rows = [
        [
            b.route.kind,
            b.route.key,
            b.backend.where,
            *([b.backend.service_key] if with_service else []),
            "<none>" if b.backend.port is None else str(b.backend.port),
            b.state,
        ]
        for b in states
    ]
    headers = ["KIND", "ROUTE", "RULE", *(["SERVICE"] if with_service else []), "PORT", "STATE"]
    return table(rows, headers)
