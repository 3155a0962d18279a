"""The DNS oracle: what the cluster DNS answered, judged against what the API says it should answer.

Why it exists: a Service whose endpoints are right can still be unreachable by name (a stale
cache, a broken CoreDNS, a missing SRV record, a pod asking from the wrong namespace). This module
compares answers with the expected records and emits the dns-* findings of the catalogue, and
judges one `resolve`. Pure: the answers come in as values; it knows Services only by their records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from inspector.dns.answers import Answer, Failure, Outcome
from inspector.dns.querynames import Nameserver
from inspector.dns.records import Kind, Record, RecordBook, same_answers
from inspector.dns.resolvconf import Candidate, ResolvConf, Walk, walk
from inspector.model.findings import Finding, finding

NO_READY_ENDPOINT = "NXDOMAIN (no ready endpoint)"
PODS_DISABLED = "NXDOMAIN (the Corefile says pods disabled)"


def _show(answers: Iterable[str]) -> str:
    return ", ".join(answers)


def _got(answer: Answer) -> str:
    return _show(answer.answers) if answer.answers else f"{answer.rcode} with no records"


@dataclass(frozen=True, slots=True)
class RecordCheck:
    """One expected record, what the cluster DNS answered for it, and what is wrong."""

    record: Record
    answer: Answer | None  # None: no answer (see failure)
    failure: str | None
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings


def check_record(record: Record, outcome: Outcome, server: str) -> RecordCheck:
    """Judge one answer (or the reason there was none) against one expected record."""
    extra = {"service": record.service, "expectedAnswers": list(record.answers)}
    if isinstance(outcome, Failure):
        f = finding(
            "dns-unreachable",
            server=server,
            qname=record.qname,
            reason=outcome.reason,
            extra={**extra, "qtype": record.qtype},
        )
        return RecordCheck(record, None, outcome.reason, (f,))
    got = outcome
    extra |= {"rcode": got.rcode, "answers": list(got.answers)}
    found: Finding | None = None
    if not record.answers:  # the name must not exist
        if got.rcode != "NXDOMAIN":
            found = finding(
                "dns-mismatch",
                qname=record.qname,
                qtype=record.qtype,
                got=_got(got),
                expected=PODS_DISABLED if record.kind is Kind.POD else NO_READY_ENDPOINT,
                extra=extra,
            )
    elif got.rcode == "NOERROR" and got.answers and same_answers(record.qtype, record.answers, got.answers):
        pass
    elif record.kind is Kind.PTR:
        found = finding(
            "dns-missing-ptr",
            qname=record.qname,
            got=_got(got),
            expected=_show(record.answers),
            ip=record.detail,
            extra=extra,
        )
    elif record.kind is Kind.POD:
        found = finding(
            "dns-missing-pod-record",
            qname=record.qname,
            qtype=record.qtype,
            got=_got(got),
            mode=f"pods {record.detail}",
            expected=_show(record.answers),
            extra=extra,
        )
    elif record.kind is Kind.SRV and not (got.rcode == "NOERROR" and got.answers):
        found = finding(
            "dns-missing-srv",
            qname=record.qname,
            port=record.port,
            expected=_show(record.answers),
            extra=extra,
        )
    elif got.rcode == "NXDOMAIN":
        found = finding(
            "dns-nxdomain",
            qname=record.qname,
            qtype=record.qtype,
            expected=_show(record.answers),
            extra=extra,
        )
    else:
        found = finding(
            "dns-mismatch",
            qname=record.qname,
            qtype=record.qtype,
            got=_got(got),
            expected=_show(record.answers),
            extra=extra,
        )
    return RecordCheck(record, got, None, (found,) if found else ())


def check_records(
    records: Sequence[Record], outcomes: Mapping[tuple[str, str], Outcome], server: str
) -> list[RecordCheck]:
    """Every expected record judged against the outcome of its (qname, qtype)."""
    return [check_record(r, outcomes[(r.qname, r.qtype)], server) for r in records]


def nothing_answered(checks: Sequence[RecordCheck]) -> bool:
    """The server answered none of the queries: it is unreachable, not wrong."""
    return bool(checks) and all(c.answer is None for c in checks)


# --------------------------------------------------------------------------- resolve


@dataclass(frozen=True, slots=True)
class Resolution:
    """One name resolved as a pod would: every query, the answer, and the API's verdict."""

    name: str
    qtype: str
    conf: ResolvConf
    server: Nameserver
    candidates: tuple[Candidate, ...]
    walk: Walk
    expected: Answer | None  # the candidate the API says answers first, and its records
    match: bool | None  # None: the answer came from a name the API cannot vouch for

    @property
    def answer(self) -> Answer | None:
        return self.walk.answered

    @property
    def ok(self) -> bool:
        """`resolve` succeeds when the name resolves and the API does not contradict the answer."""
        return self.answer is not None and self.match is not False


def expected_walk(cands: tuple[Candidate, ...], qtype: str, book: RecordBook) -> Walk:
    """The walk as it should go if the cluster DNS answered exactly what the API says."""
    return walk(cands, lambda qname: book.answer(qname, qtype))


def judge(
    name: str,
    qtype: str,
    conf: ResolvConf,
    server: Nameserver,
    cands: tuple[Candidate, ...],
    actual: Walk,
    book: RecordBook,
) -> Resolution:
    expected = expected_walk(cands, qtype, book).answered
    got = actual.answered
    match: bool | None
    if got is None:
        match = expected is None
    elif expected is None:
        match = False if book.knows(got.qname) else None
    else:
        match = got.qname == expected.qname and same_answers(qtype, expected.answers, got.answers)
    return Resolution(name, qtype, conf, server, cands, actual, expected, match)
