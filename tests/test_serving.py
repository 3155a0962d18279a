"""serve: the report kept current change by change (live/serving.py's Keeper, diagnosis/touching.py),
the metrics written from it (output/metrics.py), the HTTP answers (cli/exposing.py), readiness through
an interruption of the in-process API server, and the clean stop on SIGTERM."""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inspector.cli import exposing, run
from inspector.diagnosis.report import Report, cluster_findings, inspect_snapshot
from inspector.diagnosis.touching import touched
from inspector.kube.connection import Client
from inspector.kube.resources import (
    DEPLOYMENTS,
    ENDPOINTSLICES,
    NODES,
    PODS,
    SERVICES,
    STATEFULSETS,
    Resource,
)
from inspector.live.inspecting import make_scope
from inspector.live.serving import Keeper, Served, serve
from inspector.model.building import SnapshotBuilder
from inspector.model.snapshot import Snapshot
from inspector.output.documents import report_json
from inspector.output.metrics import Gauges, exposition
from tests.conftest import load, snapshot_of
from tests.fakeapi import WEB, WEB_1, FakeAPI, Reply, kubeconfig

KINDS: dict[str, Resource] = {
    r.kind: r for r in (SERVICES, PODS, ENDPOINTSLICES, NODES, DEPLOYMENTS, STATEFULSETS)
}
SOURCES = ("shop.yaml", "drift.yaml", "selection.yaml", "kwok-node.yaml", "misconfigured-types.yaml")


def key(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace') or ''}/{meta['name']}"


def one(obj: dict[str, Any] | None) -> Snapshot | None:
    return None if obj is None else SnapshotBuilder().add([obj]).build()


class Cluster:
    """Manifests changed one at a time, told to a Keeper as the informer tells it."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.objects = {(d["kind"], key(d)): d for d in docs if d["kind"] in KINDS}
        self.keeper = Keeper()
        for (kind, k), obj in self.objects.items():
            self.keeper.seen(KINDS[kind], k, None, one(obj))
        self.keeper.judge()

    def change(self, kind: str, k: str, after: dict[str, Any] | None) -> set[str]:
        before = self.objects.get((kind, k))
        if after is None:
            self.objects.pop((kind, k), None)
        else:  # in place, as the informer's store keeps it
            self.objects[(kind, k)] = after
        self.keeper.seen(KINDS[kind], k, one(before), one(after))
        return self.keeper.judge()

    def fresh(self) -> Report:
        listed = [obj for _, obj in sorted(self.objects.items(), key=lambda item: item[0][1])]  # as LISTs
        return inspect_snapshot(SnapshotBuilder().add(listed).build())


def mutations(docs: list[dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """For every object, a change a rollout or a user makes: pods relabelled, then some deleted;
    selectors typed wrong; slices emptied; nodes relabelled; workloads scaled to zero; and a few
    objects deleted outright."""
    for i, d in enumerate(docs):
        kind = d["kind"]
        if kind not in KINDS:
            continue
        changed = copy.deepcopy(d)
        if kind == "Pod":
            labels = changed["metadata"].setdefault("labels", {})
            for label in list(labels)[:1]:
                labels[label] += "-x"
        elif kind == "Service" and changed.get("spec", {}).get("selector"):
            changed["spec"]["selector"] = {k: v + "-typo" for k, v in changed["spec"]["selector"].items()}
        elif kind == "EndpointSlice":
            changed["endpoints"] = []
        elif kind == "Node":
            changed["metadata"].setdefault("labels", {})["topology.kubernetes.io/zone"] = "zone-z"
        elif kind in ("Deployment", "StatefulSet"):
            changed["spec"]["replicas"] = 0
        yield kind, key(d), changed
        if i % 3 == 0:
            yield kind, key(d), None
            if i % 2 == 0:  # and created again: the watch tells it last, a LIST in its place
                yield kind, key(d), changed


def same(kept: Report, fresh: Report) -> None:
    assert [sr.service.key for sr in kept.services] == [sr.service.key for sr in fresh.services]
    for a, b in zip(kept.services, fresh.services, strict=True):
        assert a == b, a.service.key
    assert sorted(map(repr, kept.cluster_findings)) == sorted(map(repr, fresh.cluster_findings))


def test_the_kept_report_is_a_fresh_judgement_of_the_cluster_after_every_change() -> None:
    docs = load(*SOURCES)
    cluster = Cluster(docs)
    same(cluster.keeper.report(None), cluster.fresh())
    steps = 0
    for kind, k, after in mutations(docs):
        cluster.change(kind, k, after)
        same(cluster.keeper.report(None), cluster.fresh())
        steps += 1
    assert steps >= 40  # every kind of the manifests was changed, many deleted


def test_a_pod_relabelled_judges_again_only_the_services_that_selected_or_now_select_it() -> None:
    docs = load(*SOURCES)
    cluster = Cluster(docs)
    pod = next(d for d in docs if d["kind"] == "Pod" and d["metadata"].get("labels", {}).get("app") == "web")
    namespace = pod["metadata"]["namespace"]
    relabelled = copy.deepcopy(pod)
    relabelled["metadata"]["labels"]["app"] = "api"
    fresh = cluster.fresh()
    selecting = {
        sr.service.key
        for sr in fresh.services
        if sr.service.namespace == namespace
        and sr.service.selects_pods
        and (
            all(pod["metadata"]["labels"].get(a) == b for a, b in (sr.service.selector or {}).items())
            or all(
                relabelled["metadata"]["labels"].get(a) == b for a, b in (sr.service.selector or {}).items()
            )
            or not sr.expectation.selected
        )
    }

    judged = cluster.change("Pod", key(pod), relabelled)

    assert judged == selecting
    assert len(judged) < len(fresh.services)
    same(cluster.keeper.report(None), cluster.fresh())


SVC = snapshot_of(
    """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}, ports: [{port: 80}]}
"""
).services


def obj(text: str) -> Snapshot:
    return snapshot_of(text)


POD_WEB = "kind: Pod\napiVersion: v1\nmetadata: {name: p, namespace: shop, labels: {app: web}}\n"
POD_API = "kind: Pod\napiVersion: v1\nmetadata: {name: p, namespace: shop, labels: {app: api}}\n"
POD_DB = "kind: Pod\napiVersion: v1\nmetadata: {name: p, namespace: shop, labels: {app: db}}\n"
SLICE = (
    "kind: EndpointSlice\napiVersion: discovery.k8s.io/v1\naddressType: IPv4\n"
    "metadata: {name: web-x, namespace: shop, labels: {kubernetes.io/service-name: web}}\n"
)
NODE = "kind: Node\napiVersion: v1\nmetadata: {name: n1}\n"


@pytest.mark.parametrize(
    ("before", "after", "selecting_nothing", "expected"),
    [
        (POD_WEB, POD_WEB.replace("web}", "web, tier: a}"), (), {"shop/web"}),
        (POD_WEB, POD_API, (), {"shop/web", "shop/api"}),
        (None, POD_DB, (), set()),
        (None, POD_DB, ("shop/api",), {"shop/api"}),
        (SLICE, None, (), {"shop/web"}),
        (NODE, NODE.replace("n1}", "n1, labels: {a: b}}"), (), None),
    ],
    ids=[
        "a pod's label changes: the Service selecting it",
        "a pod relabelled from web to api: both",
        "a pod no Service selects: none",
        "... but a Service selecting nothing looks at it for near misses",
        "a slice deleted: the Service it names",
        "a node: every Service",
    ],
)
def test_a_change_touches_the_services_whose_report_it_may_change(
    before: str | None, after: str | None, selecting_nothing: tuple[str, ...], expected: set[str] | None
) -> None:
    got = touched(obj(before) if before else None, obj(after) if after else None, SVC, selecting_nothing)
    assert got == expected


# ----------------------------------------------------------------------------- the metrics

BROKEN = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {clusterIP: 10.96.0.20, selector: {app: wbe}, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {nodeName: node-a, containers: [{name: web, ports: [{name: http, containerPort: 80}]}]}
status: {phase: Running, podIP: 10.244.0.5, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 80, protocol: TCP}]
endpoints:
  - addresses: [10.244.0.5]
    conditions: {ready: true, serving: true, terminating: false}
    targetRef: {kind: Pod, name: web-1, namespace: shop}
"""


def samples(text: bytes) -> list[str]:
    return [line for line in text.decode().splitlines() if not line.startswith("#")]


def gauges(report: Report, ready: bool = True) -> Gauges:
    return Gauges(
        report, {"shop": cluster_findings(report.snapshot)}, None, ready, {"pods": 2, "services": 0}, 1.5e9
    )


def test_metrics_say_each_finding_per_service_its_endpoints_and_the_watchers_health() -> None:
    broken = inspect_snapshot(snapshot_of(BROKEN))

    # the slice still lists web-1: the EndpointSlice controller has not caught up with the typo
    assert samples(exposition(gauges(broken))) == [
        'svc_inspect_findings{code="endpoints-unexpected",namespace="shop",service="web",severity="warning"} 1.0',
        'svc_inspect_findings{code="selector-matches-no-pods",namespace="shop",service="web",severity="error"} 1.0',
        'svc_inspect_service_ok{namespace="shop",service="web",type="ClusterIP"} 0.0',
        'svc_inspect_endpoints{namespace="shop",service="web",state="expected"} 0.0',
        'svc_inspect_endpoints{namespace="shop",service="web",state="actual"} 1.0',
        'svc_inspect_endpoints{namespace="shop",service="web",state="ready"} 1.0',
        "svc_inspect_last_change_timestamp_seconds 1.5e+09",
        "svc_inspect_ready 1.0",
        'svc_inspect_watch_restarts_total{resource="pods"} 2.0',
        'svc_inspect_watch_restarts_total{resource="services"} 0.0',
    ]


def test_a_finding_resolved_leaves_no_series_behind() -> None:
    mended = inspect_snapshot(snapshot_of(BROKEN.replace("app: wbe", "app: web")))

    lines = samples(exposition(gauges(mended, ready=False)))

    assert not [line for line in lines if line.startswith("svc_inspect_findings")]
    assert 'svc_inspect_service_ok{namespace="shop",service="web",type="ClusterIP"} 1.0' in lines
    assert 'svc_inspect_endpoints{namespace="shop",service="web",state="ready"} 1.0' in lines
    assert "svc_inspect_ready 0.0" in lines


def test_findings_about_no_one_service_have_an_empty_service_label() -> None:
    orphan = inspect_snapshot(snapshot_of("drift.yaml"))
    assert orphan.cluster_findings  # the slice of a Service that is gone

    lines = samples(exposition(gauges(orphan)))

    assert (
        'svc_inspect_findings{code="orphan-endpointslice",namespace="shop",service="",severity="warning"} 1.0'
        in lines
    )


# ----------------------------------------------------------------------------- HTTP


def get(port: int, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


@pytest.fixture
def board() -> Iterator[tuple[exposing.Board, int]]:
    board = exposing.Board()
    server, thread = exposing.listening(("127.0.0.1", 0), board)
    yield board, server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


def test_readyz_is_503_until_the_first_list_is_in_and_while_a_watch_is_interrupted(
    board: tuple[exposing.Board, int],
) -> None:
    b, port = board
    report = inspect_snapshot(snapshot_of(BROKEN))

    first = [get(port, p)[0] for p in ("/healthz", "/readyz", "/metrics", "/report")]
    b.publish(Served(report, ready=True))
    listed = [get(port, p)[0] for p in ("/healthz", "/readyz", "/metrics", "/report")]
    b.publish(Served(report, ready=False))
    away = get(port, "/readyz")

    assert first == [200, 503, 503, 503]
    assert listed == [200, 200, 200, 200]
    assert away == (503, "text/plain; charset=utf-8", "a watch is interrupted\n")
    assert get(port, "/nothing")[0] == 404


def test_metrics_are_prometheus_text_and_report_is_the_diff_json_document(
    board: tuple[exposing.Board, int],
) -> None:
    import json

    b, port = board
    report = inspect_snapshot(snapshot_of(BROKEN))
    b.publish(Served(report, ready=True))

    status, kind, text = get(port, "/metrics")
    _, report_kind, document = get(port, "/report")

    assert (status, kind) == (200, "text/plain; version=0.0.4; charset=utf-8")
    assert "# TYPE svc_inspect_findings gauge" in text
    assert report_kind == "application/json"
    assert json.loads(document) == report_json(report)


def test_a_bad_listen_address_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["serve", "--listen", "localhost"])
    assert (code, capsys.readouterr().err) == (
        2,
        "error: invalid --listen 'localhost': use HOST:PORT, e.g. 0.0.0.0:9847 or 127.0.0.1:9847\n",
    )


# ----------------------------------------------------------------------------- against the API server

NAMESPACE = "/api/v1/namespaces/shop"
HELD = Reply(events=[], hold=True)
CUT = Reply(events=[], drop=True)
BUSY = Reply(500, {"kind": "Status", "code": 500, "message": "busy"})


def listed(*objects: dict[str, Any], version: str = "7") -> Reply:
    return Reply(body={"kind": "List", "metadata": {"resourceVersion": version}, "items": list(objects)})


def shop(api: FakeAPI) -> None:
    api.script[NAMESPACE] = [Reply(body={"metadata": {"name": "shop"}})]
    api.script[f"{NAMESPACE}/services"] = [listed(WEB), HELD]
    api.script[f"{NAMESPACE}/pods"] = [listed(WEB_1), HELD]
    api.script["/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"] = [listed(), HELD]


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("inspector.kube.connection.BACKOFF_S", 0.01)
    monkeypatch.setattr("inspector.kube.watching.BACKOFF_S", 0.01)
    monkeypatch.setattr("inspector.kube.watching.BACKOFF_MAX_S", 0.05)
    monkeypatch.setattr("inspector.live.serving.TICK_S", 0.1)


@pytest.mark.timeout(60)
def test_serve_is_not_ready_while_the_api_server_is_away_and_ready_again_with_what_changed(
    api: FakeAPI, client: Client
) -> None:
    shop(api)
    api.script[f"{NAMESPACE}/pods"] = [listed(WEB_1), CUT, BUSY]  # 500s until the test says otherwise
    published: list[Served] = []
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(client, make_scope("shop"), published.append, stop))
    thread.start()
    try:
        wait_for(lambda: any(not s.ready for s in published[1:]))
        api.script[f"{NAMESPACE}/pods"] = [listed(version="9"), HELD]  # back, and web-1 is gone
        wait_for(lambda: published[-1].ready)
    finally:
        stop.set()
        thread.join(10)

    assert not thread.is_alive()
    first, last = published[0], published[-1]
    assert first.ready and first.report.services[0].expectation.selected
    web = last.report.services[0]
    assert [str(f.code) for f in web.findings] == ["selector-matches-no-pods"]
    assert last.restarts["pods"] >= 1 and last.restarts["services"] == 0
    assert last.last_change > first.last_change
    assert [t.name for t in threading.enumerate() if t.name.startswith("watch-")] == []


def wait_for(condition: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_process(port: int, *args: str) -> subprocess.Popen[str]:
    """The installed executable's `serve ARGS --listen 127.0.0.1:PORT`, its stderr piped, its watches
    ending every 30 s."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("kubectl-svc_inspect")),
            "serve",
            *args,
            "--listen",
            f"127.0.0.1:{port}",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "INSPECTOR_WATCH_SECONDS": "30"},
    )


@pytest.mark.timeout(60)
def test_sigterm_stops_serve_with_exit_0_no_thread_left_and_its_port_closed(
    api: FakeAPI, tmp_path: Path
) -> None:
    shop(api)
    port = free_port()
    proc = serve_process(port, "--kubeconfig", str(kubeconfig(api, tmp_path)))
    try:
        wait_for(lambda: _status(port, "/readyz") == 200 or proc.poll() is not None)
        metrics = get(port, "/metrics")[2]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    code = proc.returncode

    assert 'svc_inspect_endpoints{namespace="shop",service="web",state="expected"} 1.0' in metrics
    # exit 0 is given only once every thread of serve's has ended (else: exit 1, naming them)
    assert (code, err.splitlines()) == (0, [f"serve: listening on 127.0.0.1:{port}", "serve: stopped"])
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def _status(port: int, path: str) -> int:
    try:
        return get(port, path)[0]
    except OSError:
        return 0


# ----------------------------------------------------------------------------- --dns


def test_serve_dns_asks_again_soon_about_a_wrong_answer_and_about_the_rest_each_minute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from inspector.dns.oracle import RecordCheck
    from inspector.dns.querynames import Nameserver
    from inspector.dns.records import Kind, Record
    from inspector.live import serving
    from inspector.live.asking import DNSInspection, DNSOptions
    from inspector.model.findings import finding

    report = inspect_snapshot(
        snapshot_of(BROKEN, BROKEN.replace("name: web,", "name: api,").replace("web-abc", "api-abc"))
    )
    lagging = {"shop/web"}  # CoreDNS has not caught up with web yet
    asked: list[set[str]] = []

    def inspect_dns(client: Any, sub: Report, options: Any) -> DNSInspection:
        keys = {sr.service.key for sr in sub.services}
        asked.append(keys)
        checks = []
        for key in sorted(keys):
            name = key.split("/")[1]
            record = Record(key, f"{name}.shop.svc.cluster.local.", "A", ("10.96.0.20",), Kind.SERVICE)
            wrong = (
                (finding("dns-nxdomain", qname=record.qname, qtype="A", expected="10.96.0.20"),)
                if key in lagging
                else ()
            )
            checks.append(RecordCheck(record, None, None, wrong))
        return DNSInspection(checks, Nameserver("s"))

    clock = [1000.0]
    monkeypatch.setattr(serving, "inspect_dns", inspect_dns)
    monkeypatch.setattr(serving.time, "monotonic", lambda: clock[0])
    watch = serving.DNSWatch(client=None, options=DNSOptions(), notify=print)  # type: ignore[arg-type]

    watch.ask(report, set())  # the first time: every Service
    clock[0] += serving.DNS_RETRY_S
    lagging.clear()
    due_soon = watch.due()
    watch.ask(report, set())  # the wrong one again, alone
    clock[0] += serving.DNS_RETRY_S
    quiet = watch.due()  # nothing wrong, the minute not over: nothing to ask
    clock[0] += serving.DNS_EVERY_S
    watch.ask(report, set())

    assert asked == [{"shop/api", "shop/web"}, {"shop/web"}, {"shop/api", "shop/web"}]
    assert (due_soon, quiet) == (True, False)
    assert [c.ok for c in watch.checks["shop/web"]] == [True]
