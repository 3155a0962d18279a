"""The kube client's transport logic against a tiny in-process API server on 127.0.0.1 that speaks
the API's wire format: retries (Retry-After honoured, bounded), pagination, the RBAC fallbacks and
the watch's re-list on 410 Gone. A unit-test fake at the transport boundary; e2e stays on a real
cluster."""

from __future__ import annotations

import contextlib
import gc
import threading
import time
import weakref
from typing import Any

import pytest

from inspector.errors import ClusterUnreachable, Forbidden, NotFound
from inspector.kube.connection import RETRIES, Client
from inspector.kube.listing import list_objects
from inspector.kube.resources import PODS, SERVICES
from inspector.kube.watching import Change, Reset, Stream, Watch
from inspector.live.following import follow
from inspector.live.inspecting import make_scope
from inspector.live.reading import read_snapshot
from tests.fakeapi import WEB, WEB_1, FakeAPI, Reply, forbidden, items


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("inspector.kube.connection.BACKOFF_S", 0.01)


NS = "/api/v1/namespaces/shop/services"


def readable_shop(api: FakeAPI) -> None:
    """Namespace shop: one Service, nothing else, all of it readable."""
    api.script[NS] = [Reply(body=items("web"))]
    api.script["/api/v1/namespaces/shop/pods"] = [Reply(body=items())]
    api.script["/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"] = [Reply(body=items())]
    for kind in ("deployments", "statefulsets", "replicasets"):
        api.script[f"/apis/apps/v1/namespaces/shop/{kind}"] = [Reply(body=items())]


def test_a_429_is_retried_after_the_retry_after_it_names(api: FakeAPI, client: Client) -> None:
    api.script[NS] = [
        Reply(429, {"kind": "Status", "code": 429}, {"Retry-After": "1"}),
        Reply(body=items("web")),
    ]

    started = time.monotonic()
    got = [o["metadata"]["name"] for o in list_objects(client, SERVICES, "shop")]

    assert got == ["web"]
    assert [path for _, path, _ in api.seen] == [NS, NS]
    assert api.seen[1][0] - api.seen[0][0] >= 0.95
    assert time.monotonic() - started < 5


def test_a_long_retry_after_is_waited_only_up_to_the_bound_and_retries_end(
    api: FakeAPI, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("inspector.kube.connection.RETRY_AFTER_MAX_S", 0)
    api.script[NS] = [Reply(429, {"kind": "Status", "code": 429}, {"Retry-After": "3600"})]
    with connect_again(client) as bounded:
        started = time.monotonic()
        with pytest.raises(ClusterUnreachable) as caught:
            list(list_objects(bounded, SERVICES, "shop"))

    assert str(caught.value).endswith("kept throttling requests (429) after 4 retries")
    assert len(api.seen) == 5  # the request and 4 retries
    assert time.monotonic() - started < 5


def connect_again(client: Client) -> Client:
    """A client made after a monkeypatch of the retry policy's bounds (the policy is made by connect)."""
    config = client.api.configuration
    from inspector.kube.connection import retry_policy

    config.retries = retry_policy()
    import kubernetes.client

    return Client(kubernetes.client.ApiClient(configuration=config), "fake", "shop", client.server, 5)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_four_times_then_are_one_error(
    api: FakeAPI, client: Client, status: int
) -> None:
    api.script[NS] = [Reply(status, {"kind": "Status", "code": status, "message": "busy"})]

    with pytest.raises(ClusterUnreachable) as caught:
        list(list_objects(client, SERVICES, "shop"))

    assert f"answered {status} (busy) after 4 retries" in str(caught.value)
    assert len(api.seen) == 5


def test_a_list_follows_its_continue_tokens_page_by_page(api: FakeAPI, client: Client) -> None:
    api.script[NS] = [
        Reply(body=items("a", "b", token="page-2")),
        Reply(body=items("c", token="page-3")),
        Reply(body=items("d")),
    ]

    got = [o["metadata"]["name"] for o in list_objects(client, SERVICES, "shop")]

    assert got == ["a", "b", "c", "d"]
    assert [q.get("continue") for _, _, q in api.seen] == [None, ["page-2"], ["page-3"]]
    assert all(q["limit"] == ["500"] for _, _, q in api.seen)


def test_a_page_that_is_not_json_is_one_clear_line(api: FakeAPI, client: Client) -> None:
    api.script[NS] = [Reply(body=b'{"kind": "ServiceList", "items": [{"metadata": ')]

    with pytest.raises(ClusterUnreachable) as caught:
        list(list_objects(client, SERVICES, "shop"))

    assert str(caught.value) == f"the API server {client.server} answered {NS} with invalid JSON"


def test_a_page_whose_fields_have_other_types_than_the_apis_is_one_clear_line(
    api: FakeAPI, client: Client
) -> None:
    api.script[NS] = [
        Reply(body={"kind": "ServiceList", "items": [{"metadata": {"name": "web", "labels": 7}}]})
    ]

    with pytest.raises(ClusterUnreachable) as caught:
        list(list_objects(client, SERVICES, "shop"))

    assert str(caught.value) == (
        f"the API server {client.server} answered {NS} with unexpected JSON: "
        "Expected `object | null`, got `int` - at `$.items[0].metadata.labels`"
    )


def test_a_list_that_is_not_an_object_is_one_clear_line(api: FakeAPI, client: Client) -> None:
    api.script[NS] = [Reply(body=[1, 2])]

    with pytest.raises(ClusterUnreachable) as caught:
        list(list_objects(client, SERVICES, "shop"))

    assert str(caught.value) == (
        f"the API server {client.server} answered {NS} with unexpected JSON: Expected `object`, got `array`"
    )


def test_a_failing_next_page_fails_the_list_after_the_pages_before_it(api: FakeAPI, client: Client) -> None:
    api.script[NS] = [
        Reply(body=items("a", token="page-2")),
        Reply(400, {"kind": "Status", "code": 400, "message": "bad continue token"}),
    ]
    got = []

    with pytest.raises(ClusterUnreachable) as caught:
        for obj in list_objects(client, SERVICES, "shop"):
            got.append(obj["metadata"]["name"])

    assert got == ["a"]
    assert "answered 400 (bad continue token)" in str(caught.value)


class Held:
    """Something a caller holds while a LIST fails under it."""


def test_a_list_that_fails_leaves_no_cycle_holding_its_callers_locals(api: FakeAPI, client: Client) -> None:
    # The collector is paused while a command runs: an exception kept by the frame that raised it
    # (the prefetching generator's) was a cycle holding every caller's frame, a whole snapshot at
    # the end of `diff -A` (httproutes not served: a NotFound in every run)
    def caller() -> weakref.ref[Held]:
        held = Held()
        with contextlib.suppress(NotFound):
            list(list_objects(client, SERVICES, "gone"))  # unscripted: 404
        return weakref.ref(held)

    enabled = gc.isenabled()
    gc.disable()
    try:
        held = caller()

        assert held() is None  # freed as the caller returned, with no collector pass
    finally:
        if enabled:
            gc.enable()


def test_the_fields_the_snapshot_does_not_read_are_not_decoded(api: FakeAPI, client: Client) -> None:
    pod = {
        "metadata": {"name": "web-1", "namespace": "shop", "managedFields": [{"manager": "kubectl"}]},
        "spec": {"containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80}]}]},
    }
    api.script["/api/v1/namespaces/shop/pods"] = [Reply(body={"kind": "PodList", "items": [pod]})]

    (got,) = list_objects(client, PODS, "shop")

    assert got == {
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "ports": [{"containerPort": 80}]}]},
    }


def test_a_403_while_the_api_server_is_not_ready_is_sent_again_then_unreachable_not_forbidden(
    api: FakeAPI, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 403 from a starting API server (its authorization not loaded yet: /readyz 500, or /readyz
    itself refused, as kind's was for 0.1 s after a restart) is sent again on the retry schedule;
    still not ready after it, exit 3's 'cannot reach', not a missing permission."""
    monkeypatch.setattr("inspector.kube.connection.BACKOFF_S", 0.01)
    api.script["/api/v1/services"] = [forbidden("services")]
    api.script["/readyz"] = [Reply(500, b"readyz check failed")]
    with pytest.raises(ClusterUnreachable) as unready:
        client.get_json("/api/v1/services")
    assert str(unready.value) == (
        f"cannot reach the API server {client.server}: it is not ready yet (/readyz answered 500) "
        "and refuses requests until its authorization has loaded (403: services is forbidden)"
    )
    assert [p for _, p, _ in api.seen].count("/api/v1/services") == RETRIES + 1


def test_a_403_from_an_api_server_that_becomes_ready_is_answered_by_the_next_try(
    api: FakeAPI, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As kind's after a restart: the list and /readyz refused, then /readyz 500, then ready."""
    monkeypatch.setattr("inspector.kube.connection.BACKOFF_S", 0.01)
    api.script["/api/v1/services"] = [
        forbidden("services"),
        forbidden("services"),
        Reply(body=b'{"items": []}'),
    ]
    api.script["/readyz"] = [forbidden("/readyz"), Reply(500, b"readyz check failed"), Reply(body=b"ok")]
    assert client.get_json("/api/v1/services") == {"items": []}


@pytest.mark.parametrize("readyz", ["ready", "refused for good", "absent"])
def test_a_403_from_a_ready_api_server_or_one_not_granting_readyz_is_a_missing_permission(
    api: FakeAPI, client: Client, monkeypatch: pytest.MonkeyPatch, readyz: str
) -> None:
    monkeypatch.setattr("inspector.kube.connection.BACKOFF_S", 0.01)
    answer = {"ready": Reply(body=b"ok"), "refused for good": forbidden("/readyz"), "absent": Reply(404, b"")}
    api.script["/api/v1/services"] = [forbidden("services")]
    api.script["/readyz"] = [answer[readyz]]
    with pytest.raises(Forbidden) as refused:
        client.get_json("/api/v1/services")
    assert str(refused.value) == "forbidden: services is forbidden"
    sent = [p for _, p, _ in api.seen].count("/api/v1/services")
    assert sent == (RETRIES + 1 if readyz == "refused for good" else 1)


def test_a_burst_of_403s_from_a_ready_api_server_asks_readyz_once(api: FakeAPI, client: Client) -> None:
    api.script["/api/v1/services"] = [forbidden("services")]
    api.script["/readyz"] = [Reply(body=b"ok")]
    for _ in range(5):
        with pytest.raises(Forbidden):
            client.get_json("/api/v1/services")
    assert [p for _, p, _ in api.seen].count("/readyz") == 1


def test_without_cluster_wide_reads_a_snapshot_is_read_namespace_by_namespace_with_notes(
    api: FakeAPI, client: Client
) -> None:
    api.script["/api/v1/services"] = [forbidden("services")]
    api.script["/api/v1/namespaces"] = [Reply(body=items("shop", "ops"))]
    api.script["/api/v1/nodes"] = [forbidden("nodes")]
    readable_shop(api)
    api.script["/api/v1/namespaces/ops/services"] = [forbidden("services in ops")]

    snapshot = read_snapshot(client, None)

    assert [s.name for s in snapshot.services] == ["web"]
    assert snapshot.namespaces == ("shop",)
    assert snapshot.notes == (
        "cannot list across all namespaces: reading namespace by namespace",
        "left out for lack of permission: namespace(s) ops",
        "cannot list nodes: node ports per node and externalTrafficPolicy checks are skipped",
    )


def test_without_namespaces_either_only_the_contexts_namespace_is_read(api: FakeAPI, client: Client) -> None:
    api.script["/api/v1/services"] = [forbidden("services")]
    api.script["/api/v1/namespaces"] = [forbidden("namespaces")]
    api.script["/api/v1/nodes"] = [Reply(body=items("kwok-node-0"))]
    readable_shop(api)

    snapshot = read_snapshot(client, None)

    assert snapshot.namespaces == ("shop",)
    assert snapshot.notes[0] == (
        "cannot list across namespaces or list namespaces: showing namespace shop only"
    )


def test_an_expired_watch_lists_again_and_goes_on_from_the_new_version(api: FakeAPI, client: Client) -> None:
    pods = "/api/v1/namespaces/shop/pods"
    gone = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old resource version"}}
    added = {"type": "ADDED", "object": {"metadata": {"name": "web-2", "resourceVersion": "43"}}}
    api.script[pods] = [
        Reply(events=[gone]),  # the watch from version 1
        Reply(body=items("web-1", version="42")),  # the list again
        Reply(events=[added], hold=True),  # the watch from 42, left open until stopped
    ]

    with Watch(client, watch_seconds=30) as watch:
        watch.follow(Stream(PODS, "shop"), "1")
        first = watch.events.get(timeout=10)
        second = watch.events.get(timeout=10)
    threads = [t for t in threading.enumerate() if t.name.startswith("watch-")]

    assert first == (Stream(PODS, "shop"), Reset([{"metadata": {"name": "web-1"}, "kind": "Pod"}], "42"))
    assert second == (Stream(PODS, "shop"), Change("ADDED", added["object"]))
    assert [q.get("resourceVersion") for _, _, q in api.seen if "watch" in q] == [["1"], ["42"]]
    assert threads == []  # stopping shut the open watch down and joined its thread


def test_following_reports_again_after_each_burst_of_watch_events_and_stops_its_watches(
    api: FakeAPI, client: Client
) -> None:
    web = {**WEB, "metadata": {**WEB["metadata"], "resourceVersion": "7"}}
    pod = WEB_1
    added = {
        "type": "ADDED",
        "object": {
            "metadata": {
                "name": "web-abc",
                "namespace": "shop",
                "resourceVersion": "8",
                "labels": {"kubernetes.io/service-name": "web"},
            },
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            "endpoints": [
                {
                    "addresses": ["10.244.0.5"],
                    "conditions": {"ready": True, "serving": True, "terminating": False},
                    "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "shop"},
                }
            ],
        },
    }

    def listed(*objects: dict[str, Any], events: list[Any] | None = None) -> list[Reply]:
        body = {"kind": "List", "metadata": {"resourceVersion": "7"}, "items": list(objects)}
        return [Reply(body=body), Reply(events=events or [], hold=True)]

    api.script["/api/v1/namespaces/shop"] = [Reply(body={"metadata": {"name": "shop"}})]
    api.script[NS] = listed(web)
    api.script["/api/v1/namespaces/shop/pods"] = listed(pod)
    api.script["/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"] = listed(events=[added])
    api.script["/api/v1/nodes"] = listed()
    for kind in ("deployments", "statefulsets"):
        api.script[f"/apis/apps/v1/namespaces/shop/{kind}"] = listed()

    reports = follow(client, make_scope("shop"))
    first, second = next(reports), next(reports)
    reports.close()
    threads = [t for t in threading.enumerate() if t.name.startswith("watch-")]

    assert [f.code for f in first.findings] == ["endpoints-missing"]
    assert [(e.ip, e.pod, e.ready) for e in second.services[0].actual] == [("10.244.0.5", "web-1", True)]
    assert second.findings == ()
    assert threads == []  # closing the reports stopped every watch and joined its thread


def test_a_service_asking_for_topology_has_its_hints_disabled_events_read(
    api: FakeAPI, client: Client
) -> None:
    api.script["/api/v1/services"] = [forbidden("services")]
    api.script["/api/v1/namespaces"] = [forbidden("namespaces")]
    api.script["/api/v1/nodes"] = [Reply(body=items())]
    readable_shop(api)
    zonal = {
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"clusterIP": "10.96.0.10", "trafficDistribution": "PreferSameZone"},
    }
    api.script[NS] = [Reply(body={"kind": "List", "metadata": {"resourceVersion": "7"}, "items": [zonal]})]
    event = {
        "metadata": {"name": "web.1", "namespace": "shop"},
        "involvedObject": {"kind": "Service", "namespace": "shop", "name": "web"},
        "reason": "TopologyAwareHintsDisabled",
        "message": "Insufficient number of endpoints, addressType: IPv4",
    }
    api.script["/api/v1/namespaces/shop/events"] = [
        Reply(body={"kind": "List", "metadata": {"resourceVersion": "7"}, "items": [event]})
    ]

    snapshot = read_snapshot(client, None)

    asked = [q for _, path, q in api.seen if path == "/api/v1/namespaces/shop/events"]
    assert [q["fieldSelector"] for q in asked] == [
        ["involvedObject.kind=Service,reason=TopologyAwareHintsDisabled"]
    ]
    assert [(e.service, e.message) for e in snapshot.service_events] == [
        ("web", "Insufficient number of endpoints, addressType: IPv4")
    ]


def test_no_events_are_read_where_no_service_asks_for_topology(api: FakeAPI, client: Client) -> None:
    api.script["/api/v1/services"] = [forbidden("services")]
    api.script["/api/v1/namespaces"] = [forbidden("namespaces")]
    api.script["/api/v1/nodes"] = [Reply(body=items())]
    readable_shop(api)

    snapshot = read_snapshot(client, None)

    assert not [path for _, path, _ in api.seen if path.endswith("/events")]
    assert snapshot.service_events == ()
