"""ExternalName Services: a DNS CNAME, no endpoints, no port mapping."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from inspector.diagnosis.checks.facts import ServiceFacts
from inspector.model.findings import Finding, finding
from inspector.model.selectors import format_selector


def check_no_selector(facts: ServiceFacts) -> Iterator[Finding]:
    svc = facts.service
    if svc.selector:
        yield finding(
            "externalname-has-selector",
            selector=format_selector(svc.selector),
            external_name=svc.external_name,
        )


def check_ports_not_remapped(facts: ServiceFacts) -> Iterator[Finding]:
    svc = facts.service
    for sp in svc.ports:
        if sp.target != sp.port:
            yield finding(
                "externalname-ports-ignored", port=sp.port, target=sp.target, external_name=svc.external_name
            )


def check_not_an_ip(facts: ServiceFacts) -> Iterator[Finding]:
    name = facts.service.external_name
    try:
        ipaddress.ip_address((name or "").strip("."))
    except ValueError:
        return
    yield finding("externalname-is-ip", external_name=name)


CHECKS = (check_no_selector, check_ports_not_remapped, check_not_an_ip)
