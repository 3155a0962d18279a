"""The watch error policy of `-w` and `wait` (kube/watching.py, told by live/informing.py), against the
in-process API server: connections reset mid-watch, 500s, 429 with Retry-After, 410 Gone, 401 and 403
on reconnect. Transient failures are retried and answered by listing again (what changed meanwhile
arrives as changes, nothing twice); a long interruption is one line, and its end another; lost
credentials or permission end the watch in one line, exit 3."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from inspector.cli import run
from inspector.diagnosis.changes import Event, Subject, report_changes
from inspector.diagnosis.readiness import Target
from inspector.errors import AuthFailed, ClusterUnreachable, Forbidden, RequestTimedOut
from inspector.kube.connection import Client
from inspector.kube.resources import PODS, REPLICASETS
from inspector.kube.watching import Change, Interrupted, Reset, Stream, Watch
from inspector.live.following import follow
from inspector.live.informing import Informer, Store
from inspector.live.inspecting import make_scope
from inspector.live.reading import readable
from inspector.live.waiting import wait_for
from tests.fakeapi import WEB, WEB_1, FakeAPI, Reply, kubeconfig

NAMESPACE = "/api/v1/namespaces/shop"
SERVICES_PATH = f"{NAMESPACE}/services"
PODS_PATH = f"{NAMESPACE}/pods"
SLICES_PATH = "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"

BUSY = Reply(500, {"kind": "Status", "code": 500, "message": "busy"})
HELD = Reply(events=[], hold=True)  # a watch that stays open, quiet, until the test ends
RESET = Reply(drop=True)  # the connection reset before any answer
CUT = Reply(events=[], drop=True)  # a watch that starts, then its connection is reset


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("inspector.kube.connection.BACKOFF_S", 0.01)
    monkeypatch.setattr("inspector.kube.watching.BACKOFF_S", 0.01)
    monkeypatch.setattr("inspector.kube.watching.BACKOFF_MAX_S", 0.05)


def listed(*objects: dict[str, Any], version: str = "7") -> Reply:
    return Reply(body={"kind": "List", "metadata": {"resourceVersion": version}, "items": list(objects)})


def status(code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(code, {"kind": "Status", "code": code, "message": message}, headers or {})


def bare_pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "shop"}}


SLICE = {
    "metadata": {"name": "web-abc", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
    "addressType": "IPv4",
    "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
    "endpoints": [
        {
            "addresses": ["10.244.0.5"],
            "conditions": {"ready": True, "serving": True, "terminating": False},
            "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "shop"},
        }
    ],
}


def shop(api: FakeAPI) -> None:
    """Namespace shop exists; Service web, its pod web-1 and their slice are listed, then watched."""
    api.script[NAMESPACE] = [Reply(body={"metadata": {"name": "shop"}})]
    api.script[SERVICES_PATH] = [listed(WEB), HELD]
    api.script[PODS_PATH] = [listed(WEB_1), HELD]
    api.script[SLICES_PATH] = [listed(SLICE), HELD]


def watch_requests(api: FakeAPI, path: str) -> list[list[str] | None]:
    return [q.get("resourceVersion") for _, p, q in api.seen if p == path and "watch" in q]


# ----------------------------------------------------------------------------- the watch's own policy


def test_a_reset_watch_is_retried_through_errors_and_answered_by_listing_again(
    api: FakeAPI, client: Client
) -> None:
    api.script[PODS_PATH] = [
        CUT,  # the watch from version 7
        RESET,  # the re-list: the API server is still away
        *[BUSY] * 5,  # then answers 500 (the request and the transport's 4 retries)
        listed(bare_pod("web-1"), bare_pod("web-2"), version="9"),
        HELD,
    ]
    stream = Stream(PODS, "shop")

    with Watch(client, watch_seconds=30) as watch:
        watch.follow(stream, "7")
        got = [watch.events.get(timeout=10)]
        while not isinstance(got[-1][1], Reset):
            got.append(watch.events.get(timeout=10))
        with pytest.raises(queue.Empty):  # then the quiet watch
            watch.events.get(timeout=0.3)
    *failed, second = got

    assert [type(e) for s, e in failed] == [Interrupted] * 3  # the cut watch, the reset list, the 500s
    reasons = [e.reason for _, e in failed if isinstance(e, Interrupted)]
    assert reasons[0].startswith(f"cannot reach the API server {client.server}")
    assert reasons[-1] == f"the API server {client.server} answered 500 (busy) after 4 retries"
    assert second == (
        stream,
        Reset([{**bare_pod("web-1"), "kind": "Pod"}, {**bare_pod("web-2"), "kind": "Pod"}], "9"),
    )
    assert watch_requests(api, PODS_PATH) == [["7"], ["9"]]


def test_a_re_list_that_gets_no_answer_gives_up_in_time_and_is_tried_again(
    api: FakeAPI, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("inspector.kube.watching.RELIST_TIMEOUT_S", 0.5)
    api.script[PODS_PATH] = [CUT, Reply(stall=True), listed(bare_pod("web-1"), version="9"), HELD]
    frozen = Client(client.api, client.context, client.namespace, client.server)  # no --request-timeout

    with Watch(frozen, watch_seconds=30) as watch:
        watch.follow(Stream(PODS, "shop"), "7")
        events = [watch.events.get(timeout=10)[1] for _ in range(3)]

    assert [type(e) for e in events] == [Interrupted, Interrupted, Reset]
    assert isinstance(events[1], Interrupted) and "did not answer within 0.5s" in events[1].reason


def test_a_frozen_api_server_is_noticed_by_the_liveness_check_and_its_quiet_watch_shut(
    api: FakeAPI, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watch that stays open and quiet says nothing by itself; /version going unanswered does."""
    monkeypatch.setattr("inspector.kube.watching.LIVENESS_S", 0.1)
    monkeypatch.setattr("inspector.kube.watching.LIVENESS_TIMEOUT_S", 0.3)
    api.script["/version"] = [Reply(body={"major": "1"}), Reply(stall=True)]
    api.script[PODS_PATH] = [HELD, Reply(stall=True)]  # the watch, then a re-list: frozen too
    frozen = Client(client.api, client.context, client.namespace, client.server, request_timeout=0.5)

    before = time.monotonic()
    with Watch(frozen, watch_seconds=30) as watch:
        watch.follow(Stream(PODS, "shop"), "7")
        _, event = watch.events.get(timeout=10)

    assert isinstance(event, Interrupted), event
    assert event.reason == f"the API server {client.server} did not answer /version within 0.3s"
    # since: when the API server last answered (the first /version), not when the watch was shut
    assert event.since is not None and before <= event.since < time.monotonic()
    assert [p for _, p, _ in api.seen].count("/version") >= 2


def test_a_watch_answered_410_gone_lists_again_without_an_interruption(api: FakeAPI, client: Client) -> None:
    api.script[PODS_PATH] = [
        status(410, "too old resource version"),
        listed(bare_pod("web-1"), version="42"),
        HELD,
    ]

    with Watch(client, watch_seconds=30) as watch:
        watch.follow(Stream(PODS, "shop"), "1")
        event = watch.events.get(timeout=10)

    assert event == (Stream(PODS, "shop"), Reset([{**bare_pod("web-1"), "kind": "Pod"}], "42"))


def test_a_429_on_reconnect_is_waited_out_as_its_retry_after_says(api: FakeAPI, client: Client) -> None:
    api.script[PODS_PATH] = [
        CUT,
        status(429, "too many requests", {"Retry-After": "1"}),
        listed(version="9"),
        HELD,
    ]

    with Watch(client, watch_seconds=30) as watch:
        watch.follow(Stream(PODS, "shop"), "7")
        events = [watch.events.get(timeout=10)[1] for _ in range(2)]

    assert [type(e) for e in events] == [Interrupted, Reset]
    lists = [t for t, p, q in api.seen if p == PODS_PATH and "watch" not in q]
    assert lists[1] - lists[0] >= 0.95


# ----------------------------------------------------------------------------- what a change means


def test_a_fresh_list_is_compared_with_what_was_kept_so_nothing_is_lost_or_told_twice() -> None:
    store = Store("Pod")
    store.reset([bare_pod("web-0"), bare_pod("web-1")], "7")
    ready = {**WEB_1, "metadata": {**WEB_1["metadata"], "resourceVersion": "8"}}

    assert store.apply(Change("MODIFIED", ready)) == {"shop/web-1"}
    assert (
        store.apply(Change("MODIFIED", {**ready, "metadata": {**ready["metadata"], "resourceVersion": "9"}}))
        == set()
    )
    assert store.apply(Change("BOOKMARK", {"metadata": {"resourceVersion": "10"}})) == set()
    # while away: web-0 deleted, web-2 created, web-1 unchanged
    assert store.reset([ready, bare_pod("web-2")], "12") == {"shop/web-0", "shop/web-2"}
    assert store.reset([ready, bare_pod("web-2")], "13") == set()


@pytest.mark.timeout(60)
def test_following_through_an_interruption_tells_what_changed_meanwhile_once(
    api: FakeAPI, client: Client
) -> None:
    shop(api)
    emptied = {**SLICE, "endpoints": []}
    api.script[SLICES_PATH] = [listed(SLICE), CUT, RESET, listed(emptied, version="9"), HELD]
    api.script[PODS_PATH] = [listed(WEB_1), CUT, listed(WEB_1, version="9"), HELD]
    told: list[str] = []

    reports = follow(client, make_scope("shop"), notify=told.append)
    before = next(reports)
    changes = []
    while not any(c.subject is Subject.ENDPOINT for c in changes):
        after = next(reports)
        changes += report_changes(before, after)
        before = after
    reports.close()

    assert [(c.event, c.subject, c.what) for c in changes if c.subject is Subject.ENDPOINT] == [
        (Event.DELETED, Subject.ENDPOINT, "10.244.0.5:80")
    ]
    assert told == []  # a blip shorter than NOTICE_AFTER_S is told by its changes alone


def test_an_interruption_that_lasts_is_one_line_and_its_end_another(
    api: FakeAPI, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("inspector.live.informing.NOTICE_AFTER_S", 0.3)
    api.script[PODS_PATH] = [listed(bare_pod("web-1")), CUT, BUSY]  # 500 until the test says otherwise
    told: list[str] = []
    informer = Informer(client, [Stream(PODS, "shop")], notify=told.append)
    informer.load()

    with informer:
        quiet = informer.burst(timeout=1.5)
        during = list(told)
        api.script[PODS_PATH] = [listed(bare_pod("web-1"), bare_pod("web-2"), version="9"), HELD]
        back = informer.burst(timeout=10)

    assert quiet == 0 and back == 1
    assert len(during) == 1  # the reason is the last failure's: the cut watch's, or the 500s'
    assert during[0].startswith("watch interrupted: ") and during[0].endswith(", retrying")
    assert client.server in during[0]
    assert told[1:] == ["watch resumed: the API server answers again; what changed meanwhile follows"]
    assert sorted(informer.stores[Stream(PODS, "shop")].objects) == ["shop/web-1", "shop/web-2"]


# ----------------------------------------------------------------------------- errors that must surface


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (
            status(403, 'pods is forbidden: User "u" cannot watch resource "pods"'),
            Forbidden,
            "cannot watch pods in namespace shop any more: the permission to list and watch pods is missing "
            '(forbidden: pods is forbidden: User "u" cannot watch resource "pods")',
        ),
        (
            status(401, "Unauthorized"),
            AuthFailed,
            "cannot watch pods in namespace shop any more: the API server {server} rejected the credentials "
            "of context 'fake' (401 Unauthorized)",
        ),
    ],
    ids=["403", "401"],
)
def test_credentials_or_permission_lost_on_reconnect_end_the_watch_naming_what_is_missing(
    api: FakeAPI, client: Client, reply: Reply, error: type[Exception], message: str
) -> None:
    api.script[PODS_PATH] = [listed(bare_pod("web-1")), CUT, reply]
    informer = Informer(client, [Stream(PODS, "shop")])
    informer.load()

    with informer, pytest.raises(error) as caught:
        informer.burst(timeout=10)

    assert str(caught.value) == message.format(server=client.server)


def test_a_403_from_an_api_server_still_starting_is_an_interruption_and_the_watch_goes_on(
    api: FakeAPI, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kube-apiserver answers before its RBAC caches are loaded and refuses requests until then (seen
    on kind after a restart): while /readyz says it is not ready, a 403 is retried, not the end."""
    monkeypatch.setattr("inspector.live.informing.NOTICE_AFTER_S", 0.0)
    refused = status(403, 'forbidden: User "kubernetes-admin" cannot get path "/readyz"')
    not_ready = Reply(500, b"[-]poststarthook/rbac/bootstrap-roles failed: not finished\nreadyz check failed")
    api.script["/readyz"] = [refused, not_ready, Reply(body=b"ok")]  # as kind's, after a restart
    starting = status(403, 'pods is forbidden: User "kubernetes-admin" cannot list resource "pods"')
    api.script[PODS_PATH] = [
        listed(bare_pod("web-1")),
        CUT,
        starting,  # the re-list, /readyz not ready
        starting,  # again, still not ready
        listed(bare_pod("web-1"), bare_pod("web-2"), version="9"),
        HELD,
    ]
    told: list[str] = []
    informer = Informer(client, [Stream(PODS, "shop")], notify=told.append)
    informer.load()

    with informer:
        changed = informer.burst(timeout=10)

    assert changed == 1
    assert sorted(informer.stores[Stream(PODS, "shop")].objects) == ["shop/web-1", "shop/web-2"]
    assert told[0].startswith(f"watch interrupted: cannot reach the API server {client.server}"), told
    assert told[-1] == "watch resumed: the API server answers again; what changed meanwhile follows"
    assert [p for _, p, _ in api.seen].count("/readyz") == 2


def test_a_403_from_a_ready_api_server_still_ends_the_watch(api: FakeAPI, client: Client) -> None:
    api.script["/readyz"] = [Reply(body=b"ok")]
    api.script[PODS_PATH] = [listed(bare_pod("web-1")), CUT, status(403, "pods is forbidden")]
    informer = Informer(client, [Stream(PODS, "shop")])
    informer.load()

    with informer, pytest.raises(Forbidden) as caught:
        informer.burst(timeout=10)

    assert "the permission to list and watch pods is missing (forbidden: pods is forbidden)" in str(
        caught.value
    )
    assert [p for _, p, _ in api.seen].count("/readyz") == 1


@pytest.mark.timeout(60)
def test_dash_w_whose_permission_is_revoked_ends_in_one_line_and_exit_3(
    api: FakeAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop(api)
    api.script[PODS_PATH] = [listed(WEB_1), CUT, status(403, "pods is forbidden")]

    code = run(["endpoints", "-n", "shop", "-w", "--kubeconfig", str(kubeconfig(api, tmp_path))])
    out, err = capsys.readouterr()

    assert out.splitlines()[0].split()[:2] == ["SERVICE", "ADDRESS"]
    assert (code, err.splitlines()) == (
        3,
        [
            "error: cannot watch pods in namespace shop any more: the permission to list and watch pods is "
            "missing (forbidden: pods is forbidden)"
        ],
    )
    assert [t for t in threading.enumerate() if t.name.startswith("watch-")] == []


# ----------------------------------------------------------------------------- wait, under the same policy


def test_wait_completes_once_the_api_server_is_back_with_the_changes_made_meanwhile(
    api: FakeAPI, client: Client
) -> None:
    shop(api)
    api.script[PODS_PATH] = [listed(), CUT, RESET, listed(WEB_1, version="9"), HELD]
    api.script[SLICES_PATH] = [listed(), CUT, listed(SLICE, version="9"), HELD]

    result = wait_for(client, [Target("shop", "web")], timeout=20)

    assert result.ok, result.drift
    assert result.elapsed < 15


def test_wait_still_ends_at_its_timeout_while_the_api_server_is_away(api: FakeAPI, client: Client) -> None:
    shop(api)
    api.script[PODS_PATH] = [listed(), CUT, BUSY]
    api.script[SLICES_PATH] = [listed(), CUT, BUSY]
    api.script[SERVICES_PATH] = [listed(WEB), CUT, BUSY]
    started = time.monotonic()

    with pytest.raises(ClusterUnreachable) as caught:
        wait_for(client, [Target("shop", "web")], timeout=1.0)

    assert str(caught.value) == f"the API server {client.server} answered 500 (busy) after 4 retries"
    assert time.monotonic() - started < 10
    assert [t for t in threading.enumerate() if t.name.startswith("watch-")] == []


# ----------------------------------------------------------------------------- no silent emptiness


@pytest.mark.parametrize(
    ("reply", "got"),
    [
        (listed(bare_pod("web-0")), ["shop/web-0"]),
        (status(403, "replicasets is forbidden"), []),
        (status(404, "the server could not find the requested resource"), []),
    ],
    ids=["listed", "403", "404"],
)
def test_an_optional_kind_not_readable_is_a_note_saying_what_the_result_lacks(
    api: FakeAPI, client: Client, reply: Reply, got: list[str]
) -> None:
    api.script["/apis/apps/v1/namespaces/shop/replicasets"] = [reply]
    notes: list[str] = []

    objects = readable(client, REPLICASETS, "shop", notes, "scaled to zero looks like an error")

    assert [f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in objects] == got
    assert notes == ([] if got else ["cannot list replicasets: scaled to zero looks like an error"])


@pytest.mark.parametrize("reply", [BUSY, RESET], ids=["500", "reset"])
def test_a_list_that_fails_is_never_an_empty_result(api: FakeAPI, client: Client, reply: Reply) -> None:
    shop(api)
    api.script["/apis/apps/v1/namespaces/shop/replicasets"] = [reply]
    notes: list[str] = []

    with pytest.raises(ClusterUnreachable):
        readable(client, REPLICASETS, "shop", notes, "scaled to zero looks like an error")
    with pytest.raises(ClusterUnreachable):  # and wait, which reads them, says so: exit 3
        wait_for(client, [Target("shop", "web")], timeout=0)
    assert notes == []


def test_wait_still_ends_when_the_api_server_freezes_before_its_last_list(
    api: FakeAPI, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("inspector.kube.watching.RELIST_TIMEOUT_S", 0.5)
    shop(api)
    api.script[PODS_PATH] = [listed(), Reply(stall=True)]  # the list at the timeout gets no answer
    api.watches = {path: [HELD] for path in (SERVICES_PATH, PODS_PATH, SLICES_PATH)}
    frozen = Client(client.api, client.context, client.namespace, client.server)  # no --request-timeout
    started = time.monotonic()

    with pytest.raises(RequestTimedOut):
        wait_for(frozen, [Target("shop", "web")], timeout=0.5)

    assert time.monotonic() - started < 10
