"""Several real nodes: each its own kubelet, kube-proxy, network namespace and zone.

Services fail per node, so the local cluster runs several real nodes (cluster/nodes.py). These tests
prove what the per-node work stands on: pods on every node reach pods on every other node, directly
and through a Service, and every node's node ports; DNS answers from every node; kube-proxy runs on
every node in the mode asked, programming rules that are that node's alone; and the fault handles
act on one node only (kube-proxy stopped there, the node cut off). Traffic is observed from pods;
it goes only to pod, Service and node addresses on this machine.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import cast

import pytest

from e2e.harness import (
    LOCAL_STATE,
    WEB_SVC,
    Cluster,
    RealNode,
    apply,
    client_pod,
    inspect_with_env,
    pods_on_every_node,
    slice_addresses,
    wait_pod_ready,
    wait_until,
)

LOCAL = [sys.executable, str(Path(__file__).resolve().parent.parent / "cluster" / "localcluster.py")]


def local(*args: str) -> None:
    env = os.environ | {"LOCALCLUSTER_DIR": str(LOCAL_STATE)}
    subprocess.run([*LOCAL, *args], check=True, env=env, timeout=180)


def clients_on_every_node(cluster: Cluster, namespace: str) -> dict[str, str]:
    """node -> the name of a client pod (agnhost idling, busybox nc) pinned there, once Ready."""
    for node in cluster.nodes:
        apply(cluster, namespace, client_pod(f"client-{node.name}", f"  nodeName: {node.name}\n"))
    for node in cluster.nodes:
        wait_pod_ready(cluster, namespace, f"client-{node.name}")
    return {node.name: f"client-{node.name}" for node in cluster.nodes}


def hostnames(cluster: Cluster, namespace: str, pod: str, host: str, port: int, tries: int = 1) -> list[str]:
    """GET /hostname `tries` times from inside a pod (busybox nc, 2 s each); the answers, one per
    request that got one."""
    script = (
        f"for i in $(seq {tries}); do "
        f'printf "GET /hostname HTTP/1.0\\r\\n\\r\\n" | nc -w 2 {host} {port} | tail -n 1; echo; done'
    )
    res = subprocess.run(
        [cluster.kubectl_bin, "exec", "-n", namespace, pod, "--", "sh", "-c", script],
        capture_output=True,
        text=True,
        env=cluster.env,
        timeout=60 + 3 * tries,
        check=False,
    )
    return [line.strip() for line in res.stdout.splitlines() if line.strip()]


@pytest.fixture
def several(real_nodes: Cluster) -> Cluster:
    if len(real_nodes.nodes) < 2:
        pytest.skip("LOCALCLUSTER_REAL_NODES=1: a test of several nodes")
    return real_nodes


@pytest.fixture
def nodes_here(real_node: Cluster, request: pytest.FixtureRequest) -> Cluster:
    """The cluster with its real nodes, for a test that acts on no node itself (no fault handle):
    the local cluster's (`several`), or make e2e-kind's three, named with their addresses from the
    API (they have no network namespace on the host: `RealNode.run` is not for them)."""
    if not real_node.kind:
        return cast(Cluster, request.getfixturevalue("several"))
    found = sorted(real_node.get_json("nodes")["items"], key=lambda n: n["metadata"]["name"])
    nodes = [
        RealNode(
            n["metadata"]["name"],
            next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP"),
            netns="",
        )
        for n in found
    ]
    return dataclasses.replace(real_node, nodes=nodes)


def web_service(cluster: Cluster, namespace: str, name: str, node_port: bool = False) -> str:
    """A Service over every node's web pod; its ClusterIP once its endpoints are all ready."""
    manifest = WEB_SVC.replace("name: web-svc", f"name: {name}")
    apply(cluster, namespace, manifest + ("  type: NodePort\n" if node_port else ""))
    wait_until(
        lambda: len([e for e in slice_addresses(cluster, namespace, name) if e[2]]) == len(cluster.nodes),
        what=f"{len(cluster.nodes)} ready endpoints of {name}",
    )
    return str(cluster.get_json("service", name, "-n", namespace)["spec"]["clusterIP"])


def programmed(node: RealNode, mode: str | None) -> str:
    """kube-proxy's rules on a node, as text."""
    if mode == "nftables":
        return node.run("nft", "list", "table", "ip", "kube-proxy", check=True).stdout
    return node.run("iptables-save", "-t", "nat", check=True).stdout


# --------------------------------------------------------------------------- the nodes


def test_every_real_node_is_ready_in_a_zone_of_its_own_with_its_own_kube_proxy(real_nodes: Cluster) -> None:
    want = int(os.environ.get("LOCALCLUSTER_REAL_NODES") or 3)
    assert len(real_nodes.nodes) == want
    api_nodes = real_nodes.get_json("nodes", "-l", "type=real")["items"]
    assert sorted(n["metadata"]["name"] for n in api_nodes) == sorted(n.name for n in real_nodes.nodes)
    for n in api_nodes:
        assert {c["type"]: c["status"] for c in n["status"]["conditions"]}["Ready"] == "True"
        addresses = {a["type"]: a["address"] for a in n["status"]["addresses"]}
        assert addresses["InternalIP"] == next(
            r.ip for r in real_nodes.nodes if r.name == n["metadata"]["name"]
        )
        assert n["metadata"]["labels"]["topology.kubernetes.io/region"] == "local"
    zones = [n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in api_nodes]
    assert len(set(zones)) == len(zones)
    # every node's kube-proxy and kubelet: a process of its own, in that node's network namespace
    host_ns = os.stat("/proc/self/ns/net").st_ino
    seen = set()
    for node in real_nodes.nodes:
        for comp in ("kube-proxy", "kubelet", "containerd", "kube-router"):
            pid = int((LOCAL_STATE / "pids" / f"{comp}@{node.name}.pid").read_text().split()[0])
            netns = os.stat(f"/proc/{pid}/ns/net").st_ino
            assert netns != host_ns and netns == os.stat(f"/run/netns/{node.netns}").st_ino, (comp, node.name)
            seen.add((comp, pid))
    assert len(seen) == 4 * len(real_nodes.nodes)
    # the kwok nodes stay, tainted: nothing runs there unless it tolerates being simulated
    kwok = real_nodes.get_json("nodes", "-l", "type=kwok")["items"]
    assert len(kwok) == 2 and all(
        any(t["key"] == "kwok.x-k8s.io/node" for t in n["spec"].get("taints", [])) for n in kwok
    )


def test_each_node_gives_its_pods_addresses_from_its_own_range(real_nodes: Cluster, namespace: str) -> None:
    pods = pods_on_every_node(real_nodes, namespace)
    for i, node in enumerate(real_nodes.nodes):
        assert pods[node.name][1].startswith(f"10.88.{i + 1}."), (node.name, pods[node.name])


def test_kube_proxy_runs_in_the_mode_asked_on_every_node(real_nodes: Cluster) -> None:
    """The rules are in the backend asked for, and none of kube-proxy's in the other."""
    mode = real_nodes.proxy_mode
    assert mode == (os.environ.get("LOCALCLUSTER_PROXY_MODE") or "iptables")
    for node in real_nodes.nodes:
        nft = node.run("nft", "list", "table", "ip", "kube-proxy")
        chains = node.run("iptables-save", "-t", "nat", check=True).stdout
        if mode == "nftables":
            assert nft.returncode == 0 and "chain services" in nft.stdout, (node.name, nft.stderr)
            assert ":KUBE-SERVICES" not in chains, node.name
        else:
            assert nft.returncode != 0, (node.name, nft.stdout)
            assert ":KUBE-SERVICES" in chains and "-A KUBE-SERVICES" in chains, node.name


def test_a_rule_added_on_one_node_exists_on_no_other_node_nor_the_host(several: Cluster) -> None:
    first, *others = several.nodes
    chain = f"KIN-PROBE-{uuid.uuid4().hex[:6].upper()}"
    first.run("iptables", "-w", "-N", chain, check=True)
    try:
        assert first.run("iptables", "-w", "-S", chain).returncode == 0
        for node in others:
            assert node.run("iptables", "-w", "-S", chain).returncode != 0, node.name
        host = subprocess.run(["iptables", "-w", "-S", chain], capture_output=True, check=False)
        assert host.returncode != 0
    finally:
        first.run("iptables", "-w", "-X", chain, check=True)


# --------------------------------------------------------------------------- traffic across nodes


def test_pods_on_every_node_reach_every_other_nodes_pods_directly_and_through_a_service(
    nodes_here: Cluster, namespace: str
) -> None:
    several = nodes_here
    pods = pods_on_every_node(several, namespace)
    clients = clients_on_every_node(several, namespace)
    cluster_ip = web_service(several, namespace, "web-svc")
    everyone = {name for name, _ in pods.values()}
    for node in several.nodes:
        client = clients[node.name]
        for name, ip in pods.values():
            assert hostnames(several, namespace, client, ip, 5000) == [name], (node.name, name)
        # through the Service, by ClusterIP and by name: every node's pod answers in turn
        seen = set(hostnames(several, namespace, client, cluster_ip, 3000, tries=30))
        assert seen == everyone, (node.name, seen)
        by_name = hostnames(several, namespace, client, f"web-svc.{namespace}.svc.cluster.local", 3000)
        assert by_name and by_name[0] in everyone, (node.name, by_name)


def test_the_node_ports_of_every_node_answer_from_pods_on_the_other_nodes(
    nodes_here: Cluster, namespace: str
) -> None:
    several = nodes_here
    pods = pods_on_every_node(several, namespace)
    clients = clients_on_every_node(several, namespace)
    web_service(several, namespace, "web-np", node_port=True)
    node_port = several.get_json("service", "web-np", "-n", namespace)["spec"]["ports"][0]["nodePort"]
    everyone = {name for name, _ in pods.values()}
    for node in several.nodes:
        for other in several.nodes:
            if other is node:
                continue
            got = wait_until(
                lambda node=node, other=other: hostnames(
                    several, namespace, clients[node.name], other.ip, node_port
                ),
                what=f"{other.name}'s node port from {node.name}",
                timeout=30,
            )
            assert got[0] in everyone, (node.name, other.name, got)


def test_dns_answers_from_every_node_and_coredns_runs_on_several(nodes_here: Cluster, namespace: str) -> None:
    several = nodes_here
    dns_pods = several.get_json("pods", "-n", "kube-system", "-l", "k8s-app=kube-dns")["items"]
    assert len({p["spec"]["nodeName"] for p in dns_pods}) == 2, [p["spec"]["nodeName"] for p in dns_pods]
    clients = clients_on_every_node(several, namespace)
    api = several.get_json("service", "kubernetes", "-n", "default")["spec"]["clusterIP"]  # 10.96.0.1 here
    for node in several.nodes:
        out = several.exec(
            namespace, clients[node.name], "getent", "hosts", "kubernetes.default.svc.cluster.local"
        )
        assert out.split()[:1] == [api], (node.name, out)


# --------------------------------------------------------------------------- per-node faults


def test_kube_proxy_stopped_on_one_node_a_new_service_works_from_every_node_but_that_one(
    several: Cluster, namespace: str
) -> None:
    """A stopped kube-proxy keeps the rules it made (as a crashed one would) and makes no more: a
    Service created afterwards is missing on that node alone. Started again, it syncs."""
    pods = pods_on_every_node(several, namespace)
    clients = clients_on_every_node(several, namespace)
    stale: RealNode = several.nodes[-1]  # not the first: the host's gateway to Service addresses
    local("stop-component", "kube-proxy", "--node", stale.name)
    try:
        cluster_ip = web_service(several, namespace, "web-late")
        for node in several.nodes[:-1]:
            wait_until(
                lambda node=node: hostnames(several, namespace, clients[node.name], cluster_ip, 3000),
                what=f"the new Service from {node.name}",
                timeout=30,
            )
        # from the stale node: nothing answers, however often it is asked (each try waits 2 s)
        assert hostnames(several, namespace, clients[stale.name], cluster_ip, 3000, tries=5) == []
        # while the pods themselves answer from there: the Service's rule alone is missing
        pod_name, pod_ip = next(iter(pods.values()))
        assert hostnames(several, namespace, clients[stale.name], pod_ip, 5000) == [pod_name]
        assert cluster_ip not in programmed(stale, several.proxy_mode)
        assert cluster_ip in programmed(several.nodes[0], several.proxy_mode)
    finally:
        local("start-component", "kube-proxy", "--node", stale.name)
    wait_until(
        lambda: hostnames(several, namespace, clients[stale.name], cluster_ip, 3000),
        what=f"the new Service from {stale.name} once its kube-proxy runs again",
        timeout=60,
    )


def test_a_cut_node_is_unreachable_until_it_is_mended(several: Cluster, namespace: str) -> None:
    pods = pods_on_every_node(several, namespace)
    clients = clients_on_every_node(several, namespace)
    first, cut = several.nodes[0], several.nodes[-1]
    name, ip = pods[cut.name]
    assert hostnames(several, namespace, clients[first.name], ip, 5000) == [name]
    local("cut-node", cut.name)
    try:
        assert hostnames(several, namespace, clients[first.name], ip, 5000, tries=2) == []
        with pytest.raises(OSError):  # nor its kubelet from the host
            socket.create_connection((cut.ip, 10250), timeout=2).close()
    finally:
        local("mend-node", cut.name)
    wait_until(
        lambda: hostnames(several, namespace, clients[first.name], ip, 5000) == [name],
        what=f"{cut.name}'s pod once the node is mended",
        timeout=30,
    )


def test_network_policy_is_enforced_on_every_node(nodes_here: Cluster, namespace: str) -> None:
    """Ingress is judged where the server runs: a policy that admits only `role: allowed` closes the
    web pod of every node to a client that lacks the label, and opens them all once it has it."""
    several = nodes_here
    pods = pods_on_every_node(several, namespace)
    client = clients_on_every_node(several, namespace)[several.nodes[0].name]
    for name, ip in pods.values():
        assert hostnames(several, namespace, client, ip, 5000) == [name]
    apply(
        several,
        namespace,
        """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-allowed-only
spec:
  podSelector:
    matchLabels:
      app: web
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector:
            matchLabels:
              role: allowed
""",
    )
    for name, ip in pods.values():
        wait_until(
            lambda ip=ip: hostnames(several, namespace, client, ip, 5000) == [],
            what=f"the policy to close {name} to the client",
            timeout=60,
        )
    several.kubectl("label", "pod", "-n", namespace, client, "role=allowed", "--overwrite")
    for name, ip in pods.values():
        wait_until(
            lambda ip=ip, name=name: hostnames(several, namespace, client, ip, 5000) == [name],
            what=f"the policy to open {name} to the relabelled client",
            timeout=60,
        )


def test_a_coredns_replica_that_stops_answering_is_named_while_the_other_is_judged(
    several: Cluster, namespace: str
) -> None:
    """A CoreDNS replica whose node is cut off still stands Ready in the API (for the node's grace
    period): `dns` asks every replica directly, names the one that answers nothing, and judges the
    records by the one that answers."""
    apply(several, namespace, WEB_SVC)
    replicas = several.get_json("pods", "-n", "kube-system", "-l", "k8s-app=kube-dns")["items"]
    first = several.nodes[0].name  # the host's gateway to Service addresses stays up
    lost = next(p for p in replicas if p["spec"]["nodeName"] != first)
    kept = next(p for p in replicas if p is not lost)
    cut = next(n for n in several.nodes if n.name == lost["spec"]["nodeName"])
    # no pinned server: every ready replica of kube-dns is asked, each at its pod IP
    env: dict[str, str | None] = {"INSPECTOR_DNS_VIA": "direct", "INSPECTOR_DNS_SERVER": None}
    local("cut-node", cut.name)
    try:
        res = inspect_with_env(
            several, env, "dns", "-n", namespace, "--timeout", "1s", "--retries", "0", "-o", "json"
        )
    finally:
        local("mend-node", cut.name)
    assert "Traceback" not in res.stderr, res.stderr
    doc = json.loads(res.stdout)
    unreachable = [f for f in doc["cluster"]["findings"] if f["code"] == "dns-replica-unreachable"]
    assert [f["details"]["pod"] for f in unreachable] == [f"kube-system/{lost['metadata']['name']}"], doc[
        "cluster"
    ]
    assert res.returncode == 1
    # the other replica answered, and every record of the Service was judged by its answers
    assert kept["metadata"]["name"] in doc["server"]["via"], doc["server"]
    web = next(s for s in doc["services"] if s["name"] == "web-svc")
    assert web["records"] and all(r["ok"] for r in web["records"]), web
