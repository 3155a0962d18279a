"""Changes between two reports: what `-w` prints after the first table.

Why it exists: a watched Service is re-inspected after every burst of API events; the user wants to
see what moved, as `kubectl get -w` shows it, not the whole table again: Services that appear or
leave or change status, actual endpoints (from the EndpointSlices) that appear, leave or change
conditions, and findings that appear, change or are resolved. Pure: two reports in, events out,
in the order a reader follows (per Service; endpoints leaving before those arriving).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from inspector.diagnosis.endpoints import Endpoint
from inspector.diagnosis.report import Report, ServiceReport
from inspector.model.findings import Finding


class Event(StrEnum):
    """As `kubectl get -w --output-watch-events` names them."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


class Subject(StrEnum):
    SERVICE = "service"
    ENDPOINT = "endpoint"
    FINDING = "finding"


@dataclass(frozen=True, slots=True)
class ReportChange:
    event: Event
    subject: Subject
    service: str  # namespace/name
    what: str  # the endpoint's address, the finding's code, the Service's type
    detail: str  # its pod and conditions, the finding's message, the status


def conditions(e: Endpoint) -> str:
    flags = [
        n for n, on in (("ready", e.ready), ("serving", e.serving), ("terminating", e.terminating)) if on
    ]
    return ",".join(flags) or "not-ready"


def _endpoint_detail(e: Endpoint) -> str:
    return f"pod {e.pod or '-'} node {e.node or '-'} {conditions(e)}"


def _endpoints(key: str, before: ServiceReport | None, after: ServiceReport | None) -> Iterator[ReportChange]:
    old = {e.key: e for e in (before.actual if before else ())}
    new = {e.key: e for e in (after.actual if after else ())}
    for k, e in old.items():
        if k not in new:
            yield ReportChange(Event.DELETED, Subject.ENDPOINT, key, e.address, _endpoint_detail(e))
    for k, e in new.items():
        was = old.get(k)
        if was is None:
            yield ReportChange(Event.ADDED, Subject.ENDPOINT, key, e.address, _endpoint_detail(e))
        elif conditions(was) != conditions(e) or was.pod != e.pod:
            detail = f"pod {e.pod or '-'} node {e.node or '-'} {conditions(was)} -> {conditions(e)}"
            yield ReportChange(Event.MODIFIED, Subject.ENDPOINT, key, e.address, detail)


def _by_code(findings: tuple[Finding, ...]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(str(f.code), []).append(f)
    return out


def _words(findings: list[Finding]) -> str:
    return "; ".join(f"{f.severity.value} {f.message}" for f in findings)


def _findings(key: str, before: ServiceReport | None, after: ServiceReport | None) -> Iterator[ReportChange]:
    old = _by_code(before.findings if before else ())
    new = _by_code(after.findings if after else ())
    for code in old:
        if code not in new:
            yield ReportChange(Event.DELETED, Subject.FINDING, key, code, "resolved")
    for code, found in new.items():
        if code not in old:
            yield ReportChange(Event.ADDED, Subject.FINDING, key, code, _words(found))
        elif [f.message for f in old[code]] != [f.message for f in found]:
            yield ReportChange(Event.MODIFIED, Subject.FINDING, key, code, _words(found))


def report_changes(before: Report, after: Report) -> list[ReportChange]:
    """What changed from `before` to `after`, Service by Service (in `after`'s order, then the ones
    that left)."""
    old = {sr.service.key: sr for sr in before.services}
    new = {sr.service.key: sr for sr in after.services}
    out: list[ReportChange] = []
    for key in [*new, *(k for k in old if k not in new)]:
        was, now = old.get(key), new.get(key)
        if was is None and now is not None:
            out.append(
                ReportChange(Event.ADDED, Subject.SERVICE, key, now.service.type.value, now.status.value)
            )
        elif was is not None and now is None:
            out.append(
                ReportChange(Event.DELETED, Subject.SERVICE, key, was.service.type.value, was.status.value)
            )
        elif was is not None and now is not None and was.status != now.status:
            detail = f"{was.status.value} -> {now.status.value}"
            out.append(ReportChange(Event.MODIFIED, Subject.SERVICE, key, now.service.type.value, detail))
        out += _endpoints(key, was, now)
        out += _findings(key, was, now)
    return out
