"""`kubectl svc-inspect wait`, the Python API and the pytest plugin, on a real cluster."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from typing import IO, Any

import pytest

from e2e.harness import (
    LOCAL_STATE,
    MANIFESTS,
    WEB_SVC,
    Cluster,
    apply,
    ready_pod_ips,
    slice_addresses,
    wait_until,
)
from inspector.kube.connection import connect
from inspector.kube.resources import Resource
from inspector.kube.watching import Reset, Stream, Watch
from inspector.pytest_plugin import NotDiscoverable, discoverable

ENV_FILE = LOCAL_STATE / "env"

# web-svc with a chosen targetPort (a name the pods may or may not declare)
SVC = WEB_SVC.replace("targetPort: http", "targetPort: {target}")


def web(cluster: Cluster, namespace: str, port_name: str = "http") -> None:
    manifest = (MANIFESTS / "web.yaml").read_text().replace("- name: http", f"- name: {port_name}")
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=manifest)


def test_wait_returns_once_a_service_created_before_its_pods_has_them_as_endpoints(
    cluster: Cluster, namespace
):
    apply(cluster, namespace, SVC.format(target="http"))
    waiter = cluster.start_inspect("wait", "web-svc", "-n", namespace, "--timeout", "60s")
    assert waiter.poll() is None, "wait returned before any pod existed"
    web(cluster, namespace)
    out, err = waiter.communicate(timeout=90)
    assert waiter.returncode == 0, (out, err)
    ips = ready_pod_ips(cluster, namespace, "app=web")
    assert slice_addresses(cluster, namespace, "web-svc") == sorted((ip, 5000, True) for ip in ips)
    assert len(ips) == 3 and f"{namespace}/web-svc: discoverable, 3 ready endpoint(s)" in out


def test_wait_during_a_live_rollout_returns_only_after_the_new_pods_are_endpoints(
    cluster: Cluster, namespace
):
    # The Service moves to a port name only the new pods declare: until the rollout has replaced
    # every old pod, some selected pod cannot serve it and the Service is not discoverable.
    web(cluster, namespace, port_name="http")
    wait_until(lambda: len(ready_pod_ips(cluster, namespace, "app=web")) == 3, what="3 old pods")
    apply(cluster, namespace, SVC.format(target="web-http"))
    waiter = cluster.start_inspect("wait", "web-svc", "-n", namespace, "--timeout", "90s")
    assert waiter.poll() is None, "wait returned while no pod declared the port"
    web(cluster, namespace, port_name="web-http")
    out, err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, (out, err)
    pods = cluster.get_json("pods", "-n", namespace, "-l", "app=web")["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    assert all(p["spec"]["containers"][0]["ports"][0]["name"] == "web-http" for p in live)
    # what receives traffic is exactly the new pods: an old pod still being deleted may linger in a
    # slice without ports and not ready, which carries none
    receiving = [
        (ip, port, ready)
        for ip, port, ready in slice_addresses(cluster, namespace, "web-svc")
        if port is not None or ready
    ]
    assert receiving == sorted((p["status"]["podIP"], 5000, True) for p in live)


def test_wait_on_a_service_with_a_selector_typo_times_out_with_the_near_miss(cluster: Cluster, namespace):
    web(cluster, namespace)
    apply(cluster, namespace, SVC.format(target="http").replace("app: web", "app: wbe"))
    started = time.monotonic()
    res = cluster.inspect("wait", "web-svc", "-n", namespace, "--timeout", "3s")
    assert res.returncode == 1, res.stderr
    assert 3 <= time.monotonic() - started < 30
    # the wait's own elapsed time: at least the timeout (a loaded machine adds to it: 4.0s was seen)
    said = re.search(r"not discoverable after (\d+\.\d)s:", res.stdout)
    assert said and float(said[1]) >= 3.0, res.stdout
    assert "label app=web (selector wants app=wbe)" in res.stdout


class Lines:
    """The lines a process writes to a pipe, read by a thread as they come, to wait on them."""

    def __init__(self, pipe: IO[str]) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe: IO[str]) -> None:
        for line in pipe:
            self.lines.append(line)

    def count(self, *parts: str) -> int:
        return sum(all(p in line for p in parts) for line in list(self.lines))


def test_wait_follows_changes_across_watches_that_end(cluster: Cluster, namespace):
    apply(cluster, namespace, SVC.format(target="http"))
    waiter = cluster.start_inspect(  # every watch ends after a second; -vv logs every request
        "wait",
        "web-svc",
        "-n",
        namespace,
        "--timeout",
        "60s",
        "-o",
        "json",
        "-vv",
        env={"INSPECTOR_WATCH_SECONDS": "1"},
    )
    assert waiter.stderr is not None and waiter.stdout is not None
    err = Lines(waiter.stderr)
    opened = f"/namespaces/{namespace}/services?", "watch=true"
    wait_until(lambda: err.count(*opened) >= 3, what="the Service's watch ended and opened again, twice")
    assert waiter.poll() is None
    web(cluster, namespace)
    with waiter:  # closes the pipes once it has ended
        waiter.wait(timeout=90)
        out = waiter.stdout.read()
        err.thread.join(10)
    assert waiter.returncode == 0, (out, "".join(err.lines[-20:]))
    assert '"ok": true' in out


def compact_etcd() -> None:
    """Compacts the local cluster's etcd up to now (its v3 JSON gateway on 127.0.0.1): every older
    resourceVersion is gone, as it is on a cluster that has run for a while."""
    env = dict(line.removeprefix("export ").split("=", 1) for line in ENV_FILE.read_text().splitlines())
    etcd = env["LOCALCLUSTER_ETCD"]

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(f"{etcd}{path}", data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return dict(json.loads(resp.read()))

    revision = post("/v3/kv/range", {"key": "Lw=="})["header"]["revision"]
    post("/v3/kv/compaction", {"revision": revision, "physical": True})


def test_an_expired_watch_is_answered_by_listing_again(cluster: Cluster, namespace):
    if not cluster.local:
        pytest.skip("compacts the local cluster's etcd")
    compact_etcd()
    # Events are watched from etcd itself (no watch cache), so once compacted, resourceVersion 1 is
    # answered with 410 Gone at once: what a pods watch meets on a cluster whose cache has moved on.
    events_resource = Resource("Event", "v1", "events")
    with connect(cluster.kubeconfig) as api, Watch(api, watch_seconds=30) as watch:
        watch.follow(Stream(events_resource, namespace), "1")
        _, event = watch.events.get(timeout=30)
    assert isinstance(event, Reset) and isinstance(event.items, list) and int(event.version) > 1


def test_python_api_passes_on_a_healthy_service_and_explains_a_broken_one(cluster: Cluster, namespace):
    web(cluster, namespace)
    apply(cluster, namespace, SVC.format(target="http"))
    result = discoverable(f"{namespace}/web-svc", timeout=30)
    assert result.ok and result.drift == {f"{namespace}/web-svc": []}

    apply(
        cluster,
        namespace,
        SVC.format(target="http").replace("web-svc", "web-typo").replace("app: web", "app: wbe"),
    )
    with pytest.raises(NotDiscoverable) as failure:
        discoverable("web-typo", namespace=namespace, timeout=2)
    assert "label app=web (selector wants app=wbe)" in str(failure.value)


def test_the_pytest_plugin_assertion_passes_on_a_healthy_service_and_fails_with_the_explanation(
    cluster: Cluster, namespace, pytester: pytest.Pytester
):
    web(cluster, namespace)
    apply(cluster, namespace, SVC.format(target="http"))
    apply(
        cluster,
        namespace,
        SVC.format(target="http").replace("web-svc", "web-typo").replace("app: web", "app: wbe"),
    )
    pytester.makepyfile(f"""
        def test_healthy(assert_discoverable):
            assert_discoverable("{namespace}/web-svc", timeout=30)

        def test_broken(assert_discoverable):
            assert_discoverable("{namespace}/web-typo", timeout=2)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    # the elapsed time is the wait's own: at least the timeout, more on a loaded machine
    result.stdout.fnmatch_lines(["*not discoverable after *s:*", "*label app=web (selector wants app=wbe)*"])
    said = re.search(r"not discoverable after (\d+\.\d)s:", result.stdout.str())
    assert said and float(said[1]) >= 2.0, result.stdout.str()


def test_wait_for_all_returns_once_the_headless_name_answers_the_new_pod_ips(cluster: Cluster, namespace):
    if not cluster.dns_server:
        pytest.skip("no INSPECTOR_DNS_SERVER for this cluster")
    import dns.message
    import dns.query

    apply(
        cluster,
        namespace,
        SVC.format(target="http").replace("web-svc", "web-headless") + "  clusterIP: None\n",
    )
    web(cluster, namespace)
    res = cluster.inspect("wait", "web-headless", "-n", namespace, "--for", "all", "--timeout", "60s")
    assert res.returncode == 0, (res.stdout, res.stderr)
    # right after wait returns, the cluster DNS already answers with exactly the ready pods
    host, _, port = cluster.dns_server.partition(":")
    reply = dns.query.udp(
        dns.message.make_query(f"web-headless.{namespace}.svc.cluster.local.", "A"),
        host,
        port=int(port),
        timeout=2,
    )
    answered = sorted(r.to_text() for rrset in reply.answer for r in rrset)
    assert answered == ready_pod_ips(cluster, namespace, "app=web") and len(answered) == 3
