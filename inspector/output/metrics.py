"""serve's /metrics: the report of now in the Prometheus text format, through the official client.

Why it exists: Prometheus is what users already run for alerting, history and fleets; serve gives it
the report as series. They are written at each scrape from the report serve keeps (a custom
collector, no metric objects kept between scrapes), so a finding that is resolved, or a Service
deleted, leaves no stale series behind. Names follow Prometheus' conventions: the `svc_inspect_`
prefix, base units, `_total` for counters. Label sets are bounded by what the cluster holds: one
series per Service per finding code it has now (the catalogue's codes, a few dozen), per endpoint
state (3), per DNS result (2); never per pod, IP or message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from inspector.diagnosis.report import Report, Status
from inspector.dns.oracle import RecordCheck
from inspector.model.findings import Finding

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


@dataclass(frozen=True, slots=True)
class Gauges:
    """What the metrics are made of: the report of now and the watcher's health."""

    report: Report
    cluster: Mapping[str, Sequence[Finding]]  # the findings about no one Service, by namespace
    dns: Mapping[str, Sequence[RecordCheck]] | None  # by Service key; None: DNS not asked
    ready: bool
    restarts: Mapping[str, int]  # by kind (plural)
    last_change: float  # Unix time


def families(g: Gauges) -> Iterator[Metric]:
    """Every metric family, with its samples of now."""
    findings = GaugeMetricFamily(
        "svc_inspect_findings",
        "Findings the Service has now, by code (service is empty for findings about no one Service).",
        labels=["namespace", "service", "code", "severity"],
    )
    for sr in g.report.services:
        _count(findings, sr.service.namespace, sr.service.name, sr.findings)
    for namespace, found in sorted(g.cluster.items()):
        _count(findings, namespace, "", found)
    yield findings

    ok = GaugeMetricFamily(
        "svc_inspect_service_ok",
        "1 when the Service has no warning or error finding, else 0.",
        labels=["namespace", "service", "type"],
    )
    endpoints = GaugeMetricFamily(
        "svc_inspect_endpoints",
        "The Service's endpoints: expected (from the pods its selector picks), actual (in its "
        "EndpointSlices), ready (actual and ready).",
        labels=["namespace", "service", "state"],
    )
    for sr in g.report.services:
        ns, name = sr.service.namespace, sr.service.name
        ok.add_metric([ns, name, sr.service.type.value], 1.0 if sr.status is Status.OK else 0.0)
        endpoints.add_metric([ns, name, "expected"], len(sr.expected))
        endpoints.add_metric([ns, name, "actual"], len(sr.actual))
        endpoints.add_metric([ns, name, "ready"], sum(1 for e in sr.actual if e.ready))
    yield ok
    yield endpoints

    if g.dns is not None:
        records = GaugeMetricFamily(
            "svc_inspect_dns_records",
            "The Service's DNS records as the cluster DNS answered them: ok (as the API implies) or "
            "wrong (a finding).",
            labels=["namespace", "service", "result"],
        )
        for key, checks in sorted(g.dns.items()):
            ns, _, name = key.partition("/")
            good = sum(1 for c in checks if c.ok)
            records.add_metric([ns, name, "ok"], good)
            records.add_metric([ns, name, "wrong"], len(checks) - good)
        yield records

    yield GaugeMetricFamily(
        "svc_inspect_last_change_timestamp_seconds",
        "When the report last changed (a Service, an endpoint or a finding), in Unix time.",
        value=g.last_change,
    )
    yield GaugeMetricFamily(
        "svc_inspect_ready",
        "1 while the first list is in and every watch follows (as /readyz answers 200), else 0.",
        value=1.0 if g.ready else 0.0,
    )
    restarts = CounterMetricFamily(
        "svc_inspect_watch_restarts",
        "Watches started again from a fresh list: each failed attempt while the API server is away, "
        "and each 410 Gone.",
        labels=["resource"],
    )
    for resource, count in sorted(g.restarts.items()):
        restarts.add_metric([resource], count)
    yield restarts


def _count(family: GaugeMetricFamily, namespace: str, service: str, found: Iterable[Finding]) -> None:
    counts = Counter((str(f.code), f.severity.value) for f in found)
    for (code, severity), n in sorted(counts.items()):
        family.add_metric([namespace, service, code, severity], n)


class _Now(Collector):
    def __init__(self, gauges: Gauges) -> None:
        self.gauges = gauges

    def collect(self) -> Iterable[Metric]:
        return families(self.gauges)


def exposition(gauges: Gauges) -> bytes:
    """The text a scrape gets (Prometheus' text format 0.0.4)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Now(gauges))
    return generate_latest(registry)
