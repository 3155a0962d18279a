"""Querying: the only module that talks to a DNS server, and the only one importing `dns` (dnspython).

Why it exists: one place sends queries (UDP with TCP fallback, or DNS over TCP through an open
stream such as the API server's port-forward), bounds their concurrency, applies the timeout and
retries, and turns dnspython's exceptions into our own `DNSUnreachable`, so nothing above this
boundary knows about dnspython.

It uses dnspython's asynchronous *query* layer rather than its stub resolver on purpose: the stub
resolver applies its own search list and hides the rcodes the inspector must show (SERVFAIL and
REFUSED become "no nameservers"); the search walk is emulated in `resolvconf` instead.

A failure to answer one question of many is a `Failure` value, not an exception: the oracle judges it
(dns-unreachable) beside the answers.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dns.asyncquery
import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from inspector.dns.answers import CNAME_PREFIX, Answer, Failure
from inspector.dns.querynames import Nameserver
from inspector.errors import BadInput, DNSUnreachable

log = logging.getLogger("inspector.dns.querying")

CONCURRENCY = 32
QTYPES = ("A", "AAAA", "SRV", "CNAME", "PTR", "TXT")

Question = tuple[str, str]  # (qname, qtype)


@dataclass
class Server:
    """Where queries go: a nameserver's address, or an open TCP stream to one (one query at a time)."""

    nameserver: Nameserver
    stream: socket.socket | None = None
    stream_error: Callable[[], str | None] | None = field(default=None, repr=False)
    tcp: bool = False  # TCP only (default: UDP, TCP when the answer is truncated)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def label(self) -> str:
        return self.nameserver.label


def _answer(qname: str, qtype: str, response: dns.message.Message) -> Answer:
    wanted = dns.rdatatype.from_text(qtype)
    answers: list[str] = []
    for rrset in response.answer:
        for rdata in rrset:
            text = rdata.to_text().lower()
            if rrset.rdtype == wanted:
                answers.append(text)
            elif rrset.rdtype == dns.rdatatype.CNAME:
                answers.append(f"{CNAME_PREFIX}{text}")
    return Answer(qname, qtype, dns.rcode.to_text(response.rcode()), tuple(sorted(answers)))


def _query_message(qname: str, qtype: str) -> dns.message.Message:
    if qtype not in QTYPES:
        raise BadInput(f"unsupported query type {qtype!r}: use one of {', '.join(QTYPES)}")
    return dns.message.make_query(qname, qtype)


def _stream_ask(server: Server, q: dns.message.Message, timeout: float) -> dns.message.Message:
    assert server.stream is not None
    with server._lock:  # one query in flight per stream
        return dns.query.tcp(q, server.nameserver.host, timeout=timeout, sock=server.stream)


def _reason(exc: BaseException, server: Server, timeout: float, tries: int) -> str:
    if isinstance(exc, dns.exception.Timeout):
        return f"no answer within {timeout:g}s, {tries} tr{'y' if tries == 1 else 'ies'}"
    if isinstance(exc, EOFError) or (server.stream is not None and isinstance(exc, OSError)):
        detail = server.stream_error() if server.stream_error else None
        return "the stream closed" + (f": {' '.join(detail.split())[:300]}" if detail else "")
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError):
        return exc.strerror or exc.__class__.__name__
    return f"malformed response ({exc.__class__.__name__})"


async def _ask(server: Server, qname: str, qtype: str, timeout: float, retries: int) -> Answer:
    q = _query_message(qname, qtype)
    last: BaseException | None = None
    tries = 0
    for tries in range(1, retries + 2):
        try:
            if server.stream is not None:
                response = await asyncio.to_thread(_stream_ask, server, q, timeout)
            elif server.tcp:
                response = await dns.asyncquery.tcp(
                    q, server.nameserver.host, timeout=timeout, port=server.nameserver.port
                )
            else:
                response, _ = await dns.asyncquery.udp_with_fallback(
                    q, server.nameserver.host, timeout=timeout, port=server.nameserver.port
                )
            log.debug("%s %s -> %s", qname, qtype, dns.rcode.to_text(response.rcode()))
            return _answer(qname, qtype, response)
        except (dns.exception.Timeout, OSError) as exc:
            last = exc
            log.debug("%s %s: %s (try %d)", qname, qtype, exc.__class__.__name__, tries)
            if server.stream is not None and not isinstance(exc, dns.exception.Timeout):
                break  # a closed stream does not reopen
        except (EOFError, dns.exception.DNSException) as exc:
            last = exc
            break
    assert last is not None
    raise DNSUnreachable(_reason(last, server, timeout, tries))


def query(server: Server, qname: str, qtype: str, timeout: float, retries: int) -> Answer:
    """One query; raises DNSUnreachable (its message: why) when the server gives no usable answer."""
    return asyncio.run(_ask(server, qname, qtype, timeout, retries))


def query_all(
    server: Server,
    questions: Sequence[Question],
    timeout: float,
    retries: int,
    concurrency: int = CONCURRENCY,
) -> dict[Question, Answer | Failure]:
    """Every question, at most `concurrency` in flight; a failure is returned, not raised, per question."""

    async def run() -> dict[Question, Answer | Failure]:
        bound = asyncio.Semaphore(concurrency)

        async def one(question: Question) -> Answer | Failure:
            async with bound:
                try:
                    return await _ask(server, *question, timeout, retries)
                except DNSUnreachable as exc:
                    return Failure(str(exc))

        unique = list(dict.fromkeys(questions))
        results = await asyncio.gather(*(one(q) for q in unique))
        return dict(zip(unique, results, strict=True))

    return asyncio.run(run())
