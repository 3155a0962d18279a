"""A fleet in one run: `--contexts` and `--all-contexts` against two real clusters holding the same
namespace and Service names in different states, and a context where no API server listens.

The first cluster is the session's; the second is a kwok-only local cluster this module starts beside
it (its own state directory and ports, no real node: neither the real nodes' names nor the host's
bridge) and stops again, pass or fail. It fails, not skips, when the second cluster cannot start,
unless E2E_ALLOW_SKIP=1.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from e2e.harness import (
    Cluster,
    apply,
    fresh_namespace,
    inspect_with_env,
    merged_kubeconfig,
    ready_pod_ips,
    second_cluster_env,
    slice_addresses,
    start_second_cluster,
    stop_second_cluster,
    wait_until,
)
from e2e.test_serve import fetch, serving

# web's pods: simulated (kwok) on both clusters; behind `second` they carry another label than the
# Service selects, so the same Service there selects nothing
SHOP = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: {label}
  template:
    metadata:
      labels:
        app: {label}
    spec:
      tolerations:
        - key: kwok.x-k8s.io/node
          operator: Exists
          effect: NoSchedule
      nodeSelector:
        type: kwok
      containers:
        - name: web
          image: registry.example/web:1
          ports:
            - name: http
              containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
    - name: http
      port: 80
      targetPort: http
"""
ONLY_FIRST = """
apiVersion: v1
kind: Service
metadata:
  name: only-first
spec:
  selector:
    app: web
  ports:
    - port: 81
      targetPort: http
"""


@pytest.fixture(scope="module")
def second() -> Iterator[Cluster]:
    env = second_cluster_env()
    try:
        yield start_second_cluster(env)
    finally:
        stop_second_cluster(env)


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port bound and never listened on: a connection there is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def fleet_kubeconfig(cluster: Cluster, second: Cluster, tmp_path: Path, dead_port: int) -> str:
    """Contexts `first` (the session's cluster), `second`, and `gone` (no API server)."""
    return merged_kubeconfig(
        tmp_path / "fleet-kubeconfig",
        {"first": cluster.kubeconfig, "second": second.kubeconfig},
        {"gone": f"https://127.0.0.1:{dead_port}"},
    )


@pytest.fixture
def shop(cluster: Cluster, second: Cluster) -> Iterator[str]:
    """The same namespace in both clusters, with Service web: selecting its two pods in the first,
    none in the second; Service only-first in the first alone."""
    name = f"e2e-fleet-{uuid.uuid4().hex[:5]}"
    for _ in fresh_namespace(cluster, name):
        for _ in fresh_namespace(second, name):
            apply(cluster, name, SHOP.format(label="web") + "---" + ONLY_FIRST)
            apply(second, name, SHOP.format(label="web-v2"))
            # both Services of the first cluster: only-first's slice is written on its own, and a
            # diff that reads it before the endpointslice controller has is an error finding there
            for service in ("web", "only-first"):
                wait_until(
                    lambda service=service: (
                        [ready for _, _, ready in slice_addresses(cluster, name, service)] == [True, True]
                    ),
                    what=f"{service}'s two ready endpoints in the first cluster",
                )
            wait_until(
                lambda: len(ready_pod_ips(second, name, "app=web-v2")) == 2,
                what="two ready web-v2 pods in the second cluster",
            )
            yield name


def fleet(cluster: Cluster, kubeconfig: str, *args: str) -> tuple[int, str, list[str]]:
    """kubectl-svc_inspect with the fleet's kubeconfig (and no DNS server of the session's)."""
    res = inspect_with_env(cluster, {"KUBECONFIG": kubeconfig, "INSPECTOR_DNS_SERVER": None}, *args)
    assert "Traceback" not in res.stderr, res.stderr
    return res.returncode, res.stdout, res.stderr.splitlines()


def cluster_ip(cluster: Cluster, namespace: str, service: str) -> str:
    return str(cluster.get_json("service", service, "-n", namespace)["spec"]["clusterIP"])


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in report["services"]}


def test_same_namespace_and_service_in_two_clusters_are_each_judged_by_their_own_cluster(
    cluster: Cluster, second: Cluster, fleet_kubeconfig: str, shop: str
) -> None:
    status, out, err = fleet(
        cluster, fleet_kubeconfig, "diff", "-n", shop, "--contexts", "first,second", "-o", "json"
    )

    assert (status, err) == (1, [])  # second's web selects nothing: an error finding
    doc = json.loads(out)
    assert [c["context"] for c in doc["contexts"]] == ["first", "second"]
    first_report, second_report = (by_name(c["report"]) for c in doc["contexts"])
    assert sorted(first_report) == ["only-first", "web"]
    assert sorted(second_report) == ["web"]  # nothing of the first cluster's leaked in
    web_1, web_2 = first_report["web"], second_report["web"]
    assert web_1["clusterIP"] == cluster_ip(cluster, shop, "web")
    assert web_2["clusterIP"] == cluster_ip(second, shop, "web")
    assert web_1["status"] == "ok"
    assert sorted(e["ip"] for e in web_1["actual"]) == ready_pod_ips(cluster, shop, "app=web")
    assert web_2["status"] == "error"
    assert [f["code"] for f in web_2["findings"]] == ["selector-matches-no-pods"]
    assert web_2["expected"] == [] and web_2["actual"] == []
    second_pods = {p["metadata"]["name"] for p in second.get_json("pods", "-n", shop)["items"]}
    closest = web_2["findings"][0]["details"]["closestPods"]  # the second cluster's own pods
    assert sorted(p["pod"] for p in closest) == sorted(second_pods)
    assert all(p["different"] == {"app": {"want": "web", "have": "web-v2"}} for p in closest)
    assert doc["summary"]["perContext"] == [
        {"context": "first", "services": 2, "errors": 0, "warnings": 0, "infos": 0},
        {"context": "second", "services": 1, "errors": 1, "warnings": 0, "infos": 0},
    ]

    status, out, err = fleet(cluster, fleet_kubeconfig, "services", "-n", shop, "--contexts", "second,first")

    assert (status, err) == (1, [])
    rows = [line.split() for line in out.splitlines()]
    assert rows[0][:2] == ["CONTEXT", "NAME"]
    assert [(r[0], r[1], r[-1]) for r in rows[1:]] == [
        ("second", "web", "error"),
        ("first", "only-first", "ok"),
        ("first", "web", "ok"),
    ]


def test_an_unreachable_context_is_one_line_naming_it_and_the_others_are_still_reported(
    cluster: Cluster, fleet_kubeconfig: str, shop: str, dead_port: int
) -> None:
    status, out, err = fleet(
        cluster, fleet_kubeconfig, "services", "-n", shop, "--all-contexts", "-o", "json"
    )

    said = f"cannot reach the API server https://127.0.0.1:{dead_port}: Connection refused"
    assert status == 3
    assert err == [f'error: context "gone": {said}']
    doc = json.loads(out)
    assert [(c["context"], sorted(c)) for c in doc["contexts"]] == [
        ("first", ["context", "report"]),
        ("second", ["context", "report"]),
        ("gone", ["context", "error"]),
    ]
    assert doc["contexts"][2]["error"] == said
    assert (doc["summary"]["contexts"], doc["summary"]["answered"], doc["summary"]["failed"]) == (3, 2, 1)
    assert doc["summary"]["services"] == 3

    status, out, err = fleet(cluster, fleet_kubeconfig, "diff", "-n", shop, "--all-contexts", "--exit-zero")

    assert status == 3 and err == [f'error: context "gone": {said}']
    assert (
        out.splitlines()[-1]
        == "3 context(s), 2 answered, 1 failed: 3 service(s): 1 error(s), 0 warning(s), 0 info(s)"
    )


def test_dns_asks_each_context_its_own_dns_server(
    cluster: Cluster, second: Cluster, fleet_kubeconfig: str, shop: str
) -> None:
    # each context's own DNS server; a cluster that names none (E2E_KUBECONFIG without
    # INSPECTOR_DNS_SERVER) is left for the inspector to find its replicas
    servers = {ctx: s for ctx, s in (("first", cluster.dns_server), ("second", second.dns_server)) if s}
    given = ",".join(f"{ctx}={server}" for ctx, server in servers.items())

    status, out, err = fleet(
        cluster,
        fleet_kubeconfig,
        "dns",
        "-n",
        shop,
        "--contexts",
        "first,second",
        "--dns-server",
        given,
        "-o",
        "json",
    )

    assert (status, err) == (0, []), out
    doc = json.loads(out)
    for entry, owner in zip(doc["contexts"], (cluster, second), strict=True):
        report = entry["report"]
        if entry["context"] in servers:
            assert report["server"]["address"] == servers[entry["context"]]
        [web] = [s for s in report["services"] if s["name"] == "web"]
        [a_record] = [r for r in web["records"] if r["qtype"] == "A" and r["kind"] == "service"]
        assert a_record["expected"]["answers"] == [cluster_ip(owner, shop, "web")]
        assert a_record["ok"]

    status, _, err = fleet(
        cluster,
        fleet_kubeconfig,
        "dns",
        "-n",
        shop,
        "--contexts",
        "first,second",
        "--dns-server",
        "127.0.0.1:53",
    )
    assert status == 2 and len(err) == 1 and "names one DNS server, and 2 contexts are asked" in err[0]


def test_bad_fleet_input_on_a_real_kubeconfig_exits_2_before_any_request(
    cluster: Cluster, fleet_kubeconfig: str
) -> None:
    status, out, err = fleet(cluster, fleet_kubeconfig, "services", "--contexts", "first,nowhere")
    assert (status, out, err) == (2, "", ['error: context "nowhere" not found in the kubeconfig'])
    status, out, err = fleet(
        cluster, fleet_kubeconfig, "diff", "--contexts", "first,second", "--context", "first"
    )
    assert (status, out) == (2, "") and err == [
        "error: --contexts asks several contexts and --context names one: give one of them"
    ]


# ----------------------------------------------------------------------------- serve --contexts


def scraped(address: str) -> dict[str, float]:
    """/metrics as {series: value}."""
    status, text = fetch(f"http://{address}/metrics")
    assert status == 200, text
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            out[series] = float(value)
    return out


def of(context: str, metrics: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if f'context="{context}"' in k}


def series(metric: str, context: str, namespace: str, **labels: str) -> str:
    """A series as the Prometheus client writes it: its labels sorted by name."""
    every = {"context": context, "namespace": namespace, "service": "web", **labels}
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(every.items())) + "}"


@pytest.fixture
def fleet_served(cluster: Cluster, fleet_kubeconfig: str, shop: str) -> Iterator[str]:
    """serve -n SHOP --contexts first,second --events on the host, ready; stopped with SIGTERM
    afterwards (and it must end 0, the first cluster's watches never told as interrupted)."""
    env = cluster.env | {"KUBECONFIG": fleet_kubeconfig}
    env.pop("INSPECTOR_DNS_SERVER", None)
    with serving(env, "-n", shop, "--contexts", "first,second", "--events") as running:
        yield running.address
    err = running.err
    assert "Traceback" not in err, err
    assert (running.code, err.splitlines()[-1]) == (0, "serve: stopped"), err
    assert not [line for line in err.splitlines() if line.startswith('context "first"')], err


@contextmanager
def api_server_stopped(cluster: Cluster) -> Iterator[None]:
    """The second cluster's API server stopped for the block (its own local cluster: the session's is
    left alone); started again after it, whatever happens, and ready."""
    local = [sys.executable, str(Path(__file__).resolve().parent.parent / "cluster" / "localcluster.py")]
    env = second_cluster_env()
    subprocess.run([*local, "stop-component", "kube-apiserver"], env=env, check=True, timeout=120)
    try:
        yield
    finally:
        subprocess.run([*local, "start-component", "kube-apiserver"], env=env, check=True, timeout=300)
        wait_until(
            lambda: cluster.kubectl("get", "--raw", "/readyz", check=False) == "ok",
            what="the second cluster's API ready",
            timeout=120,
        )


def serve_events(cluster: Cluster, namespace: str) -> list[tuple[str, str, str, str]]:
    """The Events serve --events wrote in the namespace: on which object (name and uid), why, what."""
    return [
        (
            e["involvedObject"]["name"],
            e["involvedObject"].get("uid", ""),
            e["reason"],
            e["message"].split(":")[0],
        )
        for e in cluster.get_json("events", "-n", namespace)["items"]
        if e.get("source", {}).get("component") == "svc-inspect"
    ]


def typo(cluster: Cluster, namespace: str, app: str) -> None:
    patch = json.dumps({"spec": {"selector": {"app": app}}})
    cluster.kubectl("patch", "service", "web", "-n", namespace, "-p", patch)


def test_serve_contexts_labels_each_clusters_series_and_one_api_server_away_stops_not_the_others(
    cluster: Cluster,
    second: Cluster,
    fleet_kubeconfig: str,
    shop: str,
    fleet_served: str,
) -> None:
    address = fleet_served
    ok = {c: series("svc_inspect_service_ok", c, shop, type="ClusterIP") for c in ("first", "second")}
    no_pods = {
        c: series("svc_inspect_findings", c, shop, code="selector-matches-no-pods", severity="error")
        for c in ("first", "second")
    }
    before = wait_until(
        lambda: (m := scraped(address)).get(ok["first"]) == 1.0 and m.get(no_pods["second"]) == 1.0 and m,
        what="first's web ok, second's selecting nothing",
    )
    assert before[ok["second"]] == 0.0 and no_pods["first"] not in before
    assert all("context=" in k for k in before)  # every series says its cluster

    # a selector typo in the first cluster: its series change, the second's not at all
    typo(cluster, shop, "wbe")
    after = wait_until(
        lambda: (m := scraped(address)).get(no_pods["first"]) == 1.0 and m, what="first's typo in /metrics"
    )
    assert after[ok["first"]] == 0.0
    assert of("second", after) == of("second", before)
    # --events: the Event on the first cluster's web (its uid), none in the second
    uid = cluster.get_json("service", "web", "-n", shop)["metadata"]["uid"]
    wait_until(
        lambda: ("web", uid, "FindingAppeared", "selector-matches-no-pods") in serve_events(cluster, shop),
        what="the Event of first's finding",
    )
    typo(cluster, shop, "web")
    wait_until(lambda: scraped(address).get(ok["first"]) == 1.0, what="first's web mended in /metrics")

    with api_server_stopped(second):
        _, body = wait_until(
            lambda: (answer := fetch(f"http://{address}/readyz"))[0] == 503 and answer,
            what="/readyz 503",
            timeout=60,
        )
        assert body.startswith('context "second": a watch is interrupted: '), body
        assert "first" not in body and len(body.splitlines()) == 1
        assert fetch(f"http://{address}/healthz") == (200, "ok\n")
        away = scraped(address)
        assert (away['svc_inspect_ready{context="first"}'], away['svc_inspect_ready{context="second"}']) == (
            1.0,
            0.0,
        )
        assert away[ok["second"]] == 0.0 and away[no_pods["second"]] == 1.0  # its last report stays
        # the first cluster's changes still arrive while the second's API server is away
        typo(cluster, shop, "wbe")
        moved = wait_until(
            lambda: (m := scraped(address)).get(no_pods["first"]) == 1.0 and m,
            what="first's typo in /metrics while the second's API server is away",
        )
        assert moved['svc_inspect_ready{context="second"}'] == 0.0
        assert fetch(f"http://{address}/readyz")[0] == 503

    wait_until(
        lambda: fetch(f"http://{address}/readyz") == (200, "ok\n"), what="/readyz 200 again", timeout=90
    )
    assert scraped(address)['svc_inspect_watch_restarts_total{context="second",resource="pods"}'] >= 1

    # /report is what `diff --contexts -o json` says, both read afresh at each look (the second
    # cluster's controllers may still be settling after its API server's restart)
    def same_as_diff() -> bool:
        served = json.loads(fetch(f"http://{address}/report")[1])
        _, out, _ = fleet(
            cluster, fleet_kubeconfig, "diff", "-n", shop, "--contexts", "first,second", "-o", "json"
        )
        return bool(served == json.loads(out))

    wait_until(same_as_diff, what="/report as diff --contexts -o json says", timeout=120)
    doc = json.loads(fetch(f"http://{address}/report")[1])
    assert [c["context"] for c in doc["contexts"]] == ["first", "second"]
    assert doc["summary"]["errors"] == 2  # web's typo in the first, web-v2 in the second
    typo(cluster, shop, "web")
    assert serve_events(second, shop) == []  # second's web was broken from the start: nothing appeared
