"""The DNS replicas: every ready endpoint of kube-dns asked the same questions, their answers compared.

Why it exists: clients reach one CoreDNS replica or another (the Service balances per query), so a
replica with a stale cache, an old Corefile or a crash loop makes resolution fail *sometimes*. One
server's answers cannot show that; the answers of all of them side by side can. Pure: the outcomes
come in as values, findings go out (dns-replicas-disagree, dns-replica-unreachable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from inspector.dns.answers import Answer, Failure, Outcome
from inspector.dns.records import Record
from inspector.model.findings import Finding, finding

Question = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Replica:
    """One DNS replica: its pod, its state, and where its queries went."""

    pod: str  # namespace/name
    ip: str
    ready: bool
    restarts: int
    address: str  # what was asked: ip:port, or namespace/pod:port through a port-forward
    via: str  # "direct, UDP (TCP on truncation)", "port-forward through the API server, DNS over TCP"

    @property
    def label(self) -> str:
        return f"{self.pod} ({self.ip})"


def _said(outcome: Answer) -> str:
    return ", ".join(outcome.answers) if outcome.answers else outcome.rcode


def unreachable(replica: Replica, outcomes: Mapping[Question, Outcome]) -> Finding | None:
    """dns-replica-unreachable when the replica answered none of the questions."""
    failures = [o for o in outcomes.values() if isinstance(o, Failure)]
    if not outcomes or len(failures) < len(outcomes):
        return None
    return finding(
        "dns-replica-unreachable",
        replica=replica.label,
        reason=failures[0].reason,
        extra={"pod": replica.pod, "address": replica.address, "via": replica.via},
    )


def disagreements(
    records: Sequence[Record], answers: Mapping[Replica, Mapping[Question, Outcome]]
) -> list[Finding]:
    """dns-replicas-disagree for every record that two replicas answered differently (failures to
    answer are dns-replica-unreachable's business, not disagreements); the finding carries the
    service of the record it is about."""
    out = []
    for record in records:
        question = (record.qname, record.qtype)
        said: dict[str, str] = {}
        for replica, outcomes in sorted(answers.items(), key=lambda kv: kv[0].pod):
            outcome = outcomes.get(question)
            if isinstance(outcome, Answer):
                said[replica.label] = _said(outcome)
        if len(set(said.values())) > 1:
            out.append(
                finding(
                    "dns-replicas-disagree",
                    qname=record.qname,
                    qtype=record.qtype,
                    answers="; ".join(f"{who} says {what}" for who, what in said.items()),
                    extra={
                        "service": record.service,
                        "replicas": said,
                        "expectedAnswers": list(record.answers),
                    },
                )
            )
    return out
