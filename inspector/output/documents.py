"""Documents: the JSON and YAML of every command, with the stable camelCase keys the README shows.

Why it exists: `-o json` is a contract scripts rely on, so each shape is written once, here; enum
values are written as their plain strings, which both JSON and YAML can carry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import msgspec

from inspector.diagnosis.endpoints import Endpoint
from inspector.diagnosis.readiness import WaitResult
from inspector.diagnosis.report import Report, ServiceReport
from inspector.diagnosis.routes import BackendState
from inspector.model.findings import Finding, Severity
from inspector.model.snapshot import Pod, WhatIf
from inspector.output.nodeviews import traffic_json
from inspector.output.tables import endpoint_rows


def dump(data: Any, output: str) -> str:
    if isinstance(data, Mapping):  # a lazy document (see `write_json`) made whole
        data = {k: list(v) if isinstance(v, Iterator) else v for k, v in data.items()}
    if output == "yaml":
        import yaml  # only a YAML document needs it

        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n")
    return json.dumps(data, indent=2, ensure_ascii=False)


def write_json(data: Mapping[str, Any], write: Callable[[str], object]) -> None:
    """The text `dump(data, "json")` makes, written piece by piece: a value that is an iterator (the
    services of `report_json(report, lazy=True)`) becomes JSON one element at a time, so neither the
    whole text nor every element's dict is ever held (at 2,000 Services and 20,000 pods, `diff -A -o
    json` peaked at 276 MB holding them, against 114 MB for the snapshot and the report).

    Each piece is encoded by msgspec and indented by it as `json.dumps(indent=2)` indents (the stdlib
    encoder is pure Python once indenting: 0.73 s for the 21 MB of that report, msgspec 0.04 s). The
    texts differ only in a float's exponent (1e+100 against 1e100): a report holds no float."""
    write("{")
    for i, (key, value) in enumerate(data.items()):
        write(("\n" if i == 0 else ",\n") + f"  {json.dumps(key, ensure_ascii=False)}: ")
        if isinstance(value, Iterator):
            empty = True
            for item in value:
                write(("[\n    " if empty else ",\n    ") + _indented(item, "\n    "))
                empty = False
            write("[]" if empty else "\n  ]")
        else:
            write(_indented(value, "\n  "))
    write("\n}" if data else "}")


def _indented(value: Any, newline: str) -> str:
    """`json.dumps(value, indent=2)`, every line after the first starting further in (a JSON text
    holds no raw newline but between its lines)."""
    text = msgspec.json.format(msgspec.json.encode(value), indent=2).decode()
    return text.replace("\n", newline)


def endpoint_json(e: Endpoint) -> dict[str, Any]:
    """An endpoint; one read from an EndpointSlice carries its serving and terminating conditions too."""
    out: dict[str, Any] = {
        "ip": None if e.pending else e.ip,  # a planned pod's (what-if runs): no address yet
        "port": e.port,
        "protocol": e.protocol,
        "portName": e.port_name,
        "pod": e.pod,
        "node": e.node,
        "ready": e.ready,
    }
    if e.actual:
        out |= {"serving": e.serving, "terminating": e.terminating}
    return out


def finding_json(f: Finding) -> dict[str, Any]:
    """A finding; the endpoints among its details (endpoints-missing, endpoints-unexpected) as above."""
    return {
        "code": f.code,
        "severity": f.severity.value,
        "message": f.message,
        "details": {k: _detail_json(v) for k, v in f.details.items()},
    }


def _detail_json(value: Any) -> Any:
    if isinstance(value, tuple) and value and all(isinstance(e, Endpoint) for e in value):
        return [endpoint_json(e) for e in value]
    return value


def backend_json(b: BackendState) -> dict[str, Any]:
    return {
        "kind": b.route.kind,
        "route": b.route.key,
        "where": b.backend.where,
        "service": b.backend.service_key,
        "port": b.backend.port,
        "state": b.state,
    }


def service_json(sr: ServiceReport) -> dict[str, Any]:
    svc = sr.service
    return (
        {
            "namespace": svc.namespace,
            "name": svc.name,
            "type": svc.type.value,
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
            "status": sr.status.value,
            "pods": {"selected": len(sr.expectation.selected), "ready": len(sr.expectation.ready_pods)},
            "expected": [endpoint_json(e) for e in sr.expected],
            "actual": [endpoint_json(e) for e in sr.actual],
            "missing": [endpoint_json(e) for e in sr.facts.missing],
            "unexpected": [endpoint_json(e) for e in sr.facts.unexpected],
            "findings": [finding_json(f) for f in sr.findings],
        }
        | ({"routes": [backend_json(b) for b in sr.routes]} if sr.routes else {})
        | _per_node(sr)
    )


def _per_node(sr: ServiceReport) -> dict[str, Any]:
    traffic = traffic_json(sr)
    return {} if traffic is None else {"trafficPerNode": traffic}


def planned_json(sr: ServiceReport) -> dict[str, Any]:
    """What a what-if run adds to a Service: where it and its pods come from (null: the cluster)."""
    return {
        "source": sr.service.source,
        "planned": sr.facts.planned,
        "selectedPods": [{"name": p.name, "source": p.source} for p in sr.expectation.selected],
    }


def what_if_json(what_if: WhatIf) -> dict[str, Any]:
    return {
        "offline": what_if.offline,
        "objects": [
            {
                "kind": o.kind,
                "namespace": o.namespace,
                "name": o.name,
                "source": o.source,
                "document": o.document,
                "action": o.action,
            }
            for o in what_if.objects
        ],
        "touched": sorted(what_if.touched),
    }


def summary_json(report: Report) -> dict[str, int]:
    return {
        "services": len(report.services),
        "errors": report.count(Severity.ERROR),
        "warnings": report.count(Severity.WARNING),
        "infos": report.count(Severity.INFO),
    }


def report_json(report: Report, lazy: bool = False) -> dict[str, Any]:
    """The report's document; with `lazy`, its services as an iterator, for `write_json`."""
    what_if = report.snapshot.what_if
    services = (
        service_json(s) | planned_json(s) if what_if is not None else service_json(s) for s in report.services
    )
    out: dict[str, Any] = {
        "services": services if lazy else list(services),
        "summary": summary_json(report),
    }
    if report.routes:
        out["routes"] = [backend_json(b) for b in report.routes]
    if report.cluster_findings:
        out["findings"] = [finding_json(f) for f in report.cluster_findings]
    if report.notes:
        out["notes"] = list(report.notes)
    if what_if is not None:
        out["whatIf"] = what_if_json(what_if)
    return out


def endpoints_json(report: Report) -> dict[str, Any]:
    return {
        "services": [
            {
                "namespace": sr.service.namespace,
                "name": sr.service.name,
                "endpoints": [
                    {
                        "state": state.value,
                        "expected": endpoint_json(e) if e else None,
                        "actual": endpoint_json(a) if a else None,
                    }
                    for state, e, a in endpoint_rows(sr)
                ],
            }
            for sr in report.services
        ]
    }


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


def wait_json(result: WaitResult) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "elapsed": round(result.elapsed, 3),
        "events": result.events,
        "services": result.drift,
    }
