"""The kind cluster's fences (make e2e-kind): nothing the nodes or their pods send leaves this machine.

The kind nodes are containers of the dockerd of cluster/kind/dockerd.sh (KIND_DOCKER_HOST), on a
Docker network of their own; every node fences itself from boot (cluster/kind/guard.sh: no default
route, an nftables table rejecting any address but the node network's, the pods' and the Services'),
and the host never forwards. As on the local cluster (test_real_node.py), the routing decision for a
packet going outward is asked of the kernel, from a pod on every node, before anything is sent; the
one connection a pod then tries is refused by its own node. Skipped on any other cluster.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.harness import Cluster, apply, bare_web_pod, kind_exec, kind_nodes, wait_pod_ready

GATEWAY = "192.0.2.1"  # this VM's default gateway: nothing of ours may reach it
OUTSIDE = (GATEWAY, "8.8.8.8", "192.168.1.1", "172.16.0.1", "10.255.255.53")
POD_BRIDGE = "podbr0"  # cluster/kind/cni.sh


@pytest.fixture
def kind(cluster: Cluster) -> Cluster:
    if not cluster.kind:
        pytest.skip("not a kind cluster of make e2e-kind (E2E_KIND)")
    return cluster


@pytest.fixture
def clients(kind: Cluster, namespace: str) -> Iterator[dict[str, tuple[str, str]]]:
    """One agnhost web pod (port 5000, GET /hostname) pinned to every node: node -> (pod, IP)."""
    nodes = kind_nodes(kind)
    for node in nodes:
        manifest = bare_web_pod(f"client-{node}"[:63]).replace("spec:\n", f"spec:\n  nodeName: {node}\n", 1)
        apply(kind, namespace, manifest)
    out = {}
    for node in nodes:
        pod = f"client-{node}"[:63]
        wait_pod_ready(kind, namespace, pod)
        out[node] = (pod, str(kind.get_json("pod", pod, "-n", namespace)["status"]["podIP"]))
    yield out


def test_three_nodes_in_three_zones(kind: Cluster) -> None:
    nodes = kind.get_json("nodes")["items"]
    zones = {n["metadata"]["name"]: n["metadata"]["labels"].get("topology.kubernetes.io/zone") for n in nodes}
    assert len(zones) == 3 and len(set(zones.values())) == 3 and None not in zones.values(), zones


def test_pods_on_every_node_have_no_route_off_the_machine(
    kind: Cluster, namespace: str, clients: dict[str, tuple[str, str]]
) -> None:
    for node, (pod, ip) in clients.items():
        for outside in OUTSIDE:
            # a packet from the pod, as its node would route it, and one from the node itself
            for where in (["from", ip, "iif", POD_BRIDGE], []):
                res = kind_exec(node, "ip", "route", "get", outside, *where)
                verdict = (res.stdout + res.stderr).lower()
                assert res.returncode != 0 and "unreachable" in verdict, (node, outside, where, verdict)
        # while every other node's pods are reached, through that node's address
        for other, (_, other_ip) in clients.items():
            if other != node:
                res = kind_exec(node, "ip", "route", "get", other_ip, "from", ip, "iif", POD_BRIDGE)
                assert res.returncode == 0 and "dev eth0" in res.stdout, (
                    node,
                    other,
                    res.stdout + res.stderr,
                )
        # the fence behind the routes: only the node network, pods, Services and loopback pass
        table = kind_exec(node, "nft", "list", "table", "inet", "inspector_guard", check=True).stdout
        assert "hook output" in table and "hook forward" in table and "reject" in table, table
        # what the pod itself sees: its node answers that there is no way out, at once
        res = subprocess.run(
            [kind.kubectl_bin, "exec", "-n", namespace, pod, "--", "nc", "-w", "3", GATEWAY, "80"],
            input="",
            capture_output=True,
            text=True,
            env=kind.env,
            timeout=60,
            check=False,
        )
        assert res.returncode != 0, (node, res.stdout, res.stderr)


def test_pods_reach_each_other_across_nodes(
    kind: Cluster, namespace: str, clients: dict[str, tuple[str, str]]
) -> None:
    """The CNI of cluster/kind/cni.sh: a bridge per node, routes between the nodes' pod ranges."""
    for pod, _ in clients.values():
        for other, other_ip in clients.values():
            script = f'printf "GET /hostname HTTP/1.0\\r\\n\\r\\n" | nc -w 5 {other_ip} 5000'
            out = kind.exec(namespace, pod, "sh", "-c", script).replace("\r\n", "\n")
            assert out.rsplit("\n\n", 1)[-1].strip() == other, (pod, other_ip, out)


def test_cluster_dns_asks_nothing_outside(
    kind: Cluster, namespace: str, clients: dict[str, tuple[str, str]]
) -> None:
    corefile = kind.get_json("configmap", "coredns", "-n", "kube-system")["data"]["Corefile"]
    assert "forward" not in corefile and "kubernetes cluster.local" in corefile, corefile
    pod = next(iter(clients.values()))[0]
    # a cluster name resolves; a name outside the cluster does not (nothing is asked upstream)
    api = kind.get_json("service", "kubernetes", "-n", "default")["spec"]["clusterIP"]
    out = kind.exec(namespace, pod, "getent", "hosts", "kubernetes.default.svc.cluster.local")
    assert out.split()[:1] == [api], out
    assert not kind.exec_ok(namespace, pod, "getent", "hosts", "example.com")


def test_the_host_neither_forwards_nor_gained_docker_rules(kind: Cluster) -> None:
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "0"
    for tool in ("iptables-save", "ip6tables-save"):
        rules = subprocess.run([tool], capture_output=True, text=True, check=False).stdout
        assert "DOCKER" not in rules, rules
