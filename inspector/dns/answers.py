"""Answers: what a DNS query brought back, or why nothing came back, written one way whoever answered.

Why it exists: the cluster DNS's answers, the API's idea of them (the record book) and the emulated
resolver's walk are compared value for value, so they share one form: rdata in presentation form,
lowercase, sorted; a CNAME met while asking another type appears as "CNAME <target>". Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

UNKNOWN = "UNKNOWN"  # the rcode of a name the API cannot vouch for (outside the cluster's zones)
CNAME_PREFIX = "CNAME "


@dataclass(frozen=True, slots=True)
class Answer:
    """One query and what came back (from the cluster DNS, or from the API's point of view)."""

    qname: str
    qtype: str
    rcode: str
    answers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Failure:
    """No usable answer to one query, and why (a timeout, a closed stream, a malformed response)."""

    reason: str


Outcome = Answer | Failure
