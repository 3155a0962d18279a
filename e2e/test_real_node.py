"""On the real node: what the inspector says, checked against what really happens.

Pods here really run (kubelet, containerd, CNI, kube-proxy, CoreDNS in pods). Each test builds its
scenario for real, observes traffic or a pod's own resolver, and compares with the inspector.
Traffic goes only to addresses on this machine: pod and Service IPs, and the nodes' addresses.
The safety tests prove the fences without sending anything off the machine.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from e2e.harness import (
    INSPECT,
    LOCAL_STATE,
    MANIFESTS,
    WEB_SVC,
    Cluster,
    apply,
    apply_dns_clients,
    client_pod,
    cluster_dns,
    deploy_web,
    fresh_namespace,
    http_get,
    pods_on_every_node,
    ready_pod_ips,
    slice_addresses,
    wait_pod_ready,
    wait_until,
)

# the fences of cluster/hostnet.py and cluster/nodes.py
BRIDGE = "kin0"
GATEWAY = "192.0.2.1"  # this VM's default gateway: nothing of ours may reach it


@pytest.fixture
def other_namespace(cluster: Cluster, namespace: str) -> Iterator[str]:
    yield from fresh_namespace(cluster, f"{namespace[:50]}-t{uuid.uuid4().hex[:4]}")


def diff(cluster: Cluster, namespace: str, *args: str) -> tuple[dict[str, Any], int]:
    res = cluster.inspect("diff", "-n", namespace, *args, "-o", "json")
    assert "Traceback" not in res.stderr and res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout), res.returncode


def hostnames_behind(url: str, want: int, tries: int = 60) -> set[str]:
    """The pod names that answer GET url/hostname, asked until `want` distinct ones answered (or
    `tries` requests were made): kube-proxy picks an endpoint at random per connection. The first
    answer is waited for: kube-proxy programs its rules a moment after the EndpointSlice changes."""
    seen = {wait_until(lambda: answer(f"{url}/hostname"), what=f"an answer from {url}", timeout=30)}
    for _ in range(tries):
        if len(seen) >= want:
            break
        seen.add(http_get(f"{url}/hostname"))
    return seen


def answer(url: str) -> str | None:
    try:
        return http_get(url, timeout=3)
    except OSError:  # refused or reset until kube-proxy has synced
        return None


def pod_names(cluster: Cluster, namespace: str, selector: str, ready_only: bool = True) -> set[str]:
    pods = cluster.get_json("pods", "-n", namespace, "-l", selector)["items"]
    return {
        p["metadata"]["name"]
        for p in pods
        if not ready_only
        or any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
    }


def in_pod_http(cluster: Cluster, namespace: str, pod: str, host: str, port: int) -> str:
    """GET /hostname from inside a pod: glibc's resolver (getent) finds the address, as the pod's
    own applications would, then busybox nc speaks HTTP/1.0."""
    script = (
        f'set -- $(getent hosts {host}) && printf "GET /hostname HTTP/1.0\\r\\n\\r\\n" | nc -w 5 "$1" {port}'
    )
    out = cluster.exec(namespace, pod, "sh", "-c", script)
    return out.replace("\r\n", "\n").rsplit("\n\n", 1)[-1].strip()


# --------------------------------------------------------------------------- the fences


def test_the_kubernetes_service_endpoint_is_the_hosts_node_network_address(real_nodes: Cluster) -> None:
    addresses = {a for a, _, _ in slice_addresses(real_nodes, "default", "kubernetes")}
    assert addresses == {real_nodes.api_ip}
    assert GATEWAY not in addresses
    # and that address is one of this host's own, on the node network's bridge
    out = subprocess.run(
        ["ip", "-o", "addr", "show", "dev", BRIDGE], capture_output=True, text=True, check=True
    )
    assert f"inet {real_nodes.api_ip}/" in out.stdout


def test_pods_on_every_node_have_no_route_off_the_machine(real_nodes: Cluster, namespace: str) -> None:
    """The routing decision for a packet a pod sends outward is asked of the kernel, not sent: in
    the pod's node (no default route there) and on the host (the fenced table of what arrives from
    the node network)."""
    pods = pods_on_every_node(real_nodes, namespace)
    table = subprocess.run(
        ["ip", "route", "show", "table", "4863"], capture_output=True, text=True, check=True
    )
    assert "prohibit default" in table.stdout, table.stdout
    rules = subprocess.run(["ip", "rule", "show"], capture_output=True, text=True, check=True).stdout
    assert f"iif {BRIDGE} lookup 4863" in rules, rules
    for node in real_nodes.nodes:
        ip = pods[node.name][1]
        for outside in (GATEWAY, "8.8.8.8", "192.168.1.1", "172.16.0.1"):
            res = node.run("ip", "route", "get", outside, "from", ip, "iif", "cni0")
            verdict = (res.stdout + res.stderr).lower()
            assert res.returncode != 0 and "unreachable" in verdict, (node.name, outside, verdict)
            res = subprocess.run(
                ["ip", "route", "get", outside, "from", ip, "iif", BRIDGE],
                capture_output=True,
                text=True,
                check=False,
            )
            verdict = (res.stdout + res.stderr).lower()
            # the host does not forward ("No route to host"); were forwarding turned on, the fenced
            # table's `prohibit` would answer EACCES ("Permission denied"); never a route out
            refused = ("permission denied", "no route to host")
            assert res.returncode != 0 and any(r in verdict for r in refused), (node.name, outside, verdict)
            assert "dev eth0" not in verdict and f"via {GATEWAY}" not in verdict, (outside, verdict)
        # while the pods of every other node are reached, through their node
        for other in real_nodes.nodes:
            if other is not node:
                res = node.run("ip", "route", "get", pods[other.name][1], "from", ip, "iif", "cni0")
                assert f"via {other.ip} dev eth0" in res.stdout, res.stdout + res.stderr


def test_unprogrammed_service_ips_and_simulated_pod_ips_lead_nowhere(real_nodes: Cluster) -> None:
    for node in real_nodes.nodes:
        for address in ("10.96.255.254", "10.191.255.10"):
            res = node.run("ip", "route", "get", address)
            assert "dev kin-void" in res.stdout, (node.name, res.stdout + res.stderr)
    # the host: kwok's addresses go nowhere; Service addresses enter the cluster at the first node
    res = subprocess.run(["ip", "route", "get", "10.191.255.10"], capture_output=True, text=True, check=True)
    assert "dev kin-void" in res.stdout, res.stdout
    res = subprocess.run(["ip", "route", "get", "10.96.255.254"], capture_output=True, text=True, check=True)
    assert f"via {real_nodes.nodes[0].ip} dev {BRIDGE}" in res.stdout, res.stdout


def listeners(pids: set[int], ss: str) -> list[str]:
    ours = []
    for line in ss.splitlines():
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            ours.append(line.split()[4])
    return ours


def test_nothing_of_the_cluster_listens_on_the_outward_interface(real_nodes: Cluster) -> None:
    pids = {int(p.read_text().split()[0]) for p in (LOCAL_STATE / "pids").glob("*.pid")}
    out = subprocess.run(["ss", "-Hltnup"], capture_output=True, text=True, check=True).stdout
    ours = listeners(pids, out)
    assert ours, "the control plane listens somewhere"
    allowed = ("127.0.0.1:", f"{real_nodes.api_ip}:", "[::1]:")
    assert [addr for addr in ours if not addr.startswith(allowed)] == []
    for node in real_nodes.nodes:
        ours = listeners(pids, node.run("ss", "-Hltnup", check=True).stdout)
        assert any(a.startswith(f"{node.ip}:10250") for a in ours), (node.name, ours)  # its kubelet
        assert [a for a in ours if not a.startswith(("127.0.0.1:", f"{node.ip}:", "[::1]:"))] == []


def test_an_image_not_built_here_fails_to_pull_at_once(real_node: Cluster, namespace: str) -> None:
    apply(
        real_node,
        namespace,
        """
apiVersion: v1
kind: Pod
metadata:
  name: foreign
spec:
  containers:
    - name: app
      image: docker.io/library/nginx:1.27
""",
    )

    def waiting_reason() -> tuple[str, str] | None:
        pod = real_node.get_json("pod", "foreign", "-n", namespace)
        for status in pod["status"].get("containerStatuses") or []:
            waiting = status.get("state", {}).get("waiting") or {}
            if waiting.get("reason") in ("ErrImagePull", "ImagePullBackOff"):
                return waiting["reason"], waiting.get("message", "")
        return None

    started = time.monotonic()
    _reason, message = wait_until(waiting_reason, what="a pull error", timeout=60)
    assert time.monotonic() - started < 45
    assert "127.0.0.1:9" in message, message  # the closed local endpoint, never a registry


# --------------------------------------------------------------------------- traffic


def test_a_service_answers_from_every_ready_pod_by_cluster_ip_node_port_and_name(
    real_node: Cluster, namespace: str
) -> None:
    deploy_web(real_node, namespace)
    apply(real_node, namespace, WEB_SVC.replace("name: web-svc", "name: web-np") + "  type: NodePort\n")
    apply(real_node, namespace, client_pod("client"))
    svc = real_node.get_json("service", "web-np", "-n", namespace)
    cluster_ip, node_port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
    pods = pod_names(real_node, namespace, "app=web")
    wait_until(
        lambda: len([e for e in slice_addresses(real_node, namespace, "web-np") if e[2]]) == 3,
        what="3 ready endpoints",
    )
    report, code = diff(real_node, namespace, "web-np")
    assert code == 0 and report["services"][0]["findings"] == []

    assert hostnames_behind(f"http://{cluster_ip}:3000", 3) == pods
    assert hostnames_behind(f"http://{real_node.node_ip}:{node_port}", 3) == pods
    wait_pod_ready(real_node, namespace, "client")
    assert in_pod_http(real_node, namespace, "client", "web-np", 3000) in pods
    assert in_pod_http(real_node, namespace, "client", f"web-np.{namespace}.svc.cluster.local", 3000) in pods


def test_a_failing_readiness_probe_turns_its_endpoint_not_ready_and_traffic_avoids_it(
    real_node: Cluster, namespace: str
) -> None:
    manifest = (
        (MANIFESTS / "web.yaml")
        .read_text()
        .replace(
            "          ports:\n",
            "          readinessProbe:\n"
            "            exec:\n"
            "              command: [cat, /tmp/ready]\n"
            "            periodSeconds: 1\n"
            "            failureThreshold: 1\n"
            "          ports:\n",
        )
    )
    apply(real_node, namespace, manifest.replace("replicas: 3", "replicas: 2"))
    apply(real_node, namespace, WEB_SVC)
    pods = sorted(
        wait_until(
            lambda: len(p := pod_names(real_node, namespace, "app=web", ready_only=False)) == 2 and p,
            what="2 pods",
        )
    )
    for pod in pods:
        wait_until(
            lambda pod=pod: real_node.exec_ok(namespace, pod, "touch", "/tmp/ready"), what=f"{pod} started"
        )
    wait_until(lambda: len(ready_pod_ips(real_node, namespace, "app=web")) == 2, what="both pods ready")
    wait_until(
        lambda: diff(real_node, namespace, "web-svc")[0]["services"][0]["findings"] == [], what="a clean diff"
    )

    sick, healthy = pods
    real_node.exec(namespace, sick, "rm", "/tmp/ready")
    sick_ip = real_node.get_json("pod", sick, "-n", namespace)["status"]["podIP"]
    wait_until(
        lambda: (sick_ip, 5000, False) in slice_addresses(real_node, namespace, "web-svc"),
        what="the kubelet's probe to fail and the controller to mark the endpoint not ready",
    )
    report = wait_until(
        lambda: (
            (r := diff(real_node, namespace, "web-svc")[0]["services"][0])
            and any(e["ip"] == sick_ip and e["ready"] is False for e in r["actual"])
            and r
        ),
        what="the inspector to see the not-ready endpoint",
    )
    expected = {e["ip"]: e["ready"] for e in report["expected"]}
    assert expected[sick_ip] is False and list(expected.values()).count(True) == 1
    assert report["missing"] == [] and report["unexpected"] == []
    assert [f["severity"] for f in report["findings"] if f["severity"] == "error"] == []
    res = real_node.inspect("services", "-n", namespace)
    assert re.search(r"web-svc .* 1/2 +1/2 ", res.stdout), res.stdout
    # the kubelet's probe event names the failure
    events = real_node.get_json("events", "-n", namespace, "--field-selector", f"involvedObject.name={sick}")
    assert any(
        e["reason"] == "Unhealthy" and "Readiness probe failed" in e["message"] for e in events["items"]
    )
    # traffic: only the ready pod answers
    cluster_ip = real_node.get_json("service", "web-svc", "-n", namespace)["spec"]["clusterIP"]
    assert {http_get(f"http://{cluster_ip}:3000/hostname") for _ in range(20)} == {healthy}


def test_a_rollout_with_a_prestop_delay_shows_serving_terminating_endpoints_the_inspector_expects(
    real_node: Cluster, namespace: str
) -> None:
    manifest = (
        (MANIFESTS / "web.yaml")
        .read_text()
        .replace("      terminationGracePeriodSeconds: 2\n", "      terminationGracePeriodSeconds: 30\n")
        .replace(
            "          ports:\n",
            "          lifecycle:\n"
            "            preStop:\n"
            "              exec:\n"
            "                command: [sleep, '6']\n"
            "          ports:\n",
        )
    )
    apply(real_node, namespace, manifest.replace("replicas: 3", "replicas: 2"))
    apply(real_node, namespace, WEB_SVC)
    wait_until(lambda: len(ready_pod_ips(real_node, namespace, "app=web")) == 2, what="2 ready pods")
    wait_until(
        lambda: diff(real_node, namespace, "web-svc")[0]["services"][0]["findings"] == [], what="a clean diff"
    )

    real_node.kubectl("set", "env", "-n", namespace, "deployment/web", "ROLLOUT=2")
    draining_seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        svc = diff(real_node, namespace, "web-svc")[0]["services"][0]
        draining = [e for e in svc["actual"] if e["terminating"] and e["serving"] and not e["ready"]]
        if draining and not [f for f in svc["findings"] if f["severity"] == "error"]:
            draining_seen.append(svc)
        status = real_node.get_json("deployment", "web", "-n", namespace)["status"]
        if (
            status.get("updatedReplicas") == 2
            and status.get("readyReplicas") == 2
            and not status.get("unavailableReplicas")
            and len(slice_addresses(real_node, namespace, "web-svc")) == 2
        ):
            break
        time.sleep(0.2)
    assert draining_seen, (
        "a terminating endpoint, still serving during its preStop, that the inspector expected"
    )
    sample = draining_seen[0]
    expected_ips = {e["ip"] for e in sample["expected"]}
    assert {e["ip"] for e in sample["actual"] if e["terminating"]} <= expected_ips
    # settled: exactly the new pods, no findings
    final = wait_until(
        lambda: (
            (s := diff(real_node, namespace, "web-svc")[0]["services"][0])["findings"] == []
            and len(s["actual"]) == 2
            and s
        ),
        what="the rollout to settle",
    )
    assert {e["ip"] for e in final["actual"]} == set(ready_pod_ips(real_node, namespace, "app=web"))


# --------------------------------------------------------------------------- DNS, as a pod sees it


@pytest.mark.parametrize("pod", ["client-default", "client-ndots1", "client-none"])
def test_a_pods_resolv_conf_is_what_resolve_from_pod_emulates(
    real_node: Cluster, namespace: str, pod: str
) -> None:
    apply_dns_clients(real_node, namespace)
    apply(real_node, namespace, client_pod("client-default"))
    real_node.kubectl("apply", "-n", namespace, "-f", str(MANIFESTS / "dns" / "redis-master.yaml"))
    wait_pod_ready(real_node, namespace, pod)
    conf = real_node.exec(namespace, pod, "cat", "/etc/resolv.conf")
    search = next((line.split()[1:] for line in conf.splitlines() if line.startswith("search")), [])
    options = " ".join(line for line in conf.splitlines() if line.startswith("options"))
    ndots = int(m.group(1)) if (m := re.search(r"ndots:(\d+)", options)) else 1
    nameservers = [line.split()[1] for line in conf.splitlines() if line.startswith("nameserver")]
    # the cluster's DNS: from the kubelet, or from the pod's own dnsConfig (client-none)
    assert nameservers == [cluster_dns(real_node)]

    name = "redis-master" if pod != "client-none" else f"redis-master.{namespace}"
    res = real_node.inspect("resolve", name, "-n", namespace, "--from-pod", pod, "-o", "json")
    assert "Traceback" not in res.stderr, res.stderr
    result = json.loads(res.stdout)
    assert result["searchList"] == search and result["ndots"] == ndots

    # the pod's own resolver (glibc's getent) agrees with the inspector's answer
    ip = real_node.get_json("service", "redis-master", "-n", namespace)["spec"]["clusterIP"]
    wait_until(
        lambda: real_node.exec(namespace, pod, "getent", "hosts", name, check=False).split()[:1] == [ip],
        what=f"getent hosts {name}",
    )
    res = real_node.inspect("resolve", name, "-n", namespace, "--from-pod", pod, "-o", "json")
    result = json.loads(res.stdout)
    assert res.returncode == 0 and result["match"] is True and result["answer"]["answers"] == [ip]


def test_the_short_name_fails_from_another_namespace_in_the_pod_and_in_resolve(
    real_node: Cluster, namespace: str, other_namespace: str
) -> None:
    real_node.kubectl("apply", "-n", namespace, "-f", str(MANIFESTS / "dns" / "redis-master.yaml"))
    apply(real_node, other_namespace, client_pod("client"))
    wait_pod_ready(real_node, other_namespace, "client")
    ip = real_node.get_json("service", "redis-master", "-n", namespace)["spec"]["clusterIP"]
    wait_until(
        lambda: (
            real_node.exec(
                other_namespace, "client", "getent", "hosts", f"redis-master.{namespace}", check=False
            ).split()[:1]
            == [ip]
        ),
        what="the namespaced name from the other namespace",
    )
    short = subprocess.run(
        [
            real_node.kubectl_bin,
            "exec",
            "-n",
            other_namespace,
            "client",
            "--",
            "getent",
            "hosts",
            "redis-master",
        ],
        capture_output=True,
        text=True,
        env=real_node.env,
        check=False,
    )
    assert short.returncode == 2 and short.stdout == ""  # getent: not found
    res = real_node.inspect("resolve", "redis-master", "--from-namespace", other_namespace, "-o", "json")
    assert res.returncode == 1 and json.loads(res.stdout)["answer"] is None


def test_headless_dns_answers_the_real_pod_ips(real_node: Cluster, namespace: str) -> None:
    real_node.kubectl("apply", "-n", namespace, "-f", str(MANIFESTS / "dns" / "headless.yaml"))
    ips = wait_until(
        lambda: len(i := ready_pod_ips(real_node, namespace, "app=web")) == 3 and i, what="3 ready pods"
    )
    pods = ipaddress.ip_network(real_node.pod_cidr)
    assert all(ipaddress.ip_address(ip) in pods for ip in ips)  # CNI's addresses, not kwok's
    apply(real_node, namespace, client_pod("client"))
    wait_pod_ready(real_node, namespace, "client")

    def pod_answers() -> list[str]:
        out = real_node.exec(
            namespace, "client", "getent", "ahostsv4", f"web.{namespace}.svc.cluster.local", check=False
        )
        return sorted({line.split()[0] for line in out.splitlines() if line.strip()})

    wait_until(lambda: pod_answers() == ips, what="the pod's resolver to answer the 3 pod IPs")
    web0 = real_node.get_json("pod", "web-0", "-n", namespace)["status"]["podIP"]
    out = real_node.exec(namespace, "client", "getent", "hosts", f"web-0.web.{namespace}.svc.cluster.local")
    assert out.split()[0] == web0
    wait_until(
        lambda: real_node.inspect("dns", "-n", namespace).returncode == 0, what="the DNS oracle to pass"
    )


def test_the_in_cluster_dns_path_uses_the_kube_dns_cluster_ip(real_node: Cluster, namespace: str) -> None:
    real_node.kubectl("apply", "-n", namespace, "-f", str(MANIFESTS / "dns" / "redis-master.yaml"))
    env = real_node.env
    env.pop("INSPECTOR_DNS_SERVER", None)
    # what a pod has (the kubernetes Service's ClusterIP); the kubeconfig still names the API
    env["KUBERNETES_SERVICE_HOST"] = real_node.get_json("service", "kubernetes", "-n", "default")["spec"][
        "clusterIP"
    ]
    args = ["resolve", "redis-master", "--from-namespace", namespace]
    res = wait_until(
        lambda: (
            (
                r := subprocess.run([INSPECT, *args], capture_output=True, text=True, env=env, check=False)
            ).returncode
            == 0
            and r
        ),
        what="resolve through the in-cluster path",
    )
    assert "Service kube-system/kube-dns, in-cluster" in res.stdout, res.stdout
    assert "Match:    yes" in res.stdout


def test_node_ports_are_programmed_for_each_nodes_own_address_only(
    real_nodes: Cluster, namespace: str
) -> None:
    """nodePortAddresses holds only the node's address: kube-proxy matches node-port traffic on that
    destination alone (iptables: the jump to its node-port chain; nftables: its set of node-port
    IPs), so no node port opens on any other address of the node."""
    deploy_web(real_nodes, namespace, replicas=1)
    apply(real_nodes, namespace, WEB_SVC.replace("name: web-svc", "name: web-np") + "  type: NodePort\n")
    node_port = real_nodes.get_json("service", "web-np", "-n", namespace)["spec"]["ports"][0]["nodePort"]
    for node in real_nodes.nodes:
        wait_until(
            lambda node=node: hostnames_behind(f"http://{node.ip}:{node_port}", 1, tries=1),
            what="the node port",
        )
        if real_nodes.proxy_mode == "nftables":
            out = node.run("nft", "list", "set", "ip", "kube-proxy", "nodeport-ips", check=True).stdout
            assert re.findall(r"elements = \{ ([^}]*) \}", out) == [node.ip], out
            continue
        nat = node.run("iptables-save", "-t", "nat", check=True).stdout
        jumps = [
            line
            for line in nat.splitlines()
            if line.startswith("-A KUBE-SERVICES") and "KUBE-NODEPORTS" in line
        ]
        assert jumps and all(f"-d {node.ip}/32" in line for line in jumps), jumps
