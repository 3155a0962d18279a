"""The DNS commands against the cluster's real DNS (CoreDNS with its kubernetes plugin): a pod's
search walk, the lesson's redis-master cases, ExternalName, headless Services following a scale-down,
SRV records, the oracle, and the failures (unreachable DNS, malformed names, the port-forward path)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.harness import (
    MANIFESTS,
    Cluster,
    apply_dns_clients,
    fresh_namespace,
    inspect_with_env,
    ready_pod_ips,
    wait_until,
)

DNS = MANIFESTS / "dns"
DOMAIN = "cluster.local"


@pytest.fixture
def other_namespace(cluster: Cluster, namespace: str) -> Iterator[str]:
    """A second fresh namespace: the lesson's test-ns, beside `namespace` as its my-ns."""
    yield from fresh_namespace(cluster, f"{namespace[:50]}-t{uuid.uuid4().hex[:4]}")


def deploy(cluster: Cluster, namespace: str, manifest: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", str(DNS / manifest))


def deploy_redis(cluster: Cluster, namespace: str) -> str:
    """redis-master in `namespace`, once CoreDNS answers its name; returns its ClusterIP."""
    deploy(cluster, namespace, "redis-master.yaml")
    ip = cluster.get_json("service", "redis-master", "-n", namespace)["spec"]["clusterIP"]
    wait_until(
        lambda: resolve(cluster, f"redis-master.{namespace}.svc.{DOMAIN}.", namespace)[0]["answer"],
        what="CoreDNS to answer redis-master",
    )
    return str(ip)


def resolve(cluster: Cluster, name: str, namespace: str, *args: str) -> tuple[dict[str, Any], int]:
    res = cluster.inspect("resolve", name, "--from-namespace", namespace, *args, "-o", "json")
    assert "Traceback" not in res.stderr, res.stderr
    assert res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout), res.returncode


def answers(result: dict[str, Any]) -> list[str]:
    return sorted(result["answer"]["answers"]) if result["answer"] else []


# --------------------------------------------------------------------------- the lesson's cases


def test_short_name_resolves_to_the_cluster_ip_from_its_own_namespace(
    cluster: Cluster, namespace: str
) -> None:
    ip = deploy_redis(cluster, namespace)
    result, code = resolve(cluster, "redis-master", namespace)
    assert code == 0
    assert result["attempts"] == [
        {
            "qname": f"redis-master.{namespace}.svc.{DOMAIN}.",
            "qtype": "A",
            "rcode": "NOERROR",
            "answers": [ip],
        }
    ]
    assert result["answer"]["answers"] == [ip]
    assert result["expected"]["answers"] == [ip]
    assert result["match"] is True
    assert (result["name"], result["fromNamespace"], result["ndots"]) == ("redis-master", namespace, 5)
    assert result["searchList"] == [f"{namespace}.svc.{DOMAIN}", f"svc.{DOMAIN}", DOMAIN]


def test_short_name_from_another_namespace_fails_after_walking_the_search_list(
    cluster: Cluster, namespace: str, other_namespace: str
) -> None:
    deploy_redis(cluster, namespace)
    result, code = resolve(cluster, "redis-master", other_namespace)
    assert code == 1
    assert [a["qname"] for a in result["attempts"]] == [
        f"redis-master.{other_namespace}.svc.{DOMAIN}.",
        f"redis-master.svc.{DOMAIN}.",
        f"redis-master.{DOMAIN}.",
        "redis-master.",
    ]
    assert [a["rcode"] for a in result["attempts"]][:3] == ["NXDOMAIN"] * 3
    assert result["answer"] is None
    assert result["expected"] is None
    assert result["match"] is True  # the API agrees: no Service answers this name from there

    text = cluster.inspect("resolve", "redis-master", "--from-namespace", other_namespace)
    assert text.returncode == 1
    assert (
        f"none: redis-master does not resolve from namespace {other_namespace} after 4 queries" in text.stdout
    )


@pytest.mark.parametrize("form", ["redis-master.{ns}", "redis-master.{ns}.svc.cluster.local"])
def test_namespace_qualified_names_resolve_to_the_same_cluster_ip_from_anywhere(
    cluster: Cluster, namespace: str, other_namespace: str, form: str
) -> None:
    ip = deploy_redis(cluster, namespace)
    result, code = resolve(cluster, form.format(ns=namespace), other_namespace)
    assert code == 0
    assert result["answer"]["qname"] == f"redis-master.{namespace}.svc.{DOMAIN}."
    assert result["answer"]["answers"] == [ip]
    assert result["match"] is True
    # the ndots amplification: every form below 5 dots first walks the whole search list
    assert len(result["attempts"]) == (2 if form == "redis-master.{ns}" else 4)


def test_trailing_dot_costs_exactly_one_query(cluster: Cluster, namespace: str, other_namespace: str) -> None:
    ip = deploy_redis(cluster, namespace)
    result, code = resolve(cluster, f"redis-master.{namespace}.svc.{DOMAIN}.", other_namespace)
    assert code == 0
    assert len(result["attempts"]) == 1
    assert result["answer"]["answers"] == [ip]


def test_externalname_answers_its_cname(cluster: Cluster, namespace: str) -> None:
    deploy(cluster, namespace, "externalname.yaml")
    result = wait_until(
        lambda: (r := resolve(cluster, "db", namespace))[1] == 0 and r[0], what="the CNAME of db"
    )
    assert result["answer"]["answers"] == ["CNAME my.database.example.com."]
    assert result["match"] is True
    cname, code = resolve(cluster, "db", namespace, "--type", "CNAME")
    assert (code, cname["answer"]["answers"]) == (0, ["my.database.example.com."])


def test_headless_service_answers_the_ready_pod_ips_and_follows_a_scale_down(
    cluster: Cluster, namespace: str
) -> None:
    deploy(cluster, namespace, "headless.yaml")
    pods = wait_until(
        lambda: len(ips := ready_pod_ips(cluster, namespace, "app=web")) == 3 and ips, "3 web pods"
    )
    result = wait_until(
        lambda: (r := resolve(cluster, "web", namespace)[0]) and answers(r) == pods and r, what="3 A records"
    )
    assert result["match"] is True
    web0 = cluster.get_json("pod", "web-0", "-n", namespace)["status"]["podIP"]
    hostname, code = resolve(cluster, "web-0.web", namespace)
    assert (code, hostname["answer"]["answers"]) == (0, [web0])

    cluster.kubectl("scale", "-n", namespace, "statefulset/web", "--replicas=1")
    wait_until(lambda: ready_pod_ips(cluster, namespace, "app=web") == [web0], what="the scale-down to web-0")
    result = wait_until(
        lambda: (r := resolve(cluster, "web", namespace)[0]) and answers(r) == [web0] and r,
        what="DNS to follow the scale-down",
    )
    assert result["match"] is True
    gone, code = resolve(cluster, "web-2.web", namespace)
    assert code == 1 and gone["answer"] is None


def test_named_port_srv_record_answers(cluster: Cluster, namespace: str) -> None:
    deploy_redis(cluster, namespace)
    result, code = resolve(cluster, "_redis._tcp.redis-master", namespace, "-t", "SRV")
    assert code == 0
    assert result["answer"]["answers"] == [f"0 100 6379 redis-master.{namespace}.svc.{DOMAIN}."]
    assert result["expected"]["answers"] == [f"6379 redis-master.{namespace}.svc.{DOMAIN}."]
    assert result["match"] is True


# --------------------------------------------------------------------------- a pod's own resolver


def test_from_pod_uses_its_dns_config(cluster: Cluster, namespace: str, other_namespace: str) -> None:
    ip = deploy_redis(cluster, namespace)
    apply_dns_clients(cluster, other_namespace)
    # ndots 1: a name with one dot is tried as is first (and fails: it is not absolute), then searched
    result, code = resolve(
        cluster, f"redis-master.{namespace}", other_namespace, "--from-pod", "client-ndots1"
    )
    assert code == 0
    assert result["ndots"] == 1
    assert [a["qname"] for a in result["attempts"]] == [
        f"redis-master.{namespace}.",
        f"redis-master.{namespace}.{other_namespace}.svc.{DOMAIN}.",
        f"redis-master.{namespace}.svc.{DOMAIN}.",
    ]
    assert result["answer"]["answers"] == [ip]
    # dnsPolicy None: only its own search domain, and glibc's default ndots 1
    result, code = resolve(cluster, f"redis-master.{namespace}", other_namespace, "--from-pod", "client-none")
    assert (result["searchList"], result["ndots"]) == ([f"svc.{DOMAIN}"], 1)
    assert [a["qname"] for a in result["attempts"]] == [
        f"redis-master.{namespace}.",
        f"redis-master.{namespace}.svc.{DOMAIN}.",
    ]
    assert code == 0


# --------------------------------------------------------------------------- the oracle


def test_dns_oracle_finds_every_record_as_the_api_says(cluster: Cluster, namespace: str) -> None:
    deploy_redis(cluster, namespace)
    deploy(cluster, namespace, "externalname.yaml")
    deploy(cluster, namespace, "headless.yaml")
    wait_until(lambda: len(ready_pod_ips(cluster, namespace, "app=web")) == 3, what="3 web pods")

    def oracle() -> dict[str, Any] | None:
        res = cluster.inspect("dns", "-n", namespace, "-o", "json")
        assert "Traceback" not in res.stderr, res.stderr
        data = json.loads(res.stdout)
        return data if res.returncode == 0 and data["summary"]["errors"] == 0 else None

    data = wait_until(oracle, what="every DNS record to match the API")
    kinds = {(s["name"], r["qtype"], r["kind"]) for s in data["services"] for r in s["records"]}
    assert kinds == {
        ("db", "CNAME", "externalName"),
        ("redis-master", "A", "service"),
        ("redis-master", "SRV", "srv"),
        ("web", "A", "service"),
        ("web", "A", "hostname"),
        ("web", "SRV", "srv"),
        # the rest of the specification, as the real CoreDNS serves it (pods insecure in its Corefile)
        ("redis-master", "PTR", "ptr"),
        ("redis-master", "A", "pod"),
        ("web", "PTR", "ptr"),
        ("web", "A", "pod"),
    }
    assert [(r["qname"], r["got"]["answers"]) for r in data["cluster"]["records"]] == [
        (f"dns-version.{DOMAIN}.", ['"1.1.0"'])
    ]
    assert data["server"] == {"address": cluster.dns_server, "via": "INSPECTOR_DNS_SERVER"}

    diff = cluster.inspect("diff", "--dns", "-n", namespace, "-o", "json")
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert f"DNS checked at {cluster.dns_server} (INSPECTOR_DNS_SERVER)" in diff.stdout


def test_dns_oracle_reports_every_record_the_dns_does_not_serve(cluster: Cluster, namespace: str) -> None:
    deploy_redis(cluster, namespace)
    # a cluster domain the cluster's DNS does not serve: nothing answers as the API says
    res = cluster.inspect("dns", "-n", namespace, "--cluster-domain", "wrong.example", "-o", "json")
    assert res.returncode == 1
    data = json.loads(res.stdout)
    codes = sorted(f["code"] for s in data["services"] for f in s["findings"])
    assert codes == ["dns-mismatch", "dns-missing-ptr", "dns-missing-srv"]
    # the cluster IP's PTR still names the real domain; the Corefile serves no wrong.example
    (ptr,) = [f for s in data["services"] for f in s["findings"] if f["code"] == "dns-missing-ptr"]
    assert ptr["details"]["answers"] == [f"redis-master.{namespace}.svc.{DOMAIN}."]
    cluster_codes = sorted((f["code"], f["details"].get("zone")) for f in data["cluster"]["findings"])
    assert cluster_codes == [
        ("dns-corefile-zone-not-served", "wrong.example"),
        ("dns-mismatch", None),  # dns-version.wrong.example. is not a zone CoreDNS serves
    ]
    diff = cluster.inspect("diff", "--dns", "-n", namespace, "--cluster-domain", "wrong.example")
    assert diff.returncode == 1
    assert "dns-missing-srv: SRV record _redis._tcp.redis-master." in diff.stdout


# --------------------------------------------------------------------------- failures


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("command", [["resolve", "redis-master"], ["dns"], ["diff", "--dns"]])
def test_unreachable_dns_is_one_line_and_exit_3(cluster: Cluster, namespace: str, command: list[str]) -> None:
    deploy(cluster, namespace, "redis-master.yaml")
    server = f"127.0.0.1:{_free_udp_port()}"
    res = cluster.inspect(
        *command, "-n", namespace, "--dns-server", server, "--timeout", "0.5", "--retries", "0"
    )
    assert res.returncode == 3, res.stdout + res.stderr
    assert res.stderr.count("\n") == 1
    assert res.stderr.startswith(
        f"error: dns-unreachable: the cluster DNS at {server} (--dns-server) did not answer"
    )


@pytest.mark.parametrize(
    "name",
    ["x" * 64 + ".my-ns", "redis..master", "redis_master!", "a." * 127 + "b"],
    ids=["label-over-63", "empty-label", "bad-characters", "name-over-253"],
)
def test_malformed_name_is_one_line_and_exit_2(cluster: Cluster, namespace: str, name: str) -> None:
    res = cluster.inspect("resolve", name, "--from-namespace", namespace)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1
    assert res.stderr.startswith(f"error: invalid DNS name {name!r}: ")


def test_without_dns_server_it_goes_through_the_api_servers_port_forward_to_kube_dns(
    cluster: Cluster, namespace: str
) -> None:
    deploy(cluster, namespace, "redis-master.yaml")
    res = inspect_with_env(
        cluster, {"INSPECTOR_DNS_SERVER": None}, "resolve", "redis-master", "--from-namespace", namespace
    )
    assert "Traceback" not in res.stderr, res.stderr
    # the kubelet's port-forward (the real node's, or kwok's forwarding to the host CoreDNS) carries
    # the stream to a real CoreDNS
    assert res.returncode == 0, res.stderr
    assert "port-forward through the API server, DNS over TCP" in res.stdout
    assert "Match:    yes" in res.stdout
    cluster_ip = cluster.get_json("service", "redis-master", "-n", namespace)["spec"]["clusterIP"]
    assert f"Answer:   {cluster_ip} from redis-master.{namespace}.svc.cluster.local." in res.stdout


def test_coredns_stopped_is_dns_unreachable_and_recovers(cluster: Cluster, namespace: str) -> None:
    if not cluster.local:
        pytest.skip("stops the local cluster's CoreDNS")
    deploy_redis(cluster, namespace)
    with coredns_stopped(cluster):
        for command in (["dns"], ["resolve", "redis-master"], ["diff", "--dns"]):
            res = cluster.inspect(*command, "-n", namespace, "--timeout", "0.5", "--retries", "1")
            assert res.returncode == 3, (command, res.stdout, res.stderr)
            assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
            assert res.stderr.startswith(f"error: dns-unreachable: the cluster DNS at {cluster.dns_server}")
    # back: the same commands answer again once CoreDNS has synced with the API server
    wait_until(lambda: cluster.inspect("dns", "-n", namespace).returncode == 0, what="dns to pass again")
    result, status = resolve(cluster, "redis-master", namespace)
    assert status == 0 and result["match"] is True


@contextlib.contextmanager
def coredns_stopped(cluster: Cluster) -> Iterator[None]:
    """CoreDNS down for the block: its pods scaled to zero on the real node (kube-proxy then rejects
    10.96.0.10), or its host process stopped on the kwok-only cluster."""
    if cluster.real_pods:
        scale = ("scale", "-n", "kube-system", "deployment/coredns")
        cluster.kubectl(*scale, "--replicas=0")
        # gone, not only terminating: kube-proxy sends to terminating endpoints while they serve
        wait_until(
            lambda: not cluster.get_json("pods", "-n", "kube-system", "-l", "k8s-app=kube-dns")["items"],
            what="no CoreDNS pod",
        )
        try:
            yield
        finally:
            cluster.kubectl(*scale, "--replicas=2")
            cluster.kubectl("rollout", "status", "-n", "kube-system", "deployment/coredns", "--timeout=120s")
        return
    local = [sys.executable, str(Path(__file__).resolve().parent.parent / "cluster" / "localcluster.py")]
    subprocess.run([*local, "stop-component", "coredns"], check=True)
    try:
        yield
    finally:
        subprocess.run([*local, "start-component", "coredns"], check=True)


def test_the_cluster_domain_comes_from_the_coredns_configuration(cluster: Cluster, namespace: str) -> None:
    if not cluster.local:
        pytest.skip("edits kube-system/coredns, which on this cluster would change its DNS")
    original = cluster.get_json("configmap", "coredns", "-n", "kube-system")["data"]["Corefile"]
    edited = original.replace("kubernetes cluster.local ", "kubernetes corp.example ")
    assert edited != original
    patch = json.dumps({"data": {"Corefile": edited}})
    cluster.kubectl("patch", "configmap", "coredns", "-n", "kube-system", "--type=merge", "-p", patch)
    try:
        result, _ = resolve(cluster, "redis-master", namespace)
        assert result["searchList"] == [f"{namespace}.svc.corp.example", "svc.corp.example", "corp.example"]
        result, _ = resolve(cluster, "redis-master", namespace, "--cluster-domain", "cluster.local")
        assert result["searchList"][0] == f"{namespace}.svc.cluster.local"
    finally:
        restore = json.dumps({"data": {"Corefile": original}})
        cluster.kubectl("patch", "configmap", "coredns", "-n", "kube-system", "--type=merge", "-p", restore)
