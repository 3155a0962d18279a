"""serve's /metrics: the report of now in the Prometheus text format, through the official client.

Why it exists: Prometheus is what users already run for alerting, history and fleets; serve gives it
the report as series. They are written at each scrape from the report serve keeps (a custom
collector, no metric objects kept between scrapes), so a finding that is resolved, or a Service
deleted, leaves no stale series behind. Names follow Prometheus' conventions: the `svc_inspect_`
prefix, base units, `_total` for counters. Label sets are bounded by what the cluster holds: one
series per Service per finding code it has now (the catalogue's codes, a few dozen), per endpoint
state (3), per DNS result (2); never per pod, IP or message. A fleet's serve (`--contexts`) labels
every series with its `context` as well (the kubeconfig's context names: as many as it was given);
one cluster's keeps the series it always had, without that label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
    """Every metric family, with its samples of now: one cluster, no `context` label."""
    return _families([((), g)], ())


def fleet_families(contexts: Sequence[tuple[str, Gauges | None]]) -> Iterator[Metric]:
    """Every metric family of a fleet (serve --contexts), each series labelled with its context; a
    context whose first list is not in yet (None) has only its `svc_inspect_ready` 0."""
    return _families([((context,), g) for context, g in contexts], ("context",))


def _families(
    parts: Sequence[tuple[tuple[str, ...], Gauges | None]], names: tuple[str, ...]
) -> Iterator[Metric]:
    """The families, each holding the samples of every part, its label values (`names`) first."""
    kept = [(prefix, g) for prefix, g in parts if g is not None]
    findings = GaugeMetricFamily(
        "svc_inspect_findings",
        "Findings the Service has now, by code (service is empty for findings about no one Service).",
        labels=[*names, "namespace", "service", "code", "severity"],
    )
    for prefix, g in kept:
        for sr in g.report.services:
            _count(findings, [*prefix, sr.service.namespace, sr.service.name], sr.findings)
        for namespace, found in sorted(g.cluster.items()):
            _count(findings, [*prefix, namespace, ""], found)
    yield findings

    ok = GaugeMetricFamily(
        "svc_inspect_service_ok",
        "1 when the Service has no warning or error finding, else 0.",
        labels=[*names, "namespace", "service", "type"],
    )
    endpoints = GaugeMetricFamily(
        "svc_inspect_endpoints",
        "The Service's endpoints: expected (from the pods its selector picks), actual (in its "
        "EndpointSlices), ready (actual and ready).",
        labels=[*names, "namespace", "service", "state"],
    )
    for prefix, g in kept:
        for sr in g.report.services:
            at = [*prefix, sr.service.namespace, sr.service.name]
            ok.add_metric([*at, sr.service.type.value], 1.0 if sr.status is Status.OK else 0.0)
            endpoints.add_metric([*at, "expected"], len(sr.expected))
            endpoints.add_metric([*at, "actual"], len(sr.actual))
            endpoints.add_metric([*at, "ready"], sum(1 for e in sr.actual if e.ready))
    yield ok
    yield endpoints

    asked = [(prefix, g.dns) for prefix, g in kept if g.dns is not None]
    if asked:
        records = GaugeMetricFamily(
            "svc_inspect_dns_records",
            "The Service's DNS records as the cluster DNS answered them: ok (as the API implies) or "
            "wrong (a finding).",
            labels=[*names, "namespace", "service", "result"],
        )
        for prefix, dns in asked:
            for key, checks in sorted(dns.items()):
                ns, _, name = key.partition("/")
                good = sum(1 for c in checks if c.ok)
                records.add_metric([*prefix, ns, name, "ok"], good)
                records.add_metric([*prefix, ns, name, "wrong"], len(checks) - good)
        yield records

    last_change = GaugeMetricFamily(
        "svc_inspect_last_change_timestamp_seconds",
        "When the report last changed (a Service, an endpoint or a finding), in Unix time.",
        labels=[*names],
    )
    for prefix, g in kept:
        last_change.add_metric([*prefix], g.last_change)
    yield last_change
    ready = GaugeMetricFamily(
        "svc_inspect_ready",
        "1 while the first list is in and every watch follows (as /readyz answers 200), else 0.",
        labels=[*names],
    )
    for prefix, maybe in parts:
        ready.add_metric([*prefix], 1.0 if maybe is not None and maybe.ready else 0.0)
    yield ready
    restarts = CounterMetricFamily(
        "svc_inspect_watch_restarts",
        "Watches started again from a fresh list: each failed attempt while the API server is away, "
        "and each 410 Gone.",
        labels=[*names, "resource"],
    )
    for prefix, g in kept:
        for resource, count in sorted(g.restarts.items()):
            restarts.add_metric([*prefix, resource], count)
    yield restarts


def _count(family: GaugeMetricFamily, at: list[str], found: Iterable[Finding]) -> None:
    counts = Counter((str(f.code), f.severity.value) for f in found)
    for (code, severity), n in sorted(counts.items()):
        family.add_metric([*at, code, severity], n)


class _Now(Collector):
    def __init__(self, made: Callable[[], Iterable[Metric]]) -> None:
        self.made = made

    def collect(self) -> Iterable[Metric]:
        return self.made()


def _exposed(made: Callable[[], Iterable[Metric]]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Now(made))
    return generate_latest(registry)


def exposition(gauges: Gauges) -> bytes:
    """The text a scrape gets (Prometheus' text format 0.0.4)."""
    return _exposed(lambda: families(gauges))


def fleet_exposition(contexts: Sequence[tuple[str, Gauges | None]]) -> bytes:
    """The text a scrape of a fleet's serve gets: every series labelled with its context."""
    return _exposed(lambda: fleet_families(contexts))
