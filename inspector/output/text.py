"""Text: the finding line, `explain` (what `diff` prints and a failed wait says) and `wait`'s words.

Why it exists: a finding is put in words one way, wherever it appears (the `diff` text, the detail
view, the `dns` table, a failed `assert_discoverable`), so that line is written once, here.
"""

from __future__ import annotations

from collections.abc import Iterable

from inspector.diagnosis.changes import ReportChange
from inspector.diagnosis.readiness import WaitResult
from inspector.diagnosis.report import Report
from inspector.model.findings import Finding, Severity
from inspector.model.snapshot import WhatIf

GAP = "   "  # as kubectl's printers, and our tables


def clip(text: str, width: int) -> str:
    """At most `width` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def finding_line(f: Finding) -> str:
    return f"{f.severity.value.upper():7} {f.code}: {f.message}"


def findings_text(findings: Iterable[Finding]) -> str:
    return "\n".join(map(finding_line, findings))


def notes_text(report: Report) -> str:
    return "\n".join(f"note: {n}" for n in report.notes)


def explain(report: Report) -> str:
    """Expected vs actual and every finding, in words: what `diff` prints, and what a failed
    `wait` or pytest assertion says."""
    blocks = []
    what_if = report.snapshot.what_if
    if what_if is not None:
        blocks.append(what_if_text(what_if))
    for sr in report.services:
        svc = sr.service
        if sr.facts.planned:
            planned_pods = sum(1 for p in sr.expectation.selected if p.planned)
            counts = f"{len(sr.expected)} expected endpoint(s), {planned_pods} planned pod(s)"
            counts += f"; Service from {svc.source}" if svc.source else ""
        else:
            counts = f"{len(sr.expected)} expected, {len(sr.actual)} actual endpoint(s)"
        lines = [
            f"{svc.key} ({svc.type.value}{', headless' if svc.headless else ''}): {sr.status.value}, {counts}"
        ]
        lines += [f"  - missing    {e.address} ({e.pod})" for e in sr.facts.missing]
        if svc.selector:
            lines += [f"  + unexpected {e.address} (slice {e.slice})" for e in sr.facts.unexpected]
        lines += [f"  {finding_line(f)}" for f in sr.findings]
        blocks.append("\n".join(lines))
    if report.cluster_findings:
        blocks.append(findings_text(report.cluster_findings))
    blocks.append(
        f"{len(report.services)} service(s): {report.count(Severity.ERROR)} error(s), "
        f"{report.count(Severity.WARNING)} warning(s), {report.count(Severity.INFO)} info(s)"
    )
    return "\n\n".join(blocks)


LISTED_OBJECTS = 20


def what_if_text(what_if: WhatIf) -> str:
    """The head of a what-if run's report: what the files hold and what they do to the cluster."""
    if what_if.offline:
        head = (
            f"What if {len(what_if.objects)} object(s) of the files were applied, offline (no cluster read): "
            "pods assumed ready, without IPs; only findings judged from manifests"
        )
    else:
        head = (
            f"What if {len(what_if.objects)} object(s) of the files were applied to the cluster "
            f"(nothing is written); {len(what_if.touched)} Service(s) touched, judged on manifests only"
        )
    return "\n".join([head + ":", *what_if_rows(what_if)])


def what_if_rows(what_if: WhatIf) -> list[str]:
    """One line per object of the files (the first LISTED_OBJECTS): what it does, and where it is."""
    rows = [
        f"  {o.action:<9} {o.kind} {o.namespace + '/' if o.namespace else ''}{o.name}   "
        f"{o.source} (document {o.document})"
        for o in what_if.objects[:LISTED_OBJECTS]
    ]
    if len(what_if.objects) > LISTED_OBJECTS:
        rows.append(f"  ... and {len(what_if.objects) - LISTED_OBJECTS} more")
    return rows


def wait_explanation(result: WaitResult) -> str:
    """Why a wait failed (what is still missing, then the report), or that it succeeded."""
    if result.ok:
        return f"discoverable after {result.elapsed:.1f}s: {', '.join(result.drift) or 'all'}"
    lines = [f"not discoverable after {result.elapsed:.1f}s:"]
    for key, reasons in result.drift.items():
        lines += [f"  {key}: {r}" for r in reasons]
    return "\n".join(lines) + "\n\n" + explain(result.report)


def wait_text(result: WaitResult) -> str:
    """What `wait` prints."""
    if not result.ok:
        return wait_explanation(result)
    lines = [
        f"{sr.service.key}: discoverable, {sum(e.ready for e in sr.actual)} ready endpoint(s)"
        for sr in result.report.services
    ]
    return "\n".join([*lines, f"after {result.elapsed:.1f}s"])


def change_line(change: ReportChange) -> str:
    """One line of `-w`: the event and what it is about, in columns three spaces apart."""
    return GAP.join(
        [f"{change.event.value:<8}", f"{change.subject.value:<8}", change.service, change.what, change.detail]
    )
