"""serve --contexts: one process watching several clusters (live/fleetserving.py), its metrics labelled
by context (output/metrics.py), its HTTP answers (cli/exposing.py). Two in-process API servers hold
the same namespace and Service (shop/web), as in tests/test_fleet.py; a third context, `gone`, points
at a port where nothing listens. (The same on two real clusters: e2e/test_fleet.py.)"""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from inspector.cli import exposing, run
from inspector.diagnosis.report import cluster_findings, inspect_snapshot
from inspector.live import fleetserving
from inspector.live.fleet import Fleet
from inspector.live.fleetserving import ContextServed, FleetServed, serve_fleet
from inspector.live.inspecting import make_scope
from inspector.live.serving import Served
from inspector.output.metrics import Gauges, exposition, fleet_exposition
from tests.conftest import snapshot_of
from tests.fakeapi import WEB, FakeAPI, Reply
from tests.fleetapis import WEST_POD
from tests.test_serving import BROKEN, board, free_port, samples, serve_process

__all__ = ["board"]  # the fixture (serve's HTTP answers on a free port), for the tests below

HELD = Reply(events=[], hold=True)
CUT = Reply(events=[], drop=True)
BUSY = Reply(500, {"kind": "Status", "code": 500, "message": "busy"})
NS = "/api/v1/namespaces/shop"
WATCHED = (
    f"{NS}/services",
    f"{NS}/pods",
    f"{NS}/events",
    "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices",
    "/api/v1/nodes",
    "/apis/apps/v1/namespaces/shop/deployments",
    "/apis/apps/v1/namespaces/shop/statefulsets",
)


def held(api: FakeAPI) -> None:
    """Every watch of serve held open (nothing changes) until the test says otherwise."""
    for path in WATCHED:
        api.watches[path] = [HELD]


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("inspector.kube.connection.BACKOFF_S", 0.01)
    monkeypatch.setattr("inspector.kube.watching.BACKOFF_S", 0.01)
    monkeypatch.setattr("inspector.kube.watching.BACKOFF_MAX_S", 0.05)
    monkeypatch.setattr("inspector.live.serving.TICK_S", 0.1)
    monkeypatch.setattr(fleetserving, "RETRY_S", 0.05)


def wait_for(condition: Callable[[], Any], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# ----------------------------------------------------------------------------- metrics


def gauges(source: str, ready: bool = True, restarts: int = 0) -> Gauges:
    report = inspect_snapshot(snapshot_of(source))
    return Gauges(report, {"shop": cluster_findings(report.snapshot)}, None, ready, {"pods": restarts}, 1.5e9)


MENDED = BROKEN.replace("app: wbe", "app: web")


def test_a_fleets_series_are_labelled_by_context_and_a_context_not_in_yet_says_only_its_readiness() -> None:
    lines = samples(
        fleet_exposition(
            [("east", gauges(MENDED)), ("west", gauges(BROKEN, ready=False, restarts=3)), ("gone", None)]
        )
    )

    assert lines == [
        'svc_inspect_findings{code="endpoints-unexpected",context="west",namespace="shop",service="web",'
        'severity="warning"} 1.0',
        'svc_inspect_findings{code="selector-matches-no-pods",context="west",namespace="shop",service="web",'
        'severity="error"} 1.0',
        'svc_inspect_service_ok{context="east",namespace="shop",service="web",type="ClusterIP"} 1.0',
        'svc_inspect_service_ok{context="west",namespace="shop",service="web",type="ClusterIP"} 0.0',
        'svc_inspect_endpoints{context="east",namespace="shop",service="web",state="expected"} 1.0',
        'svc_inspect_endpoints{context="east",namespace="shop",service="web",state="actual"} 1.0',
        'svc_inspect_endpoints{context="east",namespace="shop",service="web",state="ready"} 1.0',
        'svc_inspect_endpoints{context="west",namespace="shop",service="web",state="expected"} 0.0',
        'svc_inspect_endpoints{context="west",namespace="shop",service="web",state="actual"} 1.0',
        'svc_inspect_endpoints{context="west",namespace="shop",service="web",state="ready"} 1.0',
        'svc_inspect_last_change_timestamp_seconds{context="east"} 1.5e+09',
        'svc_inspect_last_change_timestamp_seconds{context="west"} 1.5e+09',
        'svc_inspect_ready{context="east"} 1.0',
        'svc_inspect_ready{context="west"} 0.0',
        'svc_inspect_ready{context="gone"} 0.0',
        'svc_inspect_watch_restarts_total{context="east",resource="pods"} 0.0',
        'svc_inspect_watch_restarts_total{context="west",resource="pods"} 3.0',
    ]


def test_one_cluster_keeps_its_series_without_a_context_label() -> None:
    text = exposition(gauges(BROKEN)).decode()

    assert "context" not in text
    assert samples(text.encode())[-3:] == [
        "svc_inspect_last_change_timestamp_seconds 1.5e+09",
        "svc_inspect_ready 1.0",
        'svc_inspect_watch_restarts_total{resource="pods"} 0.0',
    ]


# ----------------------------------------------------------------------------- HTTP


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def test_readyz_names_each_context_not_ready_and_metrics_answer_from_the_start(
    board: tuple[exposing.Board, int],
) -> None:
    b, port = board
    east = inspect_snapshot(snapshot_of(MENDED))
    west = inspect_snapshot(snapshot_of(BROKEN))
    refused = "cannot reach the API server http://127.0.0.1:9: Connection refused"

    b.publish(FleetServed((ContextServed("east"), ContextServed("west"))))
    listing = [get(port, p) for p in ("/healthz", "/readyz")], get(port, "/metrics")[0]
    b.publish(
        FleetServed(
            (
                ContextServed("east", Served(east, ready=True)),
                ContextServed("west", Served(west, ready=False, interrupted=refused)),
                ContextServed("gone", failure=refused),
            )
        )
    )
    away = get(port, "/readyz")
    metrics = get(port, "/metrics")[1]
    b.publish(
        FleetServed(
            (ContextServed("east", Served(east, ready=True)), ContextServed("west", Served(west, ready=True)))
        )
    )

    assert listing == (
        [
            (200, "ok\n"),
            (
                503,
                'context "east": the first list is not in yet\ncontext "west": the first list is not in yet\n',
            ),
        ],
        200,
    )
    assert away == (
        503,
        f'context "west": a watch is interrupted: {refused}\n'
        f'context "gone": {refused} (trying again every 0.05s)\n',
    )
    assert 'svc_inspect_ready{context="west"} 0.0' in metrics
    assert 'svc_inspect_ready{context="gone"} 0.0' in metrics
    assert 'svc_inspect_ready{context="east"} 1.0' in metrics
    assert get(port, "/readyz") == (200, "ok\n")


def test_report_is_the_fleet_document_of_diff_contexts(board: tuple[exposing.Board, int]) -> None:
    from inspector.live.fleet import ContextResult
    from inspector.output.documents import report_json, summary_json
    from inspector.output.fleetviews import fleet_json

    b, port = board
    east = inspect_snapshot(snapshot_of(MENDED))
    b.publish(
        FleetServed(
            (
                ContextServed("east", Served(east, ready=True)),
                ContextServed("gone", failure="cannot reach the API server"),
                ContextServed("late"),
            )
        )
    )

    status, text = get(port, "/report")

    assert status == 200
    assert json.loads(text) == fleet_json(
        [
            ContextResult("east", value=east),
            ContextResult("gone", error=Exception("cannot reach the API server")),
            ContextResult("late", error=Exception("the first list is not in yet")),
        ],
        report_json,
        summary_json,
    )
    assert json.loads(text)["summary"]["perContext"][1:] == [
        {"context": "gone", "failed": True},
        {"context": "late", "failed": True},
    ]


# ----------------------------------------------------------------------------- the watchers


def test_a_contexts_watch_restarts_are_kept_across_its_watchers_starts() -> None:
    published: list[FleetServed] = []
    slots = fleetserving._Slots(("east",), published.append)
    report = inspect_snapshot(snapshot_of(MENDED))

    slots.served("east", Served(report, ready=True, restarts={"pods": 2, "services": 0}))
    slots.failed("east", "pods in namespace shop: forbidden")
    after_failure = published[-1].contexts[0]
    slots.served("east", Served(report, ready=True, restarts={"pods": 1, "services": 0}))

    assert after_failure.served is not None and not after_failure.ready
    assert after_failure.served.restarts == {"pods": 3, "services": 1}  # the fresh lists counted
    assert published[-1].contexts[0].served.restarts == {"pods": 4, "services": 1}  # type: ignore[union-attr]
    assert published[-1].ready


def listed(*objects: dict[str, Any], version: str) -> Reply:
    return Reply(body={"kind": "List", "metadata": {"resourceVersion": version}, "items": list(objects)})


@pytest.mark.timeout(60)
def test_a_context_whose_api_server_goes_away_stops_not_the_others(
    fleet_apis: tuple[FakeAPI, FakeAPI], fleet_config: str, dead_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    east, west = fleet_apis
    held(east)
    held(west)
    east_gate, west_gate = threading.Event(), threading.Event()
    typo = {**WEB, "metadata": {**WEB["metadata"], "resourceVersion": "8"}}
    typo["spec"] = {**WEB["spec"], "selector": {"app": "wbe"}}
    # east's Service watch ends when the test opens its gate; the next one brings a selector typo
    east.watches[f"{NS}/services"] = [
        Reply(events=[], hold=True, release=east_gate),
        Reply(events=[{"type": "MODIFIED", "object": typo}], hold=True),
    ]
    # west's pod watch ends when the test opens its gate, and the next one is cut: west's API server
    # is away (its lists answer 500) until the test brings it back
    west.watches[f"{NS}/pods"] = [Reply(events=[], hold=True, release=west_gate), CUT]
    west.script[f"{NS}/pods"] = [listed(WEST_POD, version="7"), BUSY]
    attempts: dict[str, int] = {}
    connect = Fleet.connect

    def counted(self: Fleet, context: str) -> Any:
        attempts[context] = attempts.get(context, 0) + 1
        return connect(self, context)

    monkeypatch.setattr(Fleet, "connect", counted)
    fleet = Fleet(("east", "west", "gone"), fleet_config, 5.0)
    published: list[FleetServed] = []
    told: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=serve_fleet,
        args=(fleet, make_scope("shop"), published.append, stop),
        kwargs={"notify": told.append},
    )

    def now(context: str) -> ContextServed:
        return next(c for c in published[-1].contexts if c.context == context)

    def findings(context: str) -> set[str]:
        served = now(context).served
        return (
            set() if served is None else {str(f.code) for sr in served.report.services for f in sr.findings}
        )

    thread.start()
    try:
        wait_for(lambda: now("east").ready and now("west").ready)
        first_west = findings("west")
        wait_for(lambda: attempts.get("gone", 0) >= 3)  # tried again and again
        west_gate.set()
        wait_for(lambda: not now("west").ready)
        east_gate.set()
        wait_for(lambda: "selector-matches-no-pods" in findings("east"))
        east_moved, west_away = now("east"), now("west")
        west.script[f"{NS}/pods"] = [listed(WEST_POD, version="9")]  # back
        west.watches[f"{NS}/pods"] = [HELD]
        wait_for(lambda: now("west").ready)
    finally:
        stop.set()
        thread.join(20)

    assert not thread.is_alive()
    assert first_west == {"selector-matches-no-pods"}  # west's pod is labelled web-v2
    assert east_moved.ready  # east followed its API server while west's was away
    assert not west_away.ready and west_away.not_ready.startswith("a watch is interrupted: ")
    assert findings("west") == first_west  # west's report stayed while away, and is right after
    refused = f"cannot reach the API server http://127.0.0.1:{dead_port}: Connection refused"
    assert (now("gone").served, now("gone").failure) == (None, refused)
    assert [line for line in told if '"gone"' in line] == [
        f'error: context "gone": {refused}; trying again every 0.05s'
    ]  # told once, though tried again and again
    assert [line for line in told if '"east"' in line] == []
    assert not published[-1].ready  # gone never is
    assert [t.name for t in threading.enumerate() if t.name.startswith(("serve-context-", "watch-"))] == []


# ----------------------------------------------------------------------------- the command


@pytest.mark.timeout(60)
def test_serve_contexts_serves_every_context_and_stops_on_sigterm_with_exit_0(
    fleet_apis: tuple[FakeAPI, FakeAPI], fleet_config: str, dead_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    for api in fleet_apis:
        held(api)
    port = free_port()
    proc = serve_process(port, "-n", "shop", "--contexts", "east,west,gone", "--kubeconfig", fleet_config)
    ready = 'svc_inspect_ready{context="east"} 1.0', 'svc_inspect_ready{context="west"} 1.0'
    try:
        # east and west listed, gone's first attempt over (its connection retries spent)
        wait_for(
            lambda: (
                (
                    all(line in get(port, "/metrics")[1] for line in ready)
                    and "reach" in get(port, "/readyz")[1]
                )
                or proc.poll() is not None
            )
        )
        readyz = get(port, "/readyz")
        metrics = get(port, "/metrics")[1]
        report = json.loads(get(port, "/report")[1])
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (
        run(
            ["diff", "-n", "shop", "--contexts", "east,west,gone", "-o", "json", "--kubeconfig", fleet_config]
        )
        == 3
    )
    diffed = json.loads(capsys.readouterr().out)

    refused = f"cannot reach the API server http://127.0.0.1:{dead_port}: Connection refused"
    assert readyz == (503, f'context "gone": {refused} (trying again every 10s)\n')
    assert 'svc_inspect_ready{context="gone"} 0.0' in metrics
    assert (
        'svc_inspect_service_ok{context="east",namespace="shop",service="web",type="ClusterIP"} 1.0'
        in metrics
    )
    assert (
        'svc_inspect_service_ok{context="west",namespace="shop",service="web",type="ClusterIP"} 0.0'
        in metrics
    )
    assert not [line for line in samples(metrics.encode()) if "context=" not in line]
    assert report == diffed  # the document `diff --contexts -o json` writes, gone's error included
    assert (proc.returncode, err.splitlines()) == (
        0,
        [
            f"serve: listening on 127.0.0.1:{port}",
            f'error: context "gone": {refused}; trying again every 10s',
            "serve: stopped",
        ],
    )


@pytest.mark.parametrize(
    ("argv", "stderr"),
    [
        pytest.param(
            ["--contexts", "east,west", "--context", "east"],
            "error: --contexts asks several contexts and --context names one: give one of them",
            id="with-context",
        ),
        pytest.param(
            ["--contexts", "east,nowhere"],
            'error: context "nowhere" not found in the kubeconfig',
            id="unknown",
        ),
        pytest.param(
            ["--all-contexts", "--dns", "--dns-server", "127.0.0.1:53"],
            "error: --dns-server '127.0.0.1:53' names one DNS server, and 3 contexts are asked: "
            "name one per context, CONTEXT=HOST[:PORT],...",
            id="one-dns-server",
        ),
    ],
)
def test_bad_fleet_input_to_serve_is_one_line_and_exit_2_before_listening(
    argv: list[str], stderr: str, fleet_config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["serve", "--listen", f"127.0.0.1:{free_port()}", "--kubeconfig", fleet_config, *argv])
    assert (code, capsys.readouterr().err) == (2, stderr + "\n")


@pytest.mark.timeout(60)
def test_a_frozen_api_server_is_a_contexts_failure_within_the_bound_and_never_holds_the_stop(
    fleet_apis: tuple[FakeAPI, FakeAPI], fleet_config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    east, west = fleet_apis
    held(east)
    held(west)
    west.script[f"{NS}/pods"] = [Reply(stall=True)]  # connections accepted, nothing answered
    monkeypatch.setattr("inspector.kube.watching.RELIST_TIMEOUT_S", 0.5)
    published: list[FleetServed] = []
    told: list[str] = []
    stop = threading.Event()
    fleet = Fleet(("east", "west"), fleet_config)  # no --request-timeout: the lists' own bound
    thread = threading.Thread(
        target=serve_fleet,
        args=(fleet, make_scope("shop"), published.append, stop),
        kwargs={"notify": told.append},
    )
    thread.start()
    try:
        wait_for(lambda: published[-1].contexts[0].ready and published[-1].contexts[1].failure)
    finally:
        stop.set()
        thread.join(10)

    assert not thread.is_alive()
    west_now = published[-1].contexts[1]
    assert west_now.failure.endswith("did not answer within 0.5s (--request-timeout)"), west_now.failure
    assert told == [f'error: context "west": {west_now.failure}; trying again every 0.05s']
