"""Rendering of the DNS commands: `resolve` (every query of the search walk), `dns` (the oracle) and
`dns --offline -f` (the records the files will have, nothing asked).

Why it exists: the decisions are made in `inspector.dns.oracle`; this module only lays them out, as text and
as the JSON the README documents (`resolve -o json`: name, fromNamespace, searchList, ndots, attempts,
answer, expected, match; plus the server and how it was found).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inspector.diagnosis.report import Report
from inspector.dns.answers import Answer
from inspector.dns.oracle import RecordCheck, Resolution
from inspector.dns.querynames import Nameserver
from inspector.dns.records import CLUSTER, Record
from inspector.dns.replicas import Replica
from inspector.dns.resolvconf import ndots_explanation
from inspector.model.findings import Finding, Severity
from inspector.output.documents import finding_json, what_if_json
from inspector.output.tables import table
from inspector.output.text import clip, findings_text, what_if_rows


def answer_json(a: Answer) -> dict[str, Any]:
    return {"qname": a.qname, "qtype": a.qtype, "rcode": a.rcode, "answers": list(a.answers)}


def _server_json(server: Nameserver) -> dict[str, str]:
    return {"address": server.address, "via": server.via}


ANSWERS_WIDTH = 48  # the table's answer columns; JSON and findings carry them whole


def _answers(answers: Sequence[str]) -> str:
    return ", ".join(answers) or "-"


# --------------------------------------------------------------------------- resolve


def resolution_json(res: Resolution) -> dict[str, Any]:
    return {
        "name": res.name,
        "fromNamespace": res.conf.namespace,
        "searchList": list(res.conf.searches),
        "ndots": res.conf.ndots,
        "attempts": [answer_json(a) for a in res.walk.attempts],
        "answer": answer_json(res.answer) if res.answer else None,
        "expected": answer_json(res.expected) if res.expected else None,
        "match": res.match,
        "server": _server_json(res.server),
    }


def resolution_text(res: Resolution) -> str:
    conf = res.conf
    who = f"pod {conf.namespace}/{conf.pod}" if conf.pod else f"a pod in namespace {conf.namespace}"
    head = [
        f"Resolving {res.name} ({res.qtype}) as {who} would (dnsPolicy {conf.policy})",
        f"  search   {' '.join(conf.searches) or '<none>'}",
        f"  options  {conf.options} ({ndots_explanation(res.name, conf)})",
        f"DNS server: {res.server.label}",
    ]
    head += [f"  note: {n}" for n in conf.notes]
    rows = [
        [str(i), a.qname, a.qtype, a.rcode, _answers(a.answers)] for i, a in enumerate(res.walk.attempts, 1)
    ]
    attempts = table(rows, ["#", "QUERY", "TYPE", "RCODE", "ANSWERS"])
    queries = res.walk.queries
    if res.answer is not None:
        index = res.walk.attempts.index(res.answer) + 1
        answer = (
            f"{_answers(res.answer.answers)} from {res.answer.qname} "
            f"(query {index}; the name cost {queries} quer{'y' if queries == 1 else 'ies'})"
        )
    else:
        answer = f"none: {res.name} does not resolve from namespace {conf.namespace} after {queries} queries"
    if res.expected is not None:
        expected = f"{_answers(res.expected.answers)} from {res.expected.qname}"
    else:
        expected = f"none: no Service answers this name from namespace {conf.namespace}"
    match = {True: "yes", False: "NO", None: "unknown (the answer comes from outside the cluster's zones)"}[
        res.match
    ]
    tail = [f"Answer:   {answer}", f"Expected: {expected}", f"Match:    {match}"]
    return "\n\n".join(["\n".join(head), attempts, "\n".join(tail)])


# --------------------------------------------------------------------------- dns


def _status(check: RecordCheck) -> str:
    return ",".join(f.code for f in check.findings) or "ok"


def _expected(check: RecordCheck) -> str:
    return _answers(check.record.answers) if check.record.answers else "NXDOMAIN"


def _got(check: RecordCheck) -> str:
    if check.answer is None:
        return "no answer"
    return _answers(check.answer.answers) if check.answer.answers else check.answer.rcode


def dns_summary(report: Report, checks: Sequence[RecordCheck], others: Sequence[Finding]) -> dict[str, int]:
    findings = [f for c in checks for f in c.findings] + list(others)
    return {
        "services": len(report.services),
        "records": len(checks),
        "errors": sum(1 for f in findings if f.severity is Severity.ERROR),
        "warnings": sum(1 for f in findings if f.severity is Severity.WARNING),
    }


def _record_json(c: RecordCheck) -> dict[str, Any]:
    return {
        "qname": c.record.qname,
        "qtype": c.record.qtype,
        "kind": c.record.kind.value,
        "expected": {"rcode": c.record.rcode, "answers": list(c.record.answers)},
        "got": answer_json(c.answer) if c.answer else None,
        "failure": c.failure,
        "ok": c.ok,
    }


def _replica_json(r: Replica) -> dict[str, Any]:
    return {
        "pod": r.pod,
        "ip": r.ip,
        "ready": r.ready,
        "restarts": r.restarts,
        "address": r.address,
        "via": r.via,
    }


def dns_json(
    report: Report,
    checks: Sequence[RecordCheck],
    server: Nameserver,
    replicas: Sequence[Replica] = (),
    others: Sequence[Finding] = (),
) -> dict[str, Any]:
    """`others`: findings about no one record (the Corefile's, the replicas'); those naming a Service
    in their details are listed with it."""
    by_service: dict[str, list[RecordCheck]] = {}
    for c in checks:
        by_service.setdefault(c.record.service, []).append(c)
    services = []
    for sr in report.services:
        mine = by_service.get(sr.service.key, [])
        services.append(
            {
                "namespace": sr.service.namespace,
                "name": sr.service.name,
                "type": sr.service.type.value,
                "headless": sr.service.headless,
                "records": [_record_json(c) for c in mine],
                "findings": [finding_json(f) for c in mine for f in c.findings]
                + [finding_json(f) for f in others if f.details.get("service") == sr.service.key],
            }
        )
    cluster = by_service.get("", [])
    return {
        "server": _server_json(server),
        "replicas": [_replica_json(r) for r in replicas],
        "services": services,
        "cluster": {
            "records": [_record_json(c) for c in cluster],
            "findings": [finding_json(f) for c in cluster for f in c.findings]
            + [finding_json(f) for f in others if not f.details.get("service")],
        },
        "summary": dns_summary(report, checks, others),
    }


REPLICA_HEADERS = ["REPLICA", "IP", "READY", "RESTARTS", "ASKED AT", "VIA"]
RECORD_HEADERS = ["SERVICE", "NAME", "TYPE", "EXPECTED", "ANSWERED", "STATUS"]


def replica_rows(replicas: Sequence[Replica]) -> list[list[str]]:
    return [[r.pod, r.ip, "yes" if r.ready else "no", str(r.restarts), r.address, r.via] for r in replicas]


def replicas_text(replicas: Sequence[Replica]) -> str:
    return table(replica_rows(replicas), REPLICA_HEADERS)


def asked_line(server: Nameserver, replicas: Sequence[Replica]) -> str:
    """Which DNS was asked: every replica (judged against the first that answered), or one server."""
    if replicas:
        return f"DNS replicas asked: {len(replicas)} (records judged against {server.address})"
    return f"DNS server: {server.label}"


def record_rows(checks: Sequence[RecordCheck]) -> list[list[str]]:
    return [
        [
            c.record.service or "(cluster)",
            c.record.qname,
            c.record.qtype,
            clip(_expected(c), ANSWERS_WIDTH),
            clip(_got(c), ANSWERS_WIDTH),
            _status(c),
        ]
        for c in checks
    ]


def dns_text(
    report: Report,
    checks: Sequence[RecordCheck],
    server: Nameserver,
    replicas: Sequence[Replica] = (),
    others: Sequence[Finding] = (),
) -> str:
    rows = record_rows(checks)
    if replicas:
        blocks = [f"{asked_line(server, replicas)}\n" + replicas_text(replicas)]
    else:
        blocks = [asked_line(server, replicas)]
    blocks.append(table(rows, RECORD_HEADERS) or "No records.")
    findings = findings_text([*(f for c in checks for f in c.findings), *others])
    if findings:
        blocks.append(findings)
    s = dns_summary(report, checks, others)
    blocks.append(f"{s['services']} service(s), {s['records']} record(s): {s['errors']} error(s)")
    return "\n\n".join(blocks)


# --------------------------------------------------------------------------- dns --offline -f


PLANNED_HEADERS = ["SERVICE", "NAME", "TYPE", "EXPECTED"]


def _planned_record_json(r: Record) -> dict[str, Any]:
    return {
        "qname": r.qname,
        "qtype": r.qtype,
        "kind": r.kind.value,
        "expected": {"rcode": r.rcode, "answers": list(r.answers)},
        "pending": r.pending,
    }


def planned_summary(report: Report, records: Sequence[Record]) -> dict[str, int]:
    return {
        "services": len(report.services),
        "records": len(records),
        "pending": sum(1 for r in records if r.pending),
    }


def planned_dns_json(report: Report, records: Sequence[Record], domain: str) -> dict[str, Any]:
    """`dns --offline -f -o json`: per Service of the files its expected records, nothing asked."""
    by_service: dict[str, list[Record]] = {}
    for r in records:
        by_service.setdefault(r.service, []).append(r)
    what_if = report.snapshot.what_if
    return {
        "whatIf": what_if_json(what_if) if what_if is not None else None,
        "domain": domain,
        "services": [
            {
                "namespace": sr.service.namespace,
                "name": sr.service.name,
                "type": sr.service.type.value,
                "headless": sr.service.headless,
                "source": sr.service.source,
                "records": [_planned_record_json(r) for r in by_service.get(sr.service.key, [])],
            }
            for sr in report.services
        ],
        "cluster": {"records": [_planned_record_json(r) for r in by_service.get(CLUSTER, [])]},
        "summary": planned_summary(report, records),
    }


def planned_dns_text(report: Report, records: Sequence[Record], wide: bool = False) -> str:
    """`dns --offline -f`: what the files hold, then one row per expected record (answers clipped
    unless wide), then the count."""
    what_if = report.snapshot.what_if
    count = len(what_if.objects) if what_if is not None else 0
    head = [
        f"Expected DNS records once {count} object(s) of the files are applied, offline: nothing was "
        "asked (no cluster, no DNS server); <...> is an address allocated once applied:",
        *(what_if_rows(what_if) if what_if is not None else []),
    ]

    def expected(r: Record) -> str:
        text = _answers(r.answers) if r.answers else "NXDOMAIN"
        return text if wide else clip(text, 2 * ANSWERS_WIDTH)

    rows = [[r.service or "(cluster)", r.qname, r.qtype, expected(r)] for r in records]
    s = planned_summary(report, records)
    tail = (
        f"{s['services']} service(s), {s['records']} expected record(s), {s['pending']} pending "
        "(their addresses are allocated once applied); pod records are the Corefile's to decide: not listed"
    )
    return "\n\n".join(["\n".join(head), table(rows, PLANNED_HEADERS) or "No records.", tail])
