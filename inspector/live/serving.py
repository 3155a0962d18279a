"""`serve`'s run: the report of the Services in scope, kept current by the one watcher, published
after every burst of changes for the HTTP side (metrics, probes, /report) to read.

Why it exists: a Service breaks between looks (a rollout relabels pods, a replica drifts); serve
answers all the time. It lists and watches through the one watcher (`informing`, as `-w` and `wait`
do), hears of every object that changed (the informer's `changed`, each with its built form before
and after), and judges again only the Services the change touches (`diagnosis.touching`), on a
snapshot of their namespace alone: a pod update in a namespace of 100 costs that namespace, not the
cluster. What changed in the report is what `-w` prints (`diagnosis.changes.report_changes`, on the
Services judged again): it stamps the last change and, with `--events`, becomes Events on the
Services. Every published `Served` is a frozen value, swapped whole, so a reader on another thread
never sees half a burst.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from inspector.diagnosis.changes import Event, ReportChange, Subject, report_changes
from inspector.diagnosis.report import Report, ServiceReport, cluster_findings, inspect_snapshot
from inspector.diagnosis.touching import touched
from inspector.dns.oracle import RecordCheck
from inspector.errors import DNSUnreachable, InspectorError
from inspector.kube.connection import Client
from inspector.kube.recording import record_event
from inspector.kube.resources import SERVICES, Resource
from inspector.kube.watching import bounded
from inspector.live.asking import DNSInspection, DNSOptions, inspect_dns, with_cluster_domain
from inspector.live.following import FOLLOWED
from inspector.live.informing import Informer, Notify, merged, stream
from inspector.live.inspecting import Scope
from inspector.live.reading import check_namespace
from inspector.model.findings import Finding, Severity
from inspector.model.snapshot import Service, Snapshot
from inspector.settings import WATCH_SECONDS

log = logging.getLogger("inspector.serving")

TICK_S = 1.0  # the longest a burst is waited for: readiness and a stop are seen within this
# with --dns, every Service's records are asked again each DNS_EVERY_S (DNS drifts unseen by the
# API), and a Service with a wrong answer each DNS_RETRY_S (CoreDNS catching up with a change)
DNS_EVERY_S = 60.0
DNS_RETRY_S = 5.0


@dataclass(frozen=True, slots=True)
class Served:
    """What serve shows now: the report (DNS findings included with --dns), the findings about no
    one Service by namespace (the DNS' own under ""), the DNS checks by Service key (with --dns),
    and the watcher's health."""

    report: Report
    cluster: Mapping[str, tuple[Finding, ...]] = field(default_factory=dict)
    dns: Mapping[str, tuple[RecordCheck, ...]] | None = None  # None: --dns not given
    ready: bool = False  # the first list is in and every watch follows
    restarts: Mapping[str, int] = field(
        default_factory=dict
    )  # by kind (plural): watches started again from a fresh list
    last_change: float = 0.0  # Unix time of the last change of the report (its first judgement included)
    interrupted: str = ""  # while not ready: the last failure of an interrupted watch


class Keeper:
    """The report kept current: every object by namespace (nodes under ""), each Service's report,
    each namespace's findings about no one Service; `seen` hears of each change, `judge` re-judges
    what the changes since touched and returns the keys of the Services judged."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[tuple[str, str], Snapshot]] = {}
        self.services: dict[str, dict[str, Service]] = {}
        self.reports: dict[str, ServiceReport] = {}
        self.cluster: dict[str, tuple[Finding, ...]] = {}
        self._dirty: dict[str, set[str]] = {}  # namespace -> keys of the Services to judge again
        self._everything = True  # the first judgement, or a node changed

    def seen(self, resource: Resource, key: str, before: Snapshot | None, after: Snapshot | None) -> None:
        namespace = key.partition("/")[0]
        bucket = self.objects.setdefault(namespace, {})
        if after is None:
            bucket.pop((resource.kind, key), None)
        else:
            bucket[(resource.kind, key)] = after
        services = self.services.setdefault(namespace, {})
        if resource == SERVICES:
            if after is not None and after.services:
                services[key] = after.services[0]
            else:
                services.pop(key, None)
        if self._everything:
            return
        hit = touched(before, after, services.values(), self._selecting_nothing(namespace))
        if hit is None:
            self._everything = True
        else:
            # "": the namespace's findings about no one Service (orphan slices, naming), which any
            # change of a Service, a slice, a pod or a StatefulSet may change
            self._dirty.setdefault(namespace, set()).update({*hit, ""})

    def _selecting_nothing(self, namespace: str) -> list[str]:
        out = []
        for key, service in self.services.get(namespace, {}).items():
            sr = self.reports.get(key)
            if service.selects_pods and (sr is None or not sr.expectation.selected):
                out.append(key)
        return out

    def fill(self, informer: Informer) -> None:
        """What the informer listed, before its watches start."""
        for s, store in informer.stores.items():
            for key, built in store.built.items():
                self.seen(s.resource, key, None, built)

    def judge(self) -> set[str]:
        """Re-judges the Services the changes since the last call touched, each on a snapshot of its
        namespace (and the nodes); the keys of the Services judged (those deleted included)."""
        nodes = [one for _, one in sorted(self.objects.get("", {}).items())]
        if self._everything:
            work = {ns: set(self.services.get(ns, {})) | {""} for ns in self.objects if ns}
            work.update({ns: set(keys) for ns, keys in self._group(self.reports).items() if ns not in work})
        else:
            work = self._dirty
        self._everything, self._dirty = False, {}
        judged: set[str] = set()
        for namespace, keys in work.items():
            # in the order a LIST answers (by name), as every command reads them: the report's
            # rows follow it, whatever order the watch events came in
            kept = [one for _, one in sorted(self.objects.get(namespace, {}).items())]
            snapshot = merged([*kept, *nodes], (namespace,))
            wanted = keys - {""}
            report = inspect_snapshot(snapshot, lambda s, wanted=wanted: s.key in wanted)  # type: ignore[misc]
            for key in wanted:
                self.reports.pop(key, None)
            for sr in report.services:
                self.reports[sr.service.key] = sr
            judged |= wanted
            if "" in keys:
                self.cluster[namespace] = cluster_findings(snapshot)
            if not self.objects.get(namespace):
                self.objects.pop(namespace, None)
                self.services.pop(namespace, None)
                self.cluster.pop(namespace, None)
        return judged

    @staticmethod
    def _group(reports: Mapping[str, ServiceReport]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for key in reports:
            out.setdefault(key.partition("/")[0], set()).add(key)
        return out

    def report(self, namespaces: tuple[str, ...] | None) -> Report:
        """The report of every Service kept, in the order every command shows them."""
        services = tuple(
            sorted(self.reports.values(), key=lambda sr: (sr.service.namespace, sr.service.name))
        )
        cluster = tuple(f for ns in sorted(self.cluster) for f in self.cluster[ns])
        return Report(Snapshot(namespaces=namespaces), services, cluster)


@dataclass
class DNSWatch:
    """serve --dns: each Service's DNS checks, asked again for the Services judged again, for those
    with a wrong answer each DNS_RETRY_S (the cluster DNS follows the API a moment later), and for
    every Service each DNS_EVERY_S; a DNS that answers nothing keeps the last checks and says so once."""

    client: Client
    options: DNSOptions
    notify: Notify
    checks: dict[str, tuple[RecordCheck, ...]] = field(default_factory=dict)
    findings: dict[str, tuple[Finding, ...]] = field(default_factory=dict)
    cluster: tuple[Finding, ...] = ()
    asked_all: float = 0.0
    asked_wrong: float = 0.0
    _failing: bool = False

    def _wrong(self) -> set[str]:
        return {k for k, checks in self.checks.items() if any(not c.ok for c in checks)}

    def due(self) -> bool:
        """Whether some Service's DNS is to be asked again though nothing changed in the API."""
        now = time.monotonic()
        return now - self.asked_all >= DNS_EVERY_S or (
            now - self.asked_wrong >= DNS_RETRY_S and bool(self._wrong())
        )

    def ask(self, report: Report, keys: set[str]) -> set[str]:
        """Asks the DNS about the Services of `keys` in the report (all of them when due); the keys
        whose checks were asked."""
        now = time.monotonic()
        due = now - self.asked_all >= DNS_EVERY_S
        wrong = self._wrong() if now - self.asked_wrong >= DNS_RETRY_S else set()
        if wrong:
            self.asked_wrong = now
        asking = keys | wrong
        services = tuple(sr for sr in report.services if due or sr.service.key in asking)
        present = {sr.service.key for sr in report.services}
        for key in [k for k in self.checks if k not in present]:
            self.checks.pop(key, None)
            self.findings.pop(key, None)
        if not services:
            return set()
        try:
            inspection = inspect_dns(self.client, Report(report.snapshot, services), self.options)
        except DNSUnreachable as exc:
            if not self._failing:
                self.notify(f"dns: {exc}; the last answers are kept")
                self._failing = True
            return set()
        if self._failing:
            self.notify("dns: answering again")
            self._failing = False
        if due:
            self.asked_all = time.monotonic()
        self._keep(inspection, {sr.service.key for sr in services})
        return {sr.service.key for sr in services}

    def _keep(self, inspection: DNSInspection, keys: set[str]) -> None:
        by_service, cluster = inspection.by_service()
        checks: dict[str, list[RecordCheck]] = {k: [] for k in keys}
        for c in inspection.checks:
            if c.record.service in checks:
                checks[c.record.service].append(c)
        for key in keys:
            self.checks[key] = tuple(checks[key])
            self.findings[key] = tuple(by_service.get(key, ()))
        self.cluster = tuple(cluster)


class Recorder:
    """serve --events: an Event on the Service for each finding that appears (Warning for a warning
    or an error, else Normal) or is resolved (Normal). A write that fails is told once, not retried:
    the metrics still say it all."""

    def __init__(self, client: Client, notify: Notify) -> None:
        self.client = client
        self.notify = notify
        self._failed = False

    def record(self, changes: Iterable[ReportChange], report: Report) -> None:
        for change in changes:
            if change.subject is not Subject.FINDING or change.event is Event.MODIFIED:
                continue
            namespace, _, name = change.service.partition("/")
            sr = report.service(namespace, name)
            if change.event is Event.ADDED:
                found = [f for f in (sr.findings if sr else ()) if str(f.code) == change.what]
                warning = any(f.severity is not Severity.INFO for f in found)
                kind, reason = ("Warning" if warning else "Normal"), "FindingAppeared"
                message = f"{change.what}: {change.detail}"
            else:
                kind, reason, message = "Normal", "FindingResolved", f"{change.what}: resolved"
            try:
                record_event(
                    self.client, namespace, name, sr.service.uid if sr else None, kind, reason, message
                )
            except InspectorError as exc:
                if not self._failed:
                    self.notify(f"events: cannot record an Event on {change.service}: {exc}")
                    self._failed = True


def serve(
    client: Client,
    scope: Scope,
    publish: Callable[[Served], None],
    stop: threading.Event,
    *,
    watch_seconds: int = WATCH_SECONDS,
    notify: Notify | None = None,
    dns: DNSOptions | None = None,
    events: bool = False,
) -> None:
    """Lists, publishes the first report (ready), then follows the cluster, publishing after every
    burst and at least every TICK_S (readiness), until `stop` is set; the watches are stopped and
    their threads joined on the way out. Raises the error of a watch that ended for good."""
    tell: Notify = notify or (lambda line: log.warning("%s", line))
    namespace = scope.namespace_in(client)
    if namespace is not None:
        check_namespace(bounded(client), namespace)  # bounded as the lists are
    namespaces = None if namespace is None else (namespace,)
    keeper = Keeper()
    informer = Informer(
        client, [stream(r, namespace) for r in FOLLOWED], watch_seconds, tell, changed=keeper.seen
    )
    informer.load()
    keeper.fill(informer)
    asker = DNSWatch(client, with_cluster_domain(client, dns), tell) if dns is not None else None
    recorder = Recorder(client, tell) if events else None

    shown, _ = _shown(keeper, namespaces, asker, keeper.judge())
    served = Served(shown, _cluster(keeper, asker), _checks(asker), True, _restarts(informer), time.time())
    publish(served)
    with informer:
        while not stop.is_set():
            informer.burst(TICK_S)
            judged = keeper.judge()
            changed_at = served.last_change
            if judged or (asker is not None and asker.due()):
                before = served.report
                shown, asked = _shown(keeper, namespaces, asker, judged)
                judged |= asked  # their DNS answers may have moved without the API saying so
                changes = report_changes(_only(before, judged), _only(shown, judged))
                if changes or before.cluster_findings != shown.cluster_findings:
                    changed_at = time.time()
                if recorder is not None:
                    recorder.record(changes, shown)
            else:
                shown = served.report
            served = Served(
                shown,
                _cluster(keeper, asker),
                _checks(asker),
                informer.healthy,
                _restarts(informer),
                changed_at,
                informer.interruption,
            )
            publish(served)


def _shown(
    keeper: Keeper, namespaces: tuple[str, ...] | None, asker: DNSWatch | None, judged: set[str]
) -> tuple[Report, set[str]]:
    """The report kept, with the DNS findings (the Services judged again asked anew); and the keys
    of the Services whose DNS was asked."""
    report = keeper.report(namespaces)
    if asker is None:
        return report, set()
    asked = asker.ask(report, judged)
    return report.with_findings(asker.findings, cluster=asker.cluster), asked


def _cluster(keeper: Keeper, asker: DNSWatch | None) -> dict[str, tuple[Finding, ...]]:
    """The findings about no one Service by namespace; the DNS' own (the Corefile's, the replicas')
    under ""."""
    out = dict(keeper.cluster)
    if asker is not None and asker.cluster:
        out[""] = asker.cluster
    return out


def _restarts(informer: Informer) -> dict[str, int]:
    """Every kind followed, 0 until its watch first starts again (a counter exists from the start)."""
    return {s.resource.plural: informer.restarts.get(s.resource, 0) for s in informer.streams}


def _checks(asker: DNSWatch | None) -> Mapping[str, tuple[RecordCheck, ...]] | None:
    return None if asker is None else dict(asker.checks)


def _only(report: Report, keys: set[str]) -> Report:
    return Report(report.snapshot, tuple(sr for sr in report.services if sr.service.key in keys))
