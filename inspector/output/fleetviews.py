"""Fleet views: what `services`, `diff` and `dns` print when several contexts are asked at once.

Why it exists: each context's answer is shown as the single-context command shows it, with the
context named: tables gain a first CONTEXT column, `diff`'s words and detail views a heading per
context, and the documents are `{"contexts": [{"context", "report"} | {"context", "error"}],
"summary"}`, the summary adding the contexts' counts up and listing each context's own. A context
that failed is said on stderr by the CLI; here it is an `error` entry of the document, and left out
of the text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from inspector.diagnosis.report import Report
from inspector.dns.oracle import RecordCheck
from inspector.dns.querynames import Nameserver
from inspector.dns.replicas import Replica
from inspector.model.findings import Finding, Severity
from inspector.output.dnsviews import (
    RECORD_HEADERS,
    REPLICA_HEADERS,
    asked_line,
    dns_summary,
    record_rows,
    replica_rows,
)
from inspector.output.tables import services_rows, table
from inspector.output.text import finding_line

V_co = TypeVar("V_co", covariant=True)
T = TypeVar("T")

# what `dns` found in one context: the report, the record checks, the server asked, the replicas asked,
# the findings about no one record
SEVERITIES = (Severity.ERROR, Severity.WARNING, Severity.INFO)
DNSFound = tuple[Report, Sequence[RecordCheck], Nameserver, Sequence[Replica], Sequence[Finding]]


class PerContext(Protocol[V_co]):
    """One context's answer or its failure (`inspector.live.fleet.ContextResult` is one)."""

    @property
    def context(self) -> str: ...
    @property
    def value(self) -> V_co | None: ...
    @property
    def error(self) -> Exception | None: ...


def answered(results: Sequence[PerContext[T]]) -> list[tuple[str, T]]:
    """The contexts that answered, with their answers, in the order asked."""
    return [(r.context, r.value) for r in results if r.error is None and r.value is not None]


# --------------------------------------------------------------------------- documents


def fleet_json(
    results: Sequence[PerContext[T]],
    document: Callable[[T], dict[str, Any]],
    summary: Callable[[T], Mapping[str, int]],
) -> dict[str, Any]:
    """`{"contexts": [{"context", "report"} | {"context", "error"}], "summary"}`: the summary holds
    the number of contexts, how many answered and failed, the answered contexts' counts added up, and
    `perContext`, each context's own counts (or `"failed": true`)."""
    contexts: list[dict[str, Any]] = []
    per_context: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    for r in results:
        if r.error is not None or r.value is None:
            contexts.append({"context": r.context, "error": str(r.error)})
            per_context.append({"context": r.context, "failed": True})
            continue
        counts = dict(summary(r.value))
        for key, n in counts.items():
            totals[key] = totals.get(key, 0) + n
        contexts.append({"context": r.context, "report": document(r.value)})
        per_context.append({"context": r.context, **counts})
    failed = sum(1 for p in per_context if p.get("failed"))
    return {
        "contexts": contexts,
        "summary": {
            "contexts": len(results),
            "answered": len(results) - failed,
            "failed": failed,
            **totals,
            "perContext": per_context,
        },
    }


# --------------------------------------------------------------------------- text


def _same_namespace(reports: Sequence[Report]) -> bool:
    """Whether every report read the same one namespace (then NAMESPACE is left out, as kubectl does)."""
    read = {r.snapshot.namespaces for r in reports}
    return len(read) == 1 and (only := next(iter(read))) is not None and len(only) == 1


def services_fleet_table(
    results: Sequence[PerContext[Report]], wide: bool = False, no_headers: bool = False
) -> str:
    """The services table with a first CONTEXT column; NAMESPACE as well unless every context read
    the same one namespace."""
    reports = answered(results)
    keep_namespace = not _same_namespace([r for _, r in reports])
    rows: list[list[str]] = []
    headers: list[str] = []
    for context, report in reports:
        own, headers = services_rows(report, wide)
        rows += [[context, *(row if keep_namespace else row[1:])] for row in own]
    return table(rows, ["CONTEXT", *(headers if keep_namespace else headers[1:])], no_headers)


def per_context_text(results: Sequence[PerContext[T]], text: Callable[[T], str]) -> str:
    """Each answered context's text under a `Context: NAME` heading, blank lines between."""
    return "\n\n".join(f"Context: {context}\n{text(value)}" for context, value in answered(results))


def fleet_line(results: Sequence[PerContext[Any]], counts: str) -> str:
    """The last line: how many contexts were asked, answered and failed, and the counts added up."""
    failed = sum(1 for r in results if r.error is not None)
    return f"{len(results)} context(s), {len(results) - failed} answered, {failed} failed: {counts}"


def diff_fleet_text(results: Sequence[PerContext[Report]], explain: Callable[[Report], str]) -> str:
    """`diff`'s words per context, and the fleet's line."""
    reports = [r for _, r in answered(results)]
    services = sum(len(r.services) for r in reports)
    errors, warnings, infos = (sum(r.count(sev) for r in reports) for sev in SEVERITIES)
    blocks = [per_context_text(results, explain)] if reports else []
    counts = f"{services} service(s): {errors} error(s), {warnings} warning(s), {infos} info(s)"
    return "\n\n".join([*blocks, fleet_line(results, counts)])


def dns_fleet_text(results: Sequence[PerContext[DNSFound]]) -> str:
    """`dns` across contexts: which DNS each context asked, one replicas table and one records table
    with a first CONTEXT column, the findings named by context, and the fleet's line."""
    found = answered(results)
    asked = [
        f"Context {context}: {asked_line(server, replicas)}" for context, (_, _, server, replicas, _) in found
    ]
    replicas = [[context, *row] for context, (_, _, _, reps, _) in found for row in replica_rows(reps)]
    records = [[context, *row] for context, (_, checks, _, _, _) in found for row in record_rows(checks)]
    blocks = ["\n".join(asked)] if asked else []
    if replicas:
        blocks.append(table(replicas, ["CONTEXT", *REPLICA_HEADERS]))
    if found:
        blocks.append(table(records, ["CONTEXT", *RECORD_HEADERS]) or "No records.")
    lines = [
        f"{context}: {finding_line(f)}"
        for context, (_, checks, _, _, others) in found
        for f in [*(f for c in checks for f in c.findings), *others]
    ]
    if lines:
        blocks.append("\n".join(lines))
    sums = [dns_summary(report, checks, others) for _, (report, checks, _, _, others) in found]
    services, records_n, errors = (sum(s[key] for s in sums) for key in ("services", "records", "errors"))
    blocks.append(fleet_line(results, f"{services} service(s), {records_n} record(s): {errors} error(s)"))
    return "\n\n".join(blocks)
